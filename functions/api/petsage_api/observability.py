"""What the function writes: one structured record per answered invocation, and Logger lines.

The record is a CloudWatch embedded-metric-format (EMF) line from Powertools Metrics: the
request's metrics (Faults, ColdStart) and its fields (route, status, latency_ms,
cold_start, the API Gateway request id as correlation_id, the Lambda request id) in one JSON
object, so a metric spike leads straight to the invocations behind it. Warnings, errors and
direct invocations go through Powertools Logger, which carries the same request ids; so do
botocore's and urllib3's own lines, at WARNING and above only. Each executed readiness check
writes one more EMF line with that dependency's latency and failure.

Both come from Powertools, which the resolver already imports (`python -X importtime`). The
handler takes Powertools' idiom for the Logger (`inject_lambda_context`: Lambda's context keys
and cold start on every line). It flushes the record itself, in its single exit path, rather
than through `Metrics.log_metrics`: with POWERTOOLS_METRICS_DISABLED set, Powertools' flush keeps
the metric set (and prints it once it holds 100 values), where `_flush` below drops it. The
X-Ray SDK is deliberately absent: a Powertools `Tracer` imports botocore (~335 ms of cold start);
Lambda's active tracing records each invocation without it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "petsage-health"
METRICS_NAMESPACE = "PetSage"
# Which deployment wrote a line or a metric (the stack name, from the template): dev and prod
# may share an account's PetSage namespace, never a metric series.
DEPLOYMENT = os.environ.get("DEPLOYMENT_NAME") or "local"
REQUEST_RECORD = "Request answered"
DEPENDENCY_RECORD = "Dependency checked"
# Libraries whose own lines would otherwise reach the runtime's handler in its layout, at INFO.
THIRD_PARTY_LOGGERS = frozenset({"botocore", "boto3", "urllib3"})

# The one logger of the function: routes and readiness log through it too.
logger = Logger(service=SERVICE, deployment=DEPLOYMENT)
# Request metrics, one dimension set: deployment, route, service. Totals per deployment are a
# SEARCH over the routes; a second dimension set would double the custom metrics billed.
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(deployment=DEPLOYMENT)
# Dependency metrics have their own dimension (the check key), hence their own set and line.
dependency_metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
dependency_metrics.set_default_dimensions(deployment=DEPLOYMENT)

# Route labels of invocations that are not routed HTTP requests.
DIRECT_ROUTE = "direct"
MALFORMED_ROUTE = "malformed"
UNKNOWN_ROUTE = "unknown"

# API Gateway's request ids and route keys have these shapes. Anything else in those fields
# came from a hand-made event, and is neither logged nor used as a metric dimension.
_REQUEST_ID = re.compile(r"[A-Za-z0-9+/=_\-]{1,64}")
_ROUTE_KEY = re.compile(r"(?:[A-Z]{3,10}|ANY) /[A-Za-z0-9/_.\-{}+]{0,128}|\$default")


@dataclass(frozen=True)
class Invocation:
    """What every line of one invocation carries."""

    started: float
    request_id: str  # Lambda's
    correlation_id: str | None  # API Gateway's, the access log's requestId
    cold_start: bool  # an on-demand init: what the ColdStart metric counts


_current: Invocation | None = None  # Lambda runs one invocation at a time per environment


def begin(event: Any, context: LambdaContext) -> Invocation:
    """Start an invocation's record, once Logger.inject_lambda_context has set the logger's keys.

    The record's cold start is the one those keys carry (on-demand only: a provisioned environment
    has none), so that it and the log lines agree. The correlation id is API Gateway's request id,
    and only when it has the shape API Gateway gives it: Powertools' correlation_paths would log
    whatever a hand-made event holds there.
    """
    global _current
    correlation_id = request_id(event)
    logger.set_correlation_id(correlation_id)
    cold_start = logger.get_current_keys().get("cold_start") is True
    _current = Invocation(time.perf_counter(), context.aws_request_id, correlation_id, cold_start)
    return _current


def record(invocation: Invocation, route: str, status: int) -> None:
    """The invocation's one record: its metrics and its fields, never a header or body value."""
    fault = status >= 500
    metrics.add_dimension(name="route", value=route)
    # 0 or 1 per request: its SampleCount is the number of requests, its Sum the faults and its
    # Average the fault rate (a separate Requests count would cost a metric and its validation).
    metrics.add_metric(name="Faults", unit=MetricUnit.Count, value=1 if fault else 0)
    if invocation.cold_start:
        metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
    _add_fields(
        metrics,
        invocation,
        level="ERROR" if fault else "INFO",
        message=REQUEST_RECORD,
        status=status,
        latency_ms=round((time.perf_counter() - invocation.started) * 1000, 3),
        cold_start=invocation.cold_start,
    )
    _flush(metrics)


def record_dependency(check: str, latency_ms: float, failed: bool) -> None:
    """One line per dependency check actually run (a cached readiness answer runs none)."""
    dependency_metrics.add_dimension(name="dependency", value=check)
    dependency_metrics.add_metric(name="DependencyLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    dependency_metrics.add_metric(name="DependencyFailures", unit=MetricUnit.Count, value=1 if failed else 0)
    _add_fields(dependency_metrics, _current, level="INFO", message=DEPENDENCY_RECORD, failed=failed)
    _flush(dependency_metrics)


def quiet_third_party_loggers() -> None:
    """botocore, boto3 and urllib3: WARNING and above, as JSON lines in the function's format.

    Called once the SDK is imported (readiness makes its clients lazily): Powertools copies the
    configuration onto loggers that already exist.
    """
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name)
    copy_config_to_registered_loggers(source_logger=logger, log_level=logging.WARNING, include=set(THIRD_PARTY_LOGGERS))


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


def _add_fields(sink: EphemeralMetrics | Metrics, invocation: Invocation | None, **fields: Any) -> None:
    if invocation is not None:
        fields["function_request_id"] = invocation.request_id
        if invocation.correlation_id is not None:
            fields["correlation_id"] = invocation.correlation_id
    trace_id = os.environ.get("_X_AMZN_TRACE_ID")
    if trace_id:
        fields["xray_trace_id"] = trace_id.partition(";")[0].removeprefix("Root=")
    for key, value in fields.items():
        sink.add_metadata(key=key, value=value)


def _flush(sink: EphemeralMetrics | Metrics) -> None:
    """Print the record. Powertools clears what it printed, and keeps the set when metrics are disabled."""
    try:
        sink.flush_metrics()
    finally:
        if sink.metric_set:
            sink.clear_metrics()


def _request_context(event: Any) -> dict[str, Any]:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return context if isinstance(context, dict) else {}
