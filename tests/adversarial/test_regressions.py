"""What the fuzzers found, kept as plain examples so they stay fixed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import request

Invoke = Callable[[Any], Any]


@pytest.mark.parametrize(
    ("stage", "reason"),
    [
        pytest.param(None, "requestContext.stage: Field required", id="no stage: was KeyError, a 500"),
        pytest.param(7, "requestContext.stage: Input should be a valid string", id="a number: was TypeError, a 500"),
    ],
)
def test_an_event_without_a_string_stage_is_a_400_not_a_500(invoke: Invoke, stage: Any, reason: str) -> None:
    event = request()
    if stage is None:
        del event["requestContext"]["stage"]
    else:
        event["requestContext"]["stage"] = stage
    response = invoke(event)
    assert response["statusCode"] == 400
    assert reason in json.loads(response["body"])["message"]


def test_a_named_stage_is_stripped_from_the_path_as_api_gateway_sends_it(invoke: Invoke) -> None:
    event = request()
    event["requestContext"]["stage"] = "prod"
    event["rawPath"] = "/prod/api/v1/health"
    assert invoke(event)["statusCode"] == 200
