"""Structured logs and CloudWatch metrics (EMF) for every invocation, in one place.

Both come from Powertools, which the resolver already imports, so they add no import time
to the cold start (`python -X importtime`). The X-Ray SDK is deliberately absent: building
a Powertools `Tracer` imports botocore (~335 ms); Lambda's active tracing already records
each invocation without it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "petsage-health"
METRICS_NAMESPACE = "PetSage"

# The one logger of the function: routes and readiness log through it too.
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# Route labels of invocations that are not routed HTTP requests.
DIRECT_ROUTE = "direct"
MALFORMED_ROUTE = "malformed"
UNKNOWN_ROUTE = "unknown"

# API Gateway's request ids and route keys have these shapes. Anything else in those fields
# came from a hand-made event, and is neither logged nor used as a metric dimension.
_REQUEST_ID = re.compile(r"[A-Za-z0-9+/=_\-]{1,64}")
_ROUTE_KEY = re.compile(r"(?:[A-Z]{3,10}|ANY) /[A-Za-z0-9/_.\-{}+]{0,128}|\$default")

Handler = Callable[[Any, LambdaContext], dict[str, Any]]


def request_id(event: Any) -> str | None:
    """API Gateway's request id (the access log's requestId), used as the correlation id."""
    value = _request_context(event).get("requestId")
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def route_label(event: Any) -> str:
    """The route key API Gateway matched ("GET /api/v1/health"): bounded by the template."""
    value = event.get("routeKey") if isinstance(event, dict) else None
    if not isinstance(value, str):
        value = _request_context(event).get("routeKey")
    return value if isinstance(value, str) and _ROUTE_KEY.fullmatch(value) else UNKNOWN_ROUTE


def record(route: str, status: int, started: float) -> None:
    """One log line and one request/fault count per invocation; values only, never headers or bodies."""
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    fault = status >= 500
    log = logger.error if fault else logger.info
    log("Request answered", extra={"route": route, "status": status, "latency_ms": latency_ms})
    metrics.add_dimension(name="route", value=route)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    # 0 or 1 per request, so the metric's Average is the fault rate and its Sum the fault count.
    metrics.add_metric(name="Faults", unit=MetricUnit.Count, value=1 if fault else 0)


def instrumented(handler: Handler) -> Handler:
    """Logger context (cold start, request ids) and metrics around the handler, flushed every time.

    `clear_state` drops the keys of the previous invocation. Every invocation records its
    metrics, so the flush is never empty (no "No application metrics" warning); the set is
    cleared again afterwards because Powertools keeps it when POWERTOOLS_METRICS_DISABLED is set.
    """
    with_metrics = metrics.log_metrics(handler, capture_cold_start_metric=True)
    with_logs = logger.inject_lambda_context(with_metrics, clear_state=True)

    @functools.wraps(handler)
    def wrapper(event: Any, context: LambdaContext) -> dict[str, Any]:
        try:
            response: dict[str, Any] = with_logs(event, context)
        finally:
            metrics.clear_metrics()
        return response

    return wrapper


def _request_context(event: Any) -> dict[str, Any]:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return context if isinstance(context, dict) else {}
