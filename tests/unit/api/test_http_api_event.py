"""The HTTP API event model (petsage_api.http_api_event): what API Gateway never sends is a malformed
event, answered 400 with the field path, before the resolver sees it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import load_event

Invoke = Callable[[Any], Any]


@pytest.mark.parametrize("path", ["/api/v1/health\n", "/api/v1/health\r\n", "/\x00", "/docs\x1b[31m"])
def test_a_path_with_control_characters_is_a_malformed_event(invoke: Invoke, path: str) -> None:
    event = load_event("health")
    event["rawPath"] = path
    response = invoke(event)
    assert response["statusCode"] == 400
    assert "rawPath" in json.loads(response["body"])["message"]


def test_an_authorizer_of_the_wrong_shape_is_a_malformed_event(invoke: Invoke) -> None:
    event = load_event("ready-details")
    event["requestContext"]["authorizer"] = {"iam": "not-an-object"}
    response = invoke(event)
    assert response["statusCode"] == 400
    assert "requestContext.authorizer.iam" in json.loads(response["body"])["message"]
