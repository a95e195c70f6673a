"""Lambda entry point: sort the invocation, route it, finish the response, write its record."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petsage_health import observability, routes
from petsage_health.health import liveness
from petsage_health.invocation import InvocationKind, classify
from petsage_health.observability import DIRECT_ROUTE, MALFORMED_ROUTE, logger, route_label
from petsage_health.responses import error_proxy_response, negotiate_encoding, with_standard_headers, without_body
from petsage_health.routes import app


def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Answer every invocation; nothing an event holds makes this raise."""
    invocation = observability.begin(event, context)
    if invocation.first:
        # Logged here, not at import: every line carries the request id of an invocation. On the
        # first invocation, not the cold start: a provisioned environment has none.
        routes.readiness_probe.log_configuration_problems()
    classified = classify(event)
    if classified.kind is InvocationKind.DIRECT:
        # `aws lambda invoke`, schedules and `sam local invoke --no-event` get the liveness
        # payload itself, so a direct invoke doubles as a smoke test.
        logger.info("Direct invocation answered with liveness", extra={"reason": classified.reason})
        observability.record(invocation, DIRECT_ROUTE, HTTPStatus.OK.value)
        return liveness().model_dump()
    if classified.kind is InvocationKind.MALFORMED_HTTP:
        logger.warning("Rejected malformed HTTP API event", extra={"reason": classified.reason})
        observability.record(invocation, MALFORMED_ROUTE, HTTPStatus.BAD_REQUEST.value)
        return with_standard_headers(error_proxy_response(HTTPStatus.BAD_REQUEST, classified.reason))

    is_head = event["requestContext"]["http"]["method"].upper() == "HEAD"
    try:
        response = app.resolve(_as_get(event) if is_head else event, context)
    except Exception:  # noqa: BLE001 - the last line of defence: logged in full, answered as a JSON 500
        logger.exception("Unhandled error while resolving the request")
        response = error_proxy_response(HTTPStatus.INTERNAL_SERVER_ERROR)
    response = negotiate_encoding(response, (event.get("headers") or {}).get("accept-encoding"))
    if is_head:
        response = without_body(response)
    observability.record(invocation, route_label(event), int(response["statusCode"]))
    return with_standard_headers(response)


def _as_get(event: dict[str, Any]) -> dict[str, Any]:
    """HEAD is GET without a body: route it as GET, leaving the caller's event untouched."""
    context = event["requestContext"]
    return {**event, "requestContext": {**context, "http": {**context["http"], "method": "GET"}}}
