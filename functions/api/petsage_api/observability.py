"""What the function writes: Powertools Logger lines, and one record per invocation.

The record is one CloudWatch embedded-metric-format (EMF) line from Powertools Metrics: the
invocation's metrics and its fields (route, status, latency, cold start, version, the request
ids), so that a metric spike leads straight to the invocations behind it. Log lines carry the
same ids: the handler's `inject_lambda_context` sets them on the Logger for each invocation.

Metrics, namespace PetSage, in two dimension sets:
- `Faults`, 1 for an answer that says the function failed (a 5xx other than readiness' 503, which
  says a dependency did), else 0: its SampleCount is the requests, its Sum the faults;
- `ColdStart`, 1 on an environment's first, on-demand invocation;
- by {deployment, service}: the deployment's totals (the dashboard, the paging alarm);
- by {deployment, service, version}: each published version's own, which the deploy gate
  watches, so that only the new version's faults can roll it back.

The X-Ray SDK is left out on purpose: a Powertools `Tracer` imports botocore (~335 ms of every cold
start), and Lambda's active tracing records each invocation without it.
"""

from __future__ import annotations

import logging
import os
import time
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = "petsage-api"
NAMESPACE = "PetSage"
# Which deployment (the stack name) and which published version wrote a line or a metric: dev and
# prod may share an account's namespace, never a metric series.
DEPLOYMENT = os.environ.get("DEPLOYMENT_NAME") or "local"
VERSION = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION") or "$LATEST"
REQUEST_RECORD = "Request answered"

logger = Logger(service=SERVICE, deployment=DEPLOYMENT)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(deployment=DEPLOYMENT, service=SERVICE)


def is_fault(status: int) -> bool:
    """A 5xx is the function's failure, except 503: readiness saying that a dependency is down."""
    return status >= HTTPStatus.INTERNAL_SERVER_ERROR and status != HTTPStatus.SERVICE_UNAVAILABLE


def record(route: str, status: int, started: float) -> None:
    """The invocation's one record: its metrics and fields, never a header, body or path the caller sent."""
    fault = is_fault(status)
    cold_start = logger.get_current_keys().get("cold_start") is True  # on-demand only, as Logger counts it
    metrics.add_dimensions(version=VERSION)
    metrics.add_metric(name="Faults", unit=MetricUnit.Count, value=1 if fault else 0)
    if cold_start:
        metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
    fields = invocation_fields(
        level="ERROR" if fault else "INFO",
        message=REQUEST_RECORD,
        route=route,
        status=status,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        cold_start=cold_start,
    )
    for key, value in fields.items():
        metrics.add_metadata(key=key, value=value)
    flush(metrics)


def invocation_fields(**fields: Any) -> dict[str, Any]:
    """`fields` and the ids every line of this invocation carries, as the Logger's own lines have them."""
    keys = logger.get_current_keys()
    ids = {name: keys.get(name) for name in ("function_request_id", "correlation_id")}
    trace = os.environ.get("_X_AMZN_TRACE_ID", "").partition(";")[0].removeprefix("Root=")
    return {
        **fields,
        **{name: value for name, value in ids.items() if value},
        **({"xray_trace_id": trace} if trace else {}),
    }


def flush(sink: Metrics | EphemeralMetrics) -> None:
    """Print a record. Powertools clears what it printed, but keeps the set while metrics are disabled."""
    try:
        sink.flush_metrics()
    finally:
        sink.clear_metrics()


def quiet_third_party_loggers() -> None:
    """botocore, boto3 and urllib3: WARNING and above, as JSON lines in the function's format.

    Called once the SDK is imported (readiness makes its clients lazily): Powertools copies the
    configuration onto loggers that exist.
    """
    names = {"botocore", "boto3", "urllib3"}
    for name in names:
        logging.getLogger(name)
    copy_config_to_registered_loggers(source_logger=logger, log_level=logging.WARNING, include=names)
