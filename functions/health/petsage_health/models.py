"""Pydantic models: the public response contract and the shape of the events we accept.

Response models carry the descriptions and examples of the original contract, so the
OpenAPI document and Swagger UI say the same thing the API does. Models the liveness answer
does not use build their validators on first use (`defer_build`), not at every cold start.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

LIVENESS_STATUS = "ok"
LIVENESS_MESSAGE = "PetSage API is purring!"
WELCOME_MESSAGE = "Welcome to the PetSage API! Find our docs at /docs"


class HealthCheckResponse(BaseModel):
    """Response model for the system health check endpoint.

    Provides a simple status and a confirmation message.
    """

    model_config = ConfigDict(from_attributes=True)

    status: str = Field(
        default=LIVENESS_STATUS,
        description="The operational status of the system.",
        examples=[LIVENESS_STATUS],
    )
    message: str = Field(
        default=LIVENESS_MESSAGE,
        description="A friendly confirmation message from the PetSage system.",
        examples=[LIVENESS_MESSAGE],
    )


class WelcomeResponse(BaseModel):
    """Greeting served at the API root, pointing people at the docs."""

    model_config = ConfigDict(defer_build=True)

    message: str = Field(
        default=WELCOME_MESSAGE,
        description="A welcome message that says where the API documentation lives.",
        examples=[WELCOME_MESSAGE],
    )


class ErrorResponse(BaseModel):
    """Body of every error the function itself answers (400, 404, 500).

    It never carries exception names, stack traces or request values: the API is public.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    status_code: int = Field(description="The HTTP status code, repeated for clients that only see the body.")
    message: str = Field(description="What went wrong, in words safe to show a caller.")


class ForbiddenResponse(BaseModel):
    """A refused, unsigned request to an IAM-authorized route.

    API Gateway answers it itself with `{"message": "Forbidden"}`; should the authorizer ever be
    missing from the template, the function refuses it too, with its own error body.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    message: str = Field(description="Forbidden.", examples=["Forbidden"])
    status_code: int | None = Field(default=None, description="403, when the function itself refused it.")


# --- The HTTP API (payload format 2.0) request event -------------------------------------
# Only the fields Powertools' resolver reads are modelled. Powertools ships a complete
# parser model (APIGatewayProxyEventV2Model), but importing its models package costs
# ~40 ms of every cold start; these few classes cost well under 1 ms.


class _EventModel(BaseModel):
    # strict: a header value of 1 or an isBase64Encoded of "false" is a malformed event, not a guess
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, strict=True)


class HttpDescription(_EventModel):
    method: str = Field(min_length=1)
    path: str = ""
    source_ip: str = ""


class Authorizer(_EventModel):
    """What API Gateway's authorizer established about the caller; `iam` for SigV4-signed requests."""

    iam: dict[str, object] | None = None


class RequestContext(_EventModel):
    http: HttpDescription
    request_id: str = ""
    # The resolver strips a named stage from the path (`requestContext["stage"]`, no default).
    stage: str
    authorizer: Authorizer | None = None


class HttpApiEvent(_EventModel):
    """An API Gateway HTTP API request in payload format 2.0, as far as the resolver reads it."""

    version: Literal["2.0"]
    # An HTTP request line cannot carry control characters, so API Gateway never sends them;
    # the resolver's route patterns would also let "$" match before a trailing newline.
    raw_path: str = Field(pattern=r"^/[^\x00-\x1f\x7f]*$")
    raw_query_string: str = ""
    headers: dict[str, str] | None = None
    query_string_parameters: dict[str, str] | None = None
    path_parameters: dict[str, str] | None = None
    cookies: list[str] | None = None
    body: str | None = None
    is_base64_encoded: bool = False
    request_context: RequestContext


# --- Readiness: the IETF "Health Check Response Format for HTTP APIs" draft ---------------


class CheckStatus(StrEnum):
    PASS = "pass"  # healthy (a status word, not a password)  # noqa: S105  # nosec B105
    WARN = "warn"  # healthy, with some concern (slow, or a table that is updating)
    FAIL = "fail"  # unhealthy: unreachable, missing, denied, timed out or misconfigured


class _DraftModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, defer_build=True
    )


class CheckResult(_DraftModel):
    """One measurement of one component, as the draft's `checks` entries describe it."""

    component_id: str = Field(description="The resource checked: table, bucket or parameter name, or URL.")
    component_type: str = Field(description="`datastore`, `component` or `system`, as the draft suggests.")
    observed_value: float = Field(description="What was measured: the call's latency.")
    observed_unit: str = Field(default="ms", description="Unit of observedValue.")
    status: CheckStatus = Field(description="This component's status.")
    time: AwareDatetime = Field(description="When the measurement was taken (ISO 8601, UTC).")


class ReadinessSummary(_DraftModel):
    """Readiness of this deployment, in `application/health+json`, for anyone: it names no resource.

    `status` comes first so that it lies within the first bytes of the body (Route 53 string
    matching reads only the first 5,120 bytes).
    """

    status: CheckStatus = Field(
        description="pass, or warn (a check was slow, or an optional dependency failed): ready, HTTP 200. "
        "fail (a critical dependency failed, or the configuration is invalid): not ready, HTTP 503."
    )
    version: str = Field(description="Public version of the service (the API version).")
    release_id: str = Field(description="The deployed release: the ReleaseId parameter or the function version.")
    service_id: str = Field(description="Which service answered.")
    description: str = Field(description="What this health resource reports on.")


class ReadinessResponse(ReadinessSummary):
    """The summary with every check: for IAM-authorized callers (on-call, the canary) only."""

    checks: dict[str, list[CheckResult]] = Field(
        description='Measurements keyed "{componentName}:{measurementName}", e.g. "dynamodb/pets:responseTime".',
    )
