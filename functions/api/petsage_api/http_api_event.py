"""The API Gateway HTTP API request event (payload format 2.0), as far as this function accepts it.

Only the fields Powertools' resolver reads are modelled. Powertools ships a complete parser model
(APIGatewayProxyEventV2Model), but importing its models package costs ~40 ms of every cold start;
these few classes cost well under 1 ms.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


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
