"""Pydantic models: the public response contract and the shape of the events we accept.

Response models carry the descriptions and examples of the original contract, so the
OpenAPI document and Swagger UI say the same thing the API does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
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

    message: str = Field(
        default=WELCOME_MESSAGE,
        description="A welcome message that says where the API documentation lives.",
        examples=[WELCOME_MESSAGE],
    )


class ErrorResponse(BaseModel):
    """Body of every error the function itself answers (400, 404, 500).

    It never carries exception names, stack traces or request values: the API is public.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    status_code: int = Field(description="The HTTP status code, repeated for clients that only see the body.")
    message: str = Field(description="What went wrong, in words safe to show a caller.")


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


class RequestContext(_EventModel):
    http: HttpDescription
    request_id: str = ""
    # The resolver strips a named stage from the path (`requestContext["stage"]`, no default).
    stage: str


class HttpApiEvent(_EventModel):
    """An API Gateway HTTP API request in payload format 2.0, as far as the resolver reads it."""

    version: Literal["2.0"]
    raw_path: str = Field(pattern=r"^/")
    raw_query_string: str = ""
    headers: dict[str, str] | None = None
    query_string_parameters: dict[str, str] | None = None
    path_parameters: dict[str, str] | None = None
    cookies: list[str] | None = None
    body: str | None = None
    is_base64_encoded: bool = False
    request_context: RequestContext
