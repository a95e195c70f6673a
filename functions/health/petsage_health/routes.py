"""Routing: the public HTTP contract of the health function, served by Powertools' resolver."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import ResponseValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from petsage_health import docs
from petsage_health.health import liveness
from petsage_health.models import (
    CheckStatus,
    ErrorResponse,
    ForbiddenResponse,
    HealthCheckResponse,
    ReadinessResponse,
    ReadinessSummary,
    WelcomeResponse,
)
from petsage_health.observability import logger
from petsage_health.readiness import ReadinessProbe

app = APIGatewayHttpResolver(
    enable_validation=True,
    # A response that breaks its own model is our bug, not the caller's: 500, never 422.
    response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
)
# Configuration is read once, at cold start; bad values are logged there and never raise.
readiness_probe = ReadinessProbe.from_environment()

HEALTH_JSON = "application/health+json"
READINESS_PATH = "/api/v1/health/ready"
READINESS_DETAILS_PATH = "/api/v1/health/ready/details"
app.configure_openapi(title=docs.API_TITLE, version=docs.API_VERSION, description=docs.API_DESCRIPTION)


def error_response(status: HTTPStatus) -> Response[str]:
    """A JSON error body that says what happened and nothing about our internals."""
    body = ErrorResponse(status_code=status.value, message=status.phrase)
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(by_alias=True),
    )


@app.get("/", tags=["Root"], summary="Read Root")
def read_root() -> WelcomeResponse:
    """Greets the caller and points at the interactive documentation."""
    return WelcomeResponse()


@app.get(
    "/api/v1/health",
    tags=["System"],
    summary="Perform a System Health Check",
    description="Checks if the PetSage API is alive and running. "
    "Returns a status message indicating the system is operational.",
)
def perform_health_check() -> HealthCheckResponse:
    """Liveness for load balancers, deploy pipelines and canaries; touches no dependency."""
    return liveness()


# pragma: no mutate start - runs at import, before a mutant is chosen; test_openapi_document pins it
def _readiness_responses(model: type[ReadinessSummary]) -> dict[int, OpenAPIResponse]:
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


# pragma: no mutate end
@app.get(
    READINESS_PATH,
    tags=["System"],
    summary="Check Readiness of Dependencies",
    description="Checks that the dependencies this deployment is configured with are reachable and permitted, "
    "concurrently and each within its own timeout; results are reused for a few seconds. "
    "Answers application/health+json: 200 for pass or warn, 503 for fail. Names no resource: "
    "the checks are in the IAM-authorized details.",
    responses=_readiness_responses(ReadinessSummary),
)
def check_readiness() -> Response[str]:
    """For deploy pipelines and the canary; load balancers should probe liveness instead."""
    report = _readiness_report()
    # The summary's fields are the report's without its checks: the same JSON, no second model.
    return _health_json(report.status, report.model_dump_json(exclude={"checks"}))


@app.get(
    READINESS_DETAILS_PATH,
    tags=["System"],
    summary="Check Readiness, With Every Check",
    description="The readiness answer with every check: component, type, latency, status, time. "
    "For IAM-authorized callers only: sign the request with SigV4 (awscurl, the console, the "
    "canary's role); unsigned requests are refused with 403.",
    responses={
        **_readiness_responses(ReadinessResponse),
        403: {
            "description": "Forbidden: the request was not signed by an IAM principal allowed to invoke it.",
            "content": {content_types.APPLICATION_JSON: {"model": ForbiddenResponse}},
        },
    },
)
def check_readiness_details() -> Response[str]:
    """On-call's view. API Gateway authorizes it (Auth: AWS_IAM); checked here too, should the
    template ever lose that: an event without `requestContext.authorizer.iam` is refused."""
    if not app.current_event.request_context.authorizer.iam.raw_event:
        return error_response(HTTPStatus.FORBIDDEN)
    report = _readiness_report()
    return _health_json(report.status, report.model_dump_json())


def _readiness_report() -> ReadinessResponse:
    context = app.lambda_context
    remaining = context.get_remaining_time_in_millis() / 1000 if context else None
    return readiness_probe.report(remaining)


def _health_json(status: CheckStatus, body: str) -> Response[str]:
    code = HTTPStatus.SERVICE_UNAVAILABLE if status is CheckStatus.FAIL else HTTPStatus.OK
    return Response(status_code=code.value, content_type=HEALTH_JSON, body=body)


# The documents vary by Accept-Encoding: the handler gzips them, once (responses.negotiate_encoding).
@app.get(docs.OPENAPI_PATH, include_in_schema=False)
def openapi_document() -> Response[str]:
    # Powertools compiles route rules into regular expressions, where the "." of
    # "/openapi.json" matches any character: only the exact path is the document.
    if app.current_event.path != docs.OPENAPI_PATH:
        raise NotFoundError
    return _openapi_response()


@app.get(docs.DOCS_PATH, include_in_schema=False)
def swagger_ui() -> Response[str]:
    # Swagger UI shows (and links) its spec as "/docs?format=json", as Powertools' own page does.
    if (app.current_event.query_string_parameters or {}).get("format") == "json":
        return _openapi_response()
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="text/html; charset=utf-8",
        body=docs.swagger_html(app),
        headers={"Vary": "Accept-Encoding"},
    )


def _openapi_response() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=docs.openapi_json(app),
        headers={"Vary": "Accept-Encoding"},
    )


@app.not_found
def not_found(_: NotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND)


@app.exception_handler(ResponseValidationError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def invalid_response(exc: ResponseValidationError) -> Response[str]:
    # Only the locations and error types are logged: the invalid values may hold anything.
    logger.error(
        "Response failed its own model",
        extra={"errors": [{"loc": e["loc"], "type": e["type"]} for e in exc.errors()]},
    )
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR)
