"""Lambda entry point of the PetSage API: sort the invocation, answer it, record it once."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from petsage_api import observability
from petsage_api.app import app, readiness_probe
from petsage_api.errors import error_proxy_response
from petsage_api.health.liveness import liveness
from petsage_api.invocation import InvocationKind, classify
from petsage_api.observability import DIRECT_ROUTE, MALFORMED_ROUTE, UNKNOWN_ROUTE, logger, route_label
from petsage_api.responses import negotiate_encoding, with_standard_headers, without_body

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: an event holds headers (a SigV4
# Authorization among them), cookies and bodies, which no log line may carry.
@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda's entry point: Powertools gives the logger this invocation's context, then it is answered."""
    return answer(event, context)


def answer(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Answer every invocation, and write its one record; nothing an event holds makes this raise.

    Undecorated, so that `make mutation` mutates it (mutmut leaves decorated functions alone).
    """
    invocation = observability.begin(event, context)
    route, status = UNKNOWN_ROUTE, HTTPStatus.INTERNAL_SERVER_ERROR.value  # should anything below raise
    try:
        # Here, not at import: every line carries an invocation's ids, provisioned environments too.
        readiness_probe.log_configuration_problems()
        route, status, response = _dispatch(event, context)
        return response
    finally:
        observability.record(invocation, route, status)


def _dispatch(event: Any, context: LambdaContext) -> tuple[str, int, dict[str, Any]]:
    """The route label, status and payload for one invocation."""
    classified = classify(event)
    if classified.kind is InvocationKind.DIRECT:
        # `aws lambda invoke`, schedules and `sam local invoke --no-event` get the liveness
        # payload itself, so a direct invoke doubles as a smoke test.
        logger.info("Direct invocation answered with liveness", extra={"reason": classified.reason})
        return DIRECT_ROUTE, HTTPStatus.OK.value, liveness().model_dump()
    if classified.kind is InvocationKind.MALFORMED_HTTP:
        logger.warning("Rejected malformed HTTP API event", extra={"reason": classified.reason})
        response = with_standard_headers(error_proxy_response(HTTPStatus.BAD_REQUEST, classified.reason))
        return MALFORMED_ROUTE, HTTPStatus.BAD_REQUEST.value, response
    response = _resolve(event, context)
    return route_label(event), int(response["statusCode"]), response


def _resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A well-formed HTTP API request through the resolver, finished for every route alike."""
    is_head = event["requestContext"]["http"]["method"].upper() == "HEAD"
    try:
        response = app.resolve(_as_get(event) if is_head else event, context)
    except Exception:  # noqa: BLE001 - the last line of defence: logged in full, answered as a JSON 500
        logger.exception("Unhandled error while resolving the request")
        response = error_proxy_response(HTTPStatus.INTERNAL_SERVER_ERROR)
    response = negotiate_encoding(response, (event.get("headers") or {}).get("accept-encoding"))
    if is_head:
        response = without_body(response)
    return with_standard_headers(response)


def _as_get(event: dict[str, Any]) -> dict[str, Any]:
    """HEAD is GET without a body: route it as GET, leaving the caller's event untouched."""
    context = event["requestContext"]
    return {**event, "requestContext": {**context, "http": {**context["http"], "method": "GET"}}}
