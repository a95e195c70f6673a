"""Error answers (petsage_api.errors): one JSON body for every error the function gives, whoever builds it.

The resolver's own errors as the composition root registers them: a path or method no router serves
is a 404, and a response that breaks its own model a logged 500, never a 422. Neither body carries
anything but the status and its phrase.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest

from petsage_api.errors import ErrorResponse, error_proxy_response
from tests.conftest import load_event, logged

Invoke = Callable[[Any], Any]


def test_error_body_uses_the_camel_case_status_code() -> None:
    assert ErrorResponse(status_code=404, message="Not Found").model_dump(by_alias=True) == {
        "statusCode": 404,
        "message": "Not Found",
    }


def test_an_error_answered_outside_the_resolver_is_plain_json_with_the_status_phrase() -> None:
    assert error_proxy_response(HTTPStatus.INTERNAL_SERVER_ERROR) == {
        "statusCode": 500,
        "headers": {"Content-Type": "application/json"},
        "body": '{"statusCode":500,"message":"Internal Server Error"}',
        "isBase64Encoded": False,
    }


# --- not found ----------------------------------------------------------------------------------------


def test_unknown_path_is_a_json_404(invoke: Invoke) -> None:
    response = invoke(load_event("not-found"))
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == {"statusCode": 404, "message": "Not Found"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])
def test_unrouted_method_is_a_json_404(invoke: Invoke, method: str) -> None:
    event = load_event("health")
    event["requestContext"]["http"]["method"] = method
    response = invoke(event)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["message"] == "Not Found"


# --- a response that breaks its own model ---------------------------------------------------------------


def test_a_response_that_breaks_its_model_is_a_logged_500_not_a_422(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A route bug: data of the wrong shape where the model promises strings.
    monkeypatch.setattr("petsage_api.health.router.liveness", lambda: {"status": None, "message": 42})
    response = invoke(load_event("health"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"statusCode": 500, "message": "Internal Server Error"}
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    errors = logged(caplog, "Response failed its own model")["errors"]
    assert ("response", "status") in [tuple(error["loc"]) for error in errors]
    # Where and which kind of error, never the offending values (they may hold anything).
    assert {key for error in errors for key in error} == {"loc", "type"}
    assert "string_type" in {error["type"] for error in errors}
    # Answered by its own handler, not by the handler's last line of defence.
    assert "Unhandled error while resolving the request" not in [record.getMessage() for record in caplog.records]
