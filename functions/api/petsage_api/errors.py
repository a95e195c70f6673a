"""Error answers: one JSON body for every error the function gives, whoever builds it.

Routes and the resolver's handlers return a Powertools Response (`error_response`); the handler
builds the proxy response itself for what never reaches the resolver (`error_proxy_response`).
Neither ever carries an exception name, a stack trace or a request value: the API is public.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import ResponseValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from petsage_api.observability import logger


class ErrorResponse(BaseModel):
    """Body of every error the function itself answers (400, 403, 404, 500)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    status_code: int = Field(description="The HTTP status code, repeated for clients that only see the body.")
    message: str = Field(description="What went wrong, in words safe to show a caller.")


def error_body(status: HTTPStatus, message: str | None = None) -> str:
    """The one JSON error body: the status repeated, and a message safe to show a caller."""
    return ErrorResponse(status_code=status.value, message=message or status.phrase).model_dump_json(by_alias=True)


def error_response(status: HTTPStatus) -> Response[str]:
    """An error answered from inside the resolver: a route, or one of the handlers below."""
    return Response(status_code=status.value, content_type=content_types.APPLICATION_JSON, body=error_body(status))


def error_proxy_response(status: HTTPStatus, message: str | None = None) -> dict[str, Any]:
    """An error answered outside the resolver (malformed events, unexpected failures)."""
    return {
        "statusCode": status.value,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": error_body(status, message),
        "isBase64Encoded": False,
    }


def not_found(_: NotFoundError) -> Response[str]:
    """The resolver's answer for a path or method no router serves."""
    return error_response(HTTPStatus.NOT_FOUND)


def invalid_response(exc: ResponseValidationError) -> Response[str]:
    """A response that breaks its own model is our bug, not the caller's: 500, never 422."""
    # Only the locations and error types are logged: the invalid values may hold anything.
    logger.error(
        "Response failed its own model",
        extra={"errors": [{"loc": e["loc"], "type": e["type"]} for e in exc.errors()]},
    )
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR)
