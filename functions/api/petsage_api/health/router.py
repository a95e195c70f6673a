"""The health feature's routes: liveness, readiness, and readiness with every check.

Paths are relative to the API's version prefix (the composition root includes this router under
/api/v1). The readiness probe is built once per execution environment, from its environment.
"""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from petsage_api import VERSION
from petsage_api.health.models import (
    CheckStatus,
    ForbiddenResponse,
    HealthCheckResponse,
    ReadinessResponse,
    ReadinessSummary,
)
from petsage_api.health.readiness import DESCRIPTION, ReadinessProbe
from petsage_api.http_api import error_response
from petsage_api.observability import SERVICE

HEALTH_JSON = "application/health+json"
TAGS = ["System"]

router = APIGatewayHttpRouter()
probe = ReadinessProbe.from_environment()


def readiness_responses(model: type[ReadinessSummary]) -> dict[int, OpenAPIResponse]:
    """Both readiness routes answer the draft's media type: 200 when ready, 503 when not."""
    not_ready: dict[str, object] = {
        "status": "fail",
        "version": VERSION,
        "releaseId": "42",
        "serviceId": SERVICE,
        "description": DESCRIPTION,
    }
    if model is ReadinessResponse:
        failed = {"componentId": "pets", "componentType": "datastore", "observedValue": 2000.4, "status": "fail"}
        not_ready["checks"] = {"dynamodb/pets:responseTime": [{**failed, "time": "2026-12-07T12:00:00.000001Z"}]}
    return {
        200: {
            "description": "Ready: every check passed, or some passed with a warning, or an optional one failed.",
            "content": {HEALTH_JSON: {"model": model}},
        },
        503: {
            "description": "Not ready: a critical check failed, or the readiness configuration is invalid.",
            "content": {HEALTH_JSON: {"model": model, "examples": {"fail": {"value": not_ready}}}},
        },
    }


@router.get(
    "/health",
    tags=TAGS,
    summary="Perform a System Health Check",
    description="Checks if the PetSage API is alive and running. "
    "Returns a status message indicating the system is operational.",
)
def perform_health_check() -> HealthCheckResponse:
    """Liveness for load balancers, deploy pipelines and canaries: reaching this line is the proof of
    life, and it touches no dependency (a shared table that blinks must not fail every instance)."""
    return HealthCheckResponse()


@router.get(
    "/health/ready",
    tags=TAGS,
    summary="Check Readiness of Dependencies",
    description="Checks that the dependencies this deployment is configured with are reachable and permitted, "
    "concurrently and each within its own timeout; results are reused for a few seconds. "
    "Answers application/health+json: 200 for pass or warn, 503 for fail. Names no resource: "
    "the checks are in the IAM-authorized details.",
    responses=readiness_responses(ReadinessSummary),
)
def check_readiness() -> Response[str]:
    """For deploy pipelines, the canary and DNS health checks; load balancers should probe liveness."""
    return readiness_answer(with_checks=False)


@router.get(
    "/health/ready/details",
    tags=TAGS,
    summary="Check Readiness, With Every Check",
    description="The readiness answer with every check: component, type, latency, status, time. "
    "For IAM-authorized callers only: sign the request with SigV4 (awscurl, the console, the "
    "canary's role); unsigned requests are refused with 403.",
    security=[{"sigv4": []}],
    responses={
        **readiness_responses(ReadinessResponse),
        403: {
            "description": "Forbidden: the request was not signed by an IAM principal allowed to invoke it.",
            "content": {content_types.APPLICATION_JSON: {"model": ForbiddenResponse}},
        },
    },
)
def check_readiness_details() -> Response[str]:
    """On-call's view. API Gateway authorizes it (AWS_IAM); checked here too, should the template lose that."""
    if not router.current_event.request_context.authorizer.iam.raw_event:
        return error_response(HTTPStatus.FORBIDDEN)
    return readiness_answer(with_checks=True)


def readiness_answer(*, with_checks: bool) -> Response[str]:
    """The probe's report in application/health+json, 503 when it fails; without its checks, it names nothing."""
    context = router.lambda_context
    report = probe.report(context.get_remaining_time_in_millis() / 1000 if context else None)
    body = report.model_dump_json() if with_checks else report.model_dump_json(exclude={"checks"})
    status = HTTPStatus.SERVICE_UNAVAILABLE if report.status is CheckStatus.FAIL else HTTPStatus.OK
    return Response(status_code=status.value, content_type=HEALTH_JSON, body=body)
