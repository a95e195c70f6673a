"""Finishing a proxy response: standard headers that never override a route's own, gzip only where a
route declared it varies by Accept-Encoding and the caller accepts it, and plain JSON errors."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest

from petsage_health.models import HealthCheckResponse
from petsage_health.responses import accepts_gzip, error_proxy_response, negotiate_encoding, with_standard_headers
from tests.conftest import load_event

Invoke = Callable[[Any], Any]
DOCUMENT = '{"openapi":"3.1.0"}'


def test_a_header_the_response_already_has_is_kept_whatever_its_case() -> None:
    response = with_standard_headers({"statusCode": 200, "headers": {"cache-control": "max-age=60"}, "body": ""})
    assert response["headers"] == {"cache-control": "max-age=60", "X-Content-Type-Options": "nosniff"}


def test_a_response_without_headers_gets_the_standard_ones() -> None:
    response = with_standard_headers({"statusCode": 204, "body": ""})
    assert response["headers"] == {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def document(vary: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json", **vary}, "body": DOCUMENT, **extra}


def test_a_body_that_varies_by_accept_encoding_is_gzipped_once_as_base64() -> None:
    response = negotiate_encoding(document({"vary": "Accept-Encoding"}), "gzip")
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(base64.b64decode(response["body"])).decode() == DOCUMENT


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(document({}), id="no Vary: the route did not ask for it"),
        pytest.param(document({"Vary": "Origin"}), id="varies by something else"),
        pytest.param(document({"Vary": "Accept-Encoding"}, isBase64Encoded=True), id="already encoded"),
        pytest.param({**document({"Vary": "Accept-Encoding"}), "body": None}, id="no body"),
    ],
)
def test_other_responses_are_left_as_they_are(response: dict[str, Any]) -> None:
    before = json.loads(json.dumps(response))
    assert negotiate_encoding(response, "gzip") == before


@pytest.mark.parametrize(
    ("accept_encoding", "accepted"),
    [
        (None, False),
        ("gzip;q=1..0, *;q=0.5", True),  # an unreadable weight discards that coding only
        ("gzip;q=0, x-gzip", False),  # gzip's own weight decides before its alias
        ("x-gzip;q=0, *", False),  # ...and the alias's before the wildcard
        ("identity;q=1, x-gzip;q=0.5", True),
        ("gzip;q=0.001", True),
        ("gzip ; q = 0.5 ", True),
    ],
)
def test_accept_encoding_is_read_by_its_weights(accept_encoding: str | None, accepted: bool) -> None:
    assert accepts_gzip(accept_encoding) is accepted


def test_an_error_answered_outside_the_resolver_is_plain_json_with_the_status_phrase() -> None:
    assert error_proxy_response(HTTPStatus.INTERNAL_SERVER_ERROR) == {
        "statusCode": 500,
        "headers": {"Content-Type": "application/json"},
        "body": '{"statusCode":500,"message":"Internal Server Error"}',
        "isBase64Encoded": False,
    }


def test_an_unexpected_error_is_never_content_coded(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("boom")

    monkeypatch.setattr("petsage_health.routes.liveness", explode)
    event = load_event("health")
    event["headers"]["accept-encoding"] = "gzip"
    response = invoke(event)
    assert (response["statusCode"], response["isBase64Encoded"]) == (500, False)
    assert "Content-Encoding" not in response["headers"]
