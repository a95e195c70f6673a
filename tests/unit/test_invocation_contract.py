"""The handler's contract for every kind of invocation, word for word: what the caller gets back and
what on-call reads in the log stream (the 400 reasons, the direct-invoke reasons, the record's fields)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from petsage_health import observability
from petsage_health.config import ReadinessConfig
from petsage_health.invocation import Classification, InvocationKind, classify
from petsage_health.readiness import ReadinessProbe
from tests.conftest import load_event, logged, malformed, records
from tests.event_answers import LIVENESS

Invoke = Callable[[Any], Any]
Written = Callable[[], list[dict[str, Any]]]


def answer_400(invoke: Invoke, event: Any, caplog: pytest.LogCaptureFixture) -> str:
    """The 400's message, checked to be the one logged as the reason."""
    response = invoke(event)
    assert response["statusCode"] == 400
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert body["statusCode"] == 400
    assert logged(caplog, "Rejected malformed HTTP API event")["reason"] == body["message"]
    return str(body["message"])


# --- what counts as an HTTP API request --------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(
            {"requestContext": {"http": {"method": "GET"}}},
            "malformed HTTP API event: version: Field required; rawPath: Field required; "
            "requestContext.stage: Field required",
            id="only requestContext",
        ),
        pytest.param(
            {"rawPath": "/api/v1/health"},
            "malformed HTTP API event: version: Field required; requestContext: Field required",
            id="only rawPath",
        ),
        pytest.param(
            {"routeKey": "GET /api/v1/health"},
            "malformed HTTP API event: version: Field required; rawPath: Field required; "
            "requestContext: Field required",
            id="only routeKey",
        ),
        pytest.param(
            {"httpMethod": "GET"},
            "malformed HTTP API event: version: Field required; rawPath: Field required; "
            "requestContext: Field required",
            id="only httpMethod (REST v1)",
        ),
    ],
)
def test_an_event_with_any_one_key_of_a_request_is_a_400_never_a_liveness_answer(
    invoke: Invoke, event: dict[str, Any], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert answer_400(invoke, event, caplog) == message


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (None, "not an HTTP API request (NoneType event)"),
        ({}, "not an HTTP API request (dict event)"),
        ({"version": "2.0", "detail-type": "Scheduled Event"}, "not an HTTP API request (dict event)"),
        ([{"rawPath": "/"}], "not an HTTP API request (list event)"),
        ("GET /api/v1/health", "not an HTTP API request (str event)"),
    ],
)
def test_a_direct_invocation_is_logged_with_the_type_of_what_arrived(
    invoke: Invoke, event: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert invoke(event) == LIVENESS
    assert logged(caplog, "Direct invocation answered with liveness")["reason"] == reason


def test_a_well_formed_request_is_sorted_as_http() -> None:
    assert classify(load_event("health")) == Classification(InvocationKind.HTTP)


# --- the 400's reason: field paths, never caller text ----------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(
            malformed(lambda e: e.update(pathParameters={"petId": 1})),
            "malformed HTTP API event: pathParameters.*: Input should be a valid string",
            id="path parameter names are the caller's",
        ),
        pytest.param(
            malformed(lambda e: e.update(queryStringParameters={"token": ["a"]})),
            "malformed HTTP API event: queryStringParameters.*: Input should be a valid string",
            id="query names are the caller's",
        ),
        pytest.param(
            malformed(lambda e: e.update(headers="x")),
            "malformed HTTP API event: headers: Input should be a valid dictionary",
            id="a map of the wrong type is named itself",
        ),
        pytest.param(
            malformed(lambda e: e.update(cookies=["session=a", 1])),
            "malformed HTTP API event: cookies.*: Input should be a valid string",
            id="a list element by no index",
        ),
        pytest.param(
            malformed(lambda e: e["requestContext"]["http"].update(method="")),
            "malformed HTTP API event: requestContext.http.method: String should have at least 1 character",
            id="nested model fields by name",
        ),
    ],
)
def test_a_400_names_the_field_path_with_caller_chosen_names_masked(
    invoke: Invoke, event: dict[str, Any], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert answer_400(invoke, event, caplog) == message


def test_a_400_names_the_first_three_problems_in_event_order(invoke: Invoke, caplog: pytest.LogCaptureFixture) -> None:
    event = malformed(lambda e: e.update(rawPath=1, headers="x", cookies=[1], body=2, isBase64Encoded="no"))
    assert answer_400(invoke, event, caplog) == (
        "malformed HTTP API event: rawPath: Input should be a valid string; "
        "headers: Input should be a valid dictionary; cookies.*: Input should be a valid string"
    )


# --- routing details of the handler ----------------------------------------------------------------


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


# --- configuration problems: logged once per execution environment ---------------------------------


def test_configuration_problems_are_logged_on_the_first_invocation_only(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, written: Written
) -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CHECK_TIMEOUT_SECONDS": "soon", "HEALTH_S3_BUCKETS": "Bad!"})
    monkeypatch.setattr("petsage_health.routes.readiness_probe", ReadinessProbe(config, "petsage-health"))
    monkeypatch.setattr(observability, "_fresh_environment", True)
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
    config = ReadinessConfig.from_environment({"HEALTH_S3_BUCKETS": "Bad!"})
    monkeypatch.setattr("petsage_health.routes.readiness_probe", ReadinessProbe(config, "petsage-health"))
    monkeypatch.setattr(observability, "_fresh_environment", True)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    invoke(load_event("health"))
    invoke(load_event("health"))
    lines = written()
    problems = [line["problem"] for line in lines if line["message"] == "Readiness configuration problem"]
    assert problems == ["HEALTH_S3_BUCKETS: 1 value(s) are not valid s3 names; reported as fail"]
    assert [line["cold_start"] for line in lines if line["message"] == observability.REQUEST_RECORD] == [False, False]


# --- the invocation's record ----------------------------------------------------------------------


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
