"""The health routes (petsage_api.health.router), under the API's version prefix: liveness, the exact
contract; readiness in application/health+json for anyone, naming no resource; readiness with every
check for IAM-signed callers only; both bounded by the time Lambda has left."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws

from local_api.lambda_runtime import LocalLambdaContext
from tests.conftest import logged, request
from tests.contract import LIVENESS_BODY
from tests.readiness_helpers import (
    DRAFT_SCHEMA,
    FAILING,
    HEALTHY,
    Downstream,
    Invoke,
    create_healthy_resources,
    probe,
    use_probe,
)

pytestmark = pytest.mark.usefixtures("aws_environment")


# --- liveness ---------------------------------------------------------------------------------------


def test_health_answers_the_exact_liveness_body(invoke: Invoke) -> None:
    response = invoke(request())
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["body"] == LIVENESS_BODY


# --- readiness ----------------------------------------------------------------------------------------


def test_with_nothing_configured_readiness_passes_with_no_checks(invoke: Invoke) -> None:
    for signed, expected_checks in ((False, None), (True, {})):
        path = "/api/v1/health/ready/details" if signed else "/api/v1/health/ready"
        response = invoke(request("GET", path, signed=signed))
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == "application/health+json"
        assert response["headers"]["Cache-Control"] == "no-store"
        body = json.loads(response["body"])
        assert body["status"] == "pass"
        assert body.get("checks") == expected_checks
        DRAFT_SCHEMA.validate(body)


def test_status_opens_the_body_for_route53_string_matching(invoke: Invoke) -> None:
    assert invoke(request("GET", "/api/v1/health/ready"))["body"].startswith('{"status":"pass"')


@mock_aws
def test_head_readiness_has_the_status_and_headers_without_a_body(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="no-such-bucket"))
    response = invoke(request("HEAD", "/api/v1/health/ready"))
    assert response["statusCode"] == 503
    assert response["headers"]["Content-Type"] == "application/health+json"
    assert response["body"] == ""


class _Context(LocalLambdaContext):
    """A Lambda context with a fixed remaining time."""

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # a staticmethod stub upstream
        return 375


def test_the_route_hands_lambdas_remaining_time_to_the_readiness_probe(
    hanging: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from handler import lambda_handler

    use_probe(monkeypatch, probe(HEALTH_DYNAMODB_TABLES="pets"))
    response = lambda_handler(request("GET", "/api/v1/health/ready"), _Context("HealthFunction"))
    assert response["statusCode"] == 503
    assert logged(caplog, "Dependency check timed out")["timeout_seconds"] == 0.125  # 0.375 s less 0.25


def test_without_a_lambda_context_the_route_uses_the_configured_timeout(
    hanging: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from petsage_api.app import app

    # Tools that run the resolver themselves may pass no context at all.
    readiness_probe = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="0.125")
    use_probe(monkeypatch, readiness_probe)
    assert app.resolve(request("GET", "/api/v1/health/ready"), None)["statusCode"] == 503  # type: ignore[arg-type]
    assert logged(caplog, "Dependency check timed out")["timeout_seconds"] == 0.125


# --- the public answer names nothing; details need IAM ------------------------------------------

PUBLIC_KEYS = {"status", "version", "releaseId", "serviceId", "description"}


@pytest.mark.parametrize("healthy", [True, False], ids=["pass", "fail"])
@mock_aws
def test_the_public_answer_names_no_resource_whatever_is_configured(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream, healthy: bool
) -> None:
    create_healthy_resources()
    environ = dict(HEALTH_HTTP_ENDPOINTS=downstream.url + "/health", **HEALTHY)
    if not healthy:
        for variable, value, _ in FAILING.values():
            environ[variable] += "," + value
        environ["HEALTH_HTTP_ENDPOINTS"] += f",{downstream.url}/broken"
        environ["HEALTH_S3_BUCKETS"] += ",Not_A_Bucket!"
        environ["HEALTH_OPTIONAL_DEPENDENCIES"] = "s3/pawprint-assets"
    use_probe(monkeypatch, probe(**environ))
    for method in ("GET", "HEAD"):
        response = invoke(request(method, "/api/v1/health/ready"))
        assert response["statusCode"] == (200 if healthy else 503)
        assert response["headers"]["Content-Type"] == "application/health+json"
        if method == "GET":
            assert set(json.loads(response["body"])) == PUBLIC_KEYS
        shown = json.dumps(response)
        names = [value for values in environ.values() for value in values.split(",")]
        names += ["kennel", "pawprint", "vanished", "Not_A_Bucket", "127.0.0.1", "dynamodb", "s3/", "ssm", "http"]
        assert [name for name in names if name in shown] == []


def test_the_details_refuse_an_event_without_an_iam_authorizer(invoke: Invoke) -> None:
    # Should the template ever lose `Auth: AWS_IAM`, API Gateway would pass unsigned requests on.
    authorizers: list[dict[str, Any] | None] = [None, {}, {"iam": None}, {"iam": {}}, {"jwt": {"claims": {"sub": "x"}}}]
    for authorizer in authorizers:
        event = request("GET", "/api/v1/health/ready/details", signed=True)
        if authorizer is None:
            del event["requestContext"]["authorizer"]
        else:
            event["requestContext"]["authorizer"] = authorizer
        response = invoke(event)
        assert response["statusCode"] == 403, authorizer
        assert json.loads(response["body"]) == {"statusCode": 403, "message": "Forbidden"}
        assert response["headers"]["Content-Type"] == "application/json"


def test_the_details_answer_the_full_draft_document_to_a_signed_request(invoke: Invoke) -> None:
    response = invoke(request("GET", "/api/v1/health/ready/details", signed=True))
    assert response["statusCode"] == 200
    assert set(json.loads(response["body"])) == PUBLIC_KEYS | {"checks"}
    head = invoke(request("HEAD", "/api/v1/health/ready/details", signed=True))
    assert (head["statusCode"], head["body"]) == (200, "")
