"""Telling HTTP API requests from every other way this function can be invoked.

The resolver assumes a well-formed HTTP API event and raises on anything else
(`KeyError: 'requestContext'` on `{}`, `TypeError` on `None`). A direct invoke, a
scheduled rule or a test event must never raise, so events are sorted before routing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import ValidationError

from petsage_api.http_api_event import HttpApiEvent

# Keys only an API Gateway request event carries. EventBridge events also have "version",
# so it is not one of them.
_HTTP_EVENT_KEYS = frozenset({"requestContext", "rawPath", "routeKey", "httpMethod"})
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_CALLER_NAMED_MAPS = frozenset({"headers", "queryStringParameters", "pathParameters", "stageVariables"})


class InvocationKind(Enum):
    HTTP = "http"  # a well-formed HTTP API (payload 2.0) request
    MALFORMED_HTTP = "malformed_http"  # looks like an HTTP request, but is not a valid one
    DIRECT = "direct"  # anything else: `aws lambda invoke`, schedules, `sam local invoke --no-event`


@dataclass(frozen=True)
class Classification:
    kind: InvocationKind
    reason: str = ""


def classify(event: Any) -> Classification:
    """Sort an event without raising, whatever its type."""
    if not isinstance(event, dict) or not _HTTP_EVENT_KEYS.intersection(event):
        return Classification(InvocationKind.DIRECT, f"not an HTTP API request ({type(event).__name__} event)")
    try:
        HttpApiEvent.model_validate(event)
    except ValidationError as exc:
        return Classification(InvocationKind.MALFORMED_HTTP, _describe(exc))
    return Classification(InvocationKind.HTTP)


def _describe(exc: ValidationError) -> str:
    """The first problems, by field path; never the offending values, which the caller controls."""
    problems = [
        f"{_field_path(error['loc'])}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)[:3]
    ]
    return "malformed HTTP API event: " + "; ".join(problems)


def _field_path(loc: tuple[int | str, ...]) -> str:
    # Names inside these maps are chosen by the caller (a header called "Authorization" or
    # "${jndi:...}" alike): they are shown as "*", never echoed.
    parts: list[str] = []
    for index, part in enumerate(loc):
        caller_named = index > 0 and loc[index - 1] in _CALLER_NAMED_MAPS
        parts.append("*" if caller_named or not (isinstance(part, str) and _FIELD_NAME.fullmatch(part)) else part)
    return ".".join(parts)
