"""Headers every response carries, whoever built it.

Powertools' middlewares never see responses made by exception handlers (404, 422, 500),
and some responses are made before the resolver runs at all, so the headers are set on
the finished proxy response instead.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from petsage_health.models import ErrorResponse

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A cached "ok" is a lie: health answers must be fresh, and errors must not stick.
    "Cache-Control": "no-store",
}


def with_standard_headers(response: dict[str, Any]) -> dict[str, Any]:
    """Add the security and caching headers to a payload 2.0 proxy response."""
    headers = response.setdefault("headers", {})
    present = {name.lower() for name in headers}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers[name] = value
    return response


def without_body(response: dict[str, Any]) -> dict[str, Any]:
    """HEAD: the GET response's status and headers, no body."""
    response["body"] = ""
    response["isBase64Encoded"] = False
    return response


def error_proxy_response(status: HTTPStatus, message: str | None = None) -> dict[str, Any]:
    """A JSON error answered outside the resolver (malformed events, unexpected failures)."""
    body = ErrorResponse(status_code=status.value, message=message or status.phrase)
    return {
        "statusCode": status.value,
        "headers": {"Content-Type": "application/json"},
        "body": body.model_dump_json(by_alias=True),
        "isBase64Encoded": False,
    }
