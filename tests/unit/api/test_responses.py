"""Finishing a proxy response (petsage_api.responses), whoever built it: standard headers that never
override a route's own, gzip only where a route declared it varies by Accept-Encoding and the caller
accepts it (compressed once, then served from memory), and HEAD's empty body."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from petsage_api.health.models import HealthCheckResponse
from petsage_api.responses import accepts_gzip, negotiate_encoding, with_standard_headers
from tests.conftest import load_event

Invoke = Callable[[Any], Any]
DOCUMENT = '{"openapi":"3.1.0"}'


# --- the standard headers ------------------------------------------------------------------------


def test_a_header_the_response_already_has_is_kept_whatever_its_case() -> None:
    response = with_standard_headers({"statusCode": 200, "headers": {"cache-control": "max-age=60"}, "body": ""})
    assert response["headers"] == {"cache-control": "max-age=60", "X-Content-Type-Options": "nosniff"}


def test_a_response_without_headers_gets_the_standard_ones() -> None:
    response = with_standard_headers({"statusCode": 204, "body": ""})
    assert response["headers"] == {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@pytest.mark.parametrize("name", ["health", "health-head", "root", "docs", "openapi", "not-found", "malformed-http"])
def test_every_http_response_carries_the_security_and_cache_headers(invoke: Invoke, name: str) -> None:
    headers = invoke(load_event(name))["headers"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


# --- content coding ------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5", True),
        ("br;q=1.0, *;q=0.1", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*;q=0", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=bogus", False),
        ("", False),
    ],
)
def test_the_documents_honour_accept_encoding_weights(invoke: Invoke, accept_encoding: str, gzipped: bool) -> None:
    event = load_event("openapi")
    event["headers"]["accept-encoding"] = accept_encoding
    response = invoke(event)
    assert ("Content-Encoding" in response["headers"]) is gzipped
    assert response["isBase64Encoded"] is gzipped


def test_the_documents_are_compressed_once_and_then_served_from_memory(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petsage_api import responses

    responses._gzipped_base64.cache_clear()
    calls: list[int] = []
    compress = gzip.compress

    def counting_compress(data: bytes, **options: Any) -> bytes:
        calls.append(len(data))
        return compress(data, **options)

    monkeypatch.setattr("gzip.compress", counting_compress)
    first = invoke(load_event("docs"))
    second = invoke(load_event("docs"))
    assert first["body"] == second["body"]
    assert len(calls) == 1


def test_small_json_answers_are_never_content_coded(invoke: Invoke) -> None:
    for name in ("health", "root", "ready", "not-found"):
        response = invoke(load_event(name))
        assert "Content-Encoding" not in response["headers"], name
        assert response["isBase64Encoded"] is False, name


def test_an_unexpected_error_is_never_content_coded(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("boom")

    monkeypatch.setattr("petsage_api.health.router.liveness", explode)
    event = load_event("health")
    event["headers"]["accept-encoding"] = "gzip"
    response = invoke(event)
    assert (response["statusCode"], response["isBase64Encoded"]) == (500, False)
    assert "Content-Encoding" not in response["headers"]


# --- HEAD ---------------------------------------------------------------------------------------------


def test_head_of_a_gzipped_document_has_its_headers_and_an_empty_plain_body(invoke: Invoke) -> None:
    head = invoke(load_event("docs-head"))
    assert head["headers"]["Content-Encoding"] == "gzip"
    assert (head["body"], head["isBase64Encoded"]) == ("", False)
