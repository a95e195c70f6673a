"""The health feature's routes: liveness, readiness, and readiness with every check.

Included under the API's version prefix by the composition root (petsage_api.app), which also
builds the readiness probe these routes answer from: `create_router(probe)`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from petsage_api.errors import error_response
from petsage_api.health.liveness import liveness
from petsage_api.health.models import (
    CheckStatus,
    ForbiddenResponse,
    HealthCheckResponse,
    ReadinessResponse,
    ReadinessSummary,
)
from petsage_api.health.readiness import ReadinessProbe

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2
    from aws_lambda_powertools.utilities.typing import LambdaContext

HEALTH_JSON = "application/health+json"
TAGS = ["System"]


# pragma: no mutate start - the route table runs at import, before a mutant is chosen; tests pin it
def readiness_responses(model: type[ReadinessSummary]) -> dict[int, OpenAPIResponse]:
    """Both readiness routes answer the draft's media type, 200 when ready and 503 when not."""
    return {
        200: {
            "description": "Ready: every check passed, or some passed with a warning, or an optional one failed.",
            "content": {HEALTH_JSON: {"model": model}},
        },
        503: {
            "description": "Not ready: a critical check failed, or the readiness configuration is invalid.",
            "content": {HEALTH_JSON: {"model": model}},
        },
    }


def create_router(probe: ReadinessProbe) -> APIGatewayHttpRouter:
    """The health routes, relative to the version prefix; readiness is measured by `probe`."""
    router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

    @router.get(
        "/health",
        tags=TAGS,
        summary="Perform a System Health Check",
        description="Checks if the PetSage API is alive and running. "
        "Returns a status message indicating the system is operational.",
    )
    def perform_health_check() -> HealthCheckResponse:
        """Liveness for load balancers, deploy pipelines and canaries; touches no dependency."""
        return liveness()

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
        """For deploy pipelines and the canary; load balancers should probe liveness instead."""
        return readiness_answer(probe, router.lambda_context, with_checks=False)

    @router.get(
        "/health/ready/details",
        tags=TAGS,
        summary="Check Readiness, With Every Check",
        description="The readiness answer with every check: component, type, latency, status, time. "
        "For IAM-authorized callers only: sign the request with SigV4 (awscurl, the console, the "
        "canary's role); unsigned requests are refused with 403.",
        responses={
            **readiness_responses(ReadinessResponse),
            403: {
                "description": "Forbidden: the request was not signed by an IAM principal allowed to invoke it.",
                "content": {content_types.APPLICATION_JSON: {"model": ForbiddenResponse}},
            },
        },
    )
    def check_readiness_details() -> Response[str]:
        """On-call's view. API Gateway authorizes it (Auth: AWS_IAM); checked here too, should the
        template ever lose that."""
        if not is_iam_signed(router.current_event):
            return error_response(HTTPStatus.FORBIDDEN)
        return readiness_answer(probe, router.lambda_context, with_checks=True)

    return router


# pragma: no mutate end


def is_iam_signed(event: APIGatewayProxyEventV2) -> bool:
    """Whether API Gateway's IAM authorizer established the caller (`requestContext.authorizer.iam`)."""
    return bool(event.request_context.authorizer.iam.raw_event)


def readiness_answer(probe: ReadinessProbe, context: LambdaContext | None, *, with_checks: bool) -> Response[str]:
    """The probe's report in application/health+json: 503 when it fails, else 200.

    Without its checks, the body is the report's JSON less `checks`: the public summary's fields,
    with no second model built per request.
    """
    remaining = context.get_remaining_time_in_millis() / 1000 if context else None
    report = probe.report(remaining)
    body = report.model_dump_json() if with_checks else report.model_dump_json(exclude={"checks"})
    code = HTTPStatus.SERVICE_UNAVAILABLE if report.status is CheckStatus.FAIL else HTTPStatus.OK
    return Response(status_code=code.value, content_type=HEALTH_JSON, body=body)
