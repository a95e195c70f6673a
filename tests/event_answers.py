"""The documented answer of each committed events/ file (docs/local-development.md), shared by
the unit tests and the artifact tests."""

from __future__ import annotations

# HTTP API events -> the status code the function answers
EXPECTED_STATUS = {
    "health": 200,
    "health-head": 200,
    "ready": 200,
    "ready-head": 200,
    "ready-details": 200,  # signed: carries requestContext.authorizer.iam
    "ready-details-head": 200,
    "root": 200,
    "root-head": 200,
    "docs": 200,
    "docs-head": 200,
    "openapi": 200,
    "openapi-head": 200,
    "not-found": 404,
    "malformed-http": 400,
}
# Events that are not HTTP API requests -> answered with the liveness payload itself, tests.contract.LIVENESS
# (the CodeDeploy event is the pre-traffic hook's trigger; sent to the API function, a direct invocation)
DIRECT_EVENTS = frozenset({"direct-invoke", "scheduled", "codedeploy-pre-traffic"})
