"""The handler's contract for every kind of invocation (handler.lambda_handler): what the caller gets back.

A direct invocation gets the liveness payload itself, a malformed HTTP event a JSON 400 that says
why (and logs it), an HTTP request the resolver's answer, finished alike for every route: HEAD is
GET without a body, and an error nothing else caught is a logged JSON 500 that gives nothing away.
The execution environment's first invocation logs what is wrong with the readiness configuration,
with that invocation's ids. How events are sorted and what a 400 says: test_invocation.py; the
record each invocation writes: test_observability.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from petsage_api import observability
from petsage_api.health.models import HealthCheckResponse
from tests.conftest import (
    INVOKE_ONCE,
    fresh_environment,
    load_event,
    logged,
    malformed,
    records,
    run_in_fresh_interpreter,
)
from tests.contract import LIVENESS
from tests.readiness_helpers import probe, use_probe

Invoke = Callable[[Any], Any]
Written = Callable[[], list[dict[str, Any]]]


# --- a direct invocation: the liveness payload itself ------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(load_event("direct-invoke"), id="empty object (aws lambda invoke, sam --no-event)"),
        pytest.param(load_event("scheduled"), id="EventBridge schedule"),
        pytest.param(None, id="null"),
        pytest.param([], id="array"),
        pytest.param("ping", id="string"),
        pytest.param(42, id="number"),
        pytest.param({"Records": [{"eventSource": "aws:sqs"}]}, id="SQS batch"),
    ],
)
def test_a_direct_invocation_returns_the_liveness_payload(
    invoke: Invoke, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert invoke(event) == LIVENESS
    assert logged(caplog, "Direct invocation answered with liveness")["reason"].startswith("not an HTTP API request")


# --- a malformed HTTP event: a JSON 400 that says why -------------------------------------------------


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(load_event("malformed-http"), "requestContext.http: Field required", id="events/malformed-http"),
        pytest.param(malformed(lambda e: e.pop("requestContext")), "requestContext: Field required", id="no context"),
        pytest.param(malformed(lambda e: e.update(version="1.0")), "version: Input should be '2.0'", id="REST v1"),
        pytest.param(malformed(lambda e: e.update(rawPath=None)), "rawPath: Input should be a valid string", id="path"),
        pytest.param(
            malformed(lambda e: e["headers"].update({"x-n": 1})), "headers.*: Input should be a valid string", id="hdr"
        ),
        pytest.param(malformed(lambda e: e.update(isBase64Encoded="false")), "isBase64Encoded", id="b64 flag"),
        pytest.param(malformed(lambda e: e.update(cookies="a=b")), "cookies", id="cookies"),
        pytest.param({"httpMethod": "GET", "path": "/"}, "version: Field required", id="bare REST-like"),
    ],
)
def test_a_malformed_http_event_is_a_400_that_says_why(
    invoke: Invoke, event: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = invoke(event)
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert body["statusCode"] == 400
    assert body["message"].startswith("malformed HTTP API event: ")
    assert reason in body["message"]
    assert reason in logged(caplog, "Rejected malformed HTTP API event")["reason"]


# --- HEAD: routed as GET, answered without a body ----------------------------------------------------


@pytest.mark.parametrize("name", ["health", "root", "docs", "openapi"])
def test_head_has_the_get_status_and_headers_and_no_body(invoke: Invoke, name: str) -> None:
    get = invoke(load_event(name))
    head = invoke(load_event(f"{name}-head"))
    assert head["statusCode"] == get["statusCode"] == 200
    assert head["headers"] == get["headers"]
    assert head["body"] == ""


def test_head_leaves_the_callers_event_untouched(invoke: Invoke) -> None:
    event = load_event("health-head")
    invoke(event)
    assert event == load_event("health-head")


def test_a_lowercase_head_method_is_answered_as_head(invoke: Invoke) -> None:
    event = load_event("health-head")
    event["requestContext"]["http"]["method"] = "head"
    response = invoke(event)
    assert (response["statusCode"], response["body"]) == (200, "")
    assert response["headers"]["Content-Type"] == "application/json"


def test_a_request_without_headers_is_answered(invoke: Invoke) -> None:
    event = load_event("docs")
    event["headers"] = None  # HTTP API omits the map when a request has no headers
    response = invoke(event)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert "SwaggerUIBundle" in response["body"]


# --- the last line of defence: a JSON 500 ---------------------------------------------------------------


def test_an_unexpected_error_is_a_logged_500_without_a_traceback(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("petsage_api.health.router.liveness", explode)
    response = invoke(load_event("health"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"statusCode": 500, "message": "Internal Server Error"}
    assert "secret internal detail" not in response["body"]
    assert response["headers"]["Cache-Control"] == "no-store"
    record = logged(caplog, "Unhandled error while resolving the request")
    assert "secret internal detail" in str(record["exc_info"])  # ...but on-call finds it in the log


def test_whatever_fails_the_invocation_is_still_recorded_once_as_a_fault(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, written: Written
) -> None:
    # Past the resolver's own net (finishing the response): the runtime sees the error, on-call the record.
    def broken(*_: Any) -> Any:
        raise RuntimeError("finishing failed")

    monkeypatch.setattr("handler.negotiate_encoding", broken)
    with pytest.raises(RuntimeError, match="finishing failed"):
        invoke(load_event("health"))
    [record] = records(written())
    assert (record["route"], record["status"], record["level"]) == ("unknown", 500, "ERROR")
    assert record["Faults"] == [1.0]


def test_the_event_is_never_logged_even_when_powertools_is_told_to(tmp_path: Any) -> None:
    # POWERTOOLS_LOGGER_LOG_EVENT=true would make inject_lambda_context log whole events: headers
    # (a SigV4 Authorization among them), cookies, bodies. The handler turns it off for itself.
    event = load_event("health")
    event["headers"]["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/secret-signature"
    event["cookies"] = ["session=secret-cookie"]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    result = run_in_fresh_interpreter(INVOKE_ONCE, str(path), env={"POWERTOOLS_LOGGER_LOG_EVENT": "true"})
    assert "Request answered" in result.stdout  # the invocation was answered and recorded
    assert "secret-signature" not in result.stdout + result.stderr
    assert "secret-cookie" not in result.stdout + result.stderr


# --- configuration problems: logged once per execution environment ---------------------------------


def test_configuration_problems_are_logged_on_the_first_invocation_only(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, written: Written
) -> None:
    # A fresh environment's probe.
    use_probe(monkeypatch, probe(HEALTH_CHECK_TIMEOUT_SECONDS="soon", HEALTH_S3_BUCKETS="Bad!"))
    fresh_environment(monkeypatch)
    invoke(load_event("health"))
    invoke(load_event("health"))
    lines = written()
    problems = [line for line in lines if line["message"] == "Readiness configuration problem"]
    assert [line["problem"] for line in problems] == [
        "HEALTH_S3_BUCKETS: 1 value(s) are not valid s3 names; reported as fail",
        "HEALTH_CHECK_TIMEOUT_SECONDS='soon' is not a number of seconds >= 0.001; using 2",
    ]
    first_record = next(line for line in lines if line["message"] == observability.REQUEST_RECORD)
    assert {line["level"] for line in problems} == {"WARNING"}
    assert {line["function_request_id"] for line in problems} == {first_record["function_request_id"]}


def test_a_provisioned_environment_logs_its_configuration_problems_on_its_first_invocation(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, written: Written
) -> None:
    # Provisioned concurrency has no cold start to count, but its first invocation still says what
    # is misconfigured.
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="Bad!"))  # a fresh environment's probe
    fresh_environment(monkeypatch)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    invoke(load_event("health"))
    invoke(load_event("health"))
    lines = written()
    problems = [line["problem"] for line in lines if line["message"] == "Readiness configuration problem"]
    assert problems == ["HEALTH_S3_BUCKETS: 1 value(s) are not valid s3 names; reported as fail"]
    assert [line["cold_start"] for line in lines if line["message"] == observability.REQUEST_RECORD] == [False, False]
