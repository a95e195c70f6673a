"""What every request to the PetSage API shares: Powertools' resolver, and what surrounds it.

Lambda hands the function more than HTTP API requests (`aws lambda invoke`, schedules, test
events), and the resolver assumes a well-formed payload 2.0 request: it raises on anything else
(`KeyError: 'requestContext'` on `{}`). So `Resolver.answer` takes every invocation:

- an event that is no HTTP API request gets the composition root's direct answer (liveness);
- a request event that is malformed gets a 400 naming the field: `HttpApiEvent` checks exactly
  what the resolver reads, by the names API Gateway sends, and nothing the resolver reads escapes it;
- a request is resolved by the routers, HEAD as GET without the body; a body of 1 KiB or more is
  gzipped when the caller accepts it;
- every answer carries the standard headers and every error the one JSON body (`ErrorResponse`),
  never a stack trace; and every invocation writes exactly one record (`observability.record`).
"""

from __future__ import annotations

import base64
import gzip
import re
import time
from collections.abc import Callable
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ResponseValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from petsage_api import observability
from petsage_api.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.utilities.typing import LambdaContext

STANDARD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A cached "ok" is a lie: health answers must be fresh, and errors must not stick.
    "Cache-Control": "no-store",
}
# Smaller bodies gain little from gzip (one packet holds ~1.4 KB), and the health answers stay byte-exact.
GZIP_MIN_BYTES = 1024
# Route labels of invocations that no route answered.
DIRECT, MALFORMED, NOT_FOUND, UNKNOWN = "direct", "malformed", "not found", "unknown"


class ErrorResponse(BaseModel):
    """Body of every error the function answers itself (400, 403, 404, 422, 500)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True)

    status_code: int = Field(description="The HTTP status code, repeated for clients that only see the body.")
    message: str = Field(description="What went wrong, in words safe to show a caller.")


def error_response(status: HTTPStatus, message: str | None = None) -> Response[str]:
    """An error as the function answers it: never an exception's text, never a value from the request."""
    body = ErrorResponse(status_code=status.value, message=message or status.phrase).model_dump_json()
    return Response(status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body)


# --- the request event, as far as the resolver reads it ---------------------------------------


class _EventModel(BaseModel):
    # API Gateway's camelCase names only (pydantic validates by alias, not by field name): the
    # resolver reads those keys. Strict: a header value of 1 or an isBase64Encoded of "false" is
    # a malformed event, not a guess.
    model_config = ConfigDict(alias_generator=to_camel, strict=True)


class HttpDescription(_EventModel):
    method: str = Field(min_length=1)


class Authorizer(_EventModel):
    """What API Gateway's authorizer established about the caller; `iam` for SigV4-signed requests."""

    iam: dict[str, object] | None = None


class RequestContext(_EventModel):
    http: HttpDescription
    stage: str  # the resolver strips a named stage from the path (`requestContext["stage"]`, no default)
    authorizer: Authorizer | None = None


class HttpApiEvent(_EventModel):
    """An API Gateway HTTP API request in payload format 2.0: every field the resolver reads."""

    version: Literal["2.0"]
    # An HTTP request line cannot carry control characters, so API Gateway never sends them;
    # the resolver's route patterns would also let "$" match before a trailing newline.
    raw_path: str = Field(pattern=r"^/[^\x00-\x1f\x7f]*$")
    raw_query_string: str = ""  # the validation middleware parses it for repeated parameters
    headers: dict[str, str] | None = None
    query_string_parameters: dict[str, str] | None = None
    path_parameters: dict[str, str] | None = None
    cookies: list[str] | None = None
    body: str | None = None
    is_base64_encoded: bool = False
    request_context: RequestContext


# Keys only an API Gateway request carries; EventBridge events also have "version", so it is not one.
_REQUEST_KEYS = frozenset({"requestContext", "rawPath", "routeKey", "httpMethod"})
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_CALLER_NAMED = frozenset({"headers", "queryStringParameters", "pathParameters"})


def malformed(exc: ValidationError) -> str:
    """The first problems, by field path; never the values, which the caller controls."""
    problems = [
        f"{_field_path(error['loc'])}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)[:3]
    ]
    return "malformed HTTP API event: " + "; ".join(problems)


def _field_path(loc: tuple[int | str, ...]) -> str:
    # Names inside these maps are the caller's (a header named "${jndi:...}"): shown as "*".
    parts = []
    for index, part in enumerate(loc):
        caller_named = index > 0 and loc[index - 1] in _CALLER_NAMED
        parts.append("*" if caller_named or not (isinstance(part, str) and _FIELD_NAME.fullmatch(part)) else part)
    return ".".join(parts)


# --- the resolver ------------------------------------------------------------------------------


class Resolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, answering every invocation as the module docstring says."""

    def __init__(self, direct_answer: Callable[[], BaseModel]) -> None:
        # A response that breaks its own model is our bug, not the caller's: 500, never 422.
        super().__init__(enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR)
        self._direct_answer = direct_answer
        self.route_answering = UNKNOWN  # the route pattern answering the current request, for its record
        self.use(middlewares=[_name_route])
        self.not_found(self._not_found)
        self.exception_handler(RequestValidationError)(_invalid_request)
        self.exception_handler(ResponseValidationError)(_invalid_response)

    def answer(self, event: Any, context: LambdaContext) -> dict[str, Any]:
        """Answer any invocation and write its one record; no event makes this raise."""
        started = time.perf_counter()
        route, status = UNKNOWN, HTTPStatus.INTERNAL_SERVER_ERROR.value  # should anything below raise
        try:
            route, status, response = self._answer(event, context)
            return response
        finally:
            observability.record(route, status, started)

    def _answer(self, event: Any, context: LambdaContext) -> tuple[str, int, dict[str, Any]]:
        if not (isinstance(event, dict) and _REQUEST_KEYS.intersection(event)):
            logger.info("Not an HTTP API request: answered with liveness", extra={"event_type": type(event).__name__})
            return DIRECT, HTTPStatus.OK.value, self._direct_answer().model_dump()
        try:
            HttpApiEvent.model_validate(event)
        except ValidationError as exc:
            reason = malformed(exc)
            logger.warning("Rejected a malformed HTTP API event", extra={"reason": reason})
            return (
                MALFORMED,
                HTTPStatus.BAD_REQUEST.value,
                _finished(_proxy(error_response(HTTPStatus.BAD_REQUEST, reason))),
            )
        method = event["requestContext"]["http"]["method"].upper()
        self.route_answering = UNKNOWN
        try:
            response = self.resolve(_as_get(event) if method == "HEAD" else event, context)
        except Exception:  # noqa: BLE001 - the last line of defence: logged in full, answered as a JSON 500
            logger.exception("Unhandled error while resolving the request")
            response = _proxy(error_response(HTTPStatus.INTERNAL_SERVER_ERROR))
        route = self.route_answering
        route = route if route in (NOT_FOUND, UNKNOWN) else f"{method} {route}"
        accept_encoding = (event.get("headers") or {}).get("accept-encoding")
        return route, int(response["statusCode"]), _finished(response, accept_encoding, head=method == "HEAD")

    def _not_found(self, _: NotFoundError) -> Response[str]:
        self.route_answering = NOT_FOUND
        return error_response(HTTPStatus.NOT_FOUND)


def _name_route(app: Resolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The record names the route pattern that answered, never the path the caller sent."""
    app.route_answering = app.request.route
    return next_middleware(app)


def _invalid_request(exc: RequestValidationError) -> Response[str]:
    """A route's declared input was wrong: which ones and why, never the values sent."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid request: {problems}")


def _invalid_response(exc: ResponseValidationError) -> Response[str]:
    # Only locations and error types are logged: the invalid values may hold anything.
    logger.error("Response failed its own model", extra={"errors": [(e["loc"], e["type"]) for e in exc.errors()]})
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR)


def _as_get(event: dict[str, Any]) -> dict[str, Any]:
    """HEAD is GET without a body: routed as GET, the caller's event left untouched."""
    context = event["requestContext"]
    return {**event, "requestContext": {**context, "http": {**context["http"], "method": "GET"}}}


def _proxy(response: Response[str]) -> dict[str, Any]:
    """A response made outside the resolver, as the resolver would have sent it."""
    return {
        "statusCode": response.status_code,
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }


def _finished(response: dict[str, Any], accept_encoding: str | None = None, *, head: bool = False) -> dict[str, Any]:
    """Every answer leaves through here: gzip when worth it and accepted, HEAD's empty body, the standard headers."""
    headers = response.setdefault("headers", {})
    body = response.get("body")
    if isinstance(body, str) and not response.get("isBase64Encoded") and len(body) >= GZIP_MIN_BYTES:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(accept_encoding):
            response.update(body=_gzipped_base64(body), isBase64Encoded=True)
            headers["Content-Encoding"] = "gzip"
    if head:
        response.update(body="", isBase64Encoded=False)
    present = {name.lower() for name in headers}
    headers.update({name: value for name, value in STANDARD_HEADERS.items() if name.lower() not in present})
    return response


@lru_cache(maxsize=8)  # the documents are the same string on every request: compressed once per environment
def _gzipped_base64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


_CODING = re.compile(r"\s*([A-Za-z*-]+)\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*")


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110, 12.5.3): "gzip;q=0" refuses it."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        match = _CODING.fullmatch(item)
        if match:
            try:
                weights[match[1].lower()] = float(match[2]) if match[2] else 1.0
            except ValueError:
                continue
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0
