"""The health feature's response models: liveness, and readiness in the IETF health-check draft.

They carry the descriptions and examples of the original contract, so the OpenAPI document and
Swagger UI say what the API does. Models the liveness answer does not use build their validators
on first use (`defer_build`), not at every cold start.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

LIVENESS_STATUS = "ok"
LIVENESS_MESSAGE = "PetSage API is purring!"


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


class ForbiddenResponse(BaseModel):
    """A refused, unsigned request to an IAM-authorized route.

    API Gateway answers it itself with `{"message": "Forbidden"}`; should the authorizer ever be
    missing from the template, the function refuses it too, with its own error body.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    message: str = Field(description="Forbidden.", examples=["Forbidden"])
    status_code: int | None = Field(default=None, description="403, when the function itself refused it.")


# --- Readiness: the IETF "Health Check Response Format for HTTP APIs" draft ---------------


class CheckStatus(StrEnum):
    PASS = "pass"  # healthy
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
