"""Every route of the contract, driven through the same events/ files `sam local invoke` uses."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from petsage_health.models import HealthCheckResponse
from tests.conftest import load_event, logged

Invoke = Callable[[Any], Any]

LIVENESS = {"status": "ok", "message": "PetSage API is purring!"}
WELCOME = {"message": "Welcome to the PetSage API! Find our docs at /docs"}


def body_bytes(response: dict[str, Any]) -> bytes:
    body = response["body"]
    return base64.b64decode(body) if response["isBase64Encoded"] else body.encode()


def test_health_answers_the_exact_liveness_body(invoke: Invoke) -> None:
    response = invoke(load_event("health"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["body"] == '{"status":"ok","message":"PetSage API is purring!"}'


def test_root_welcomes_and_points_at_the_docs(invoke: Invoke) -> None:
    response = invoke(load_event("root"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == WELCOME


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


def test_openapi_document_lists_every_public_route_with_its_model(invoke: Invoke) -> None:
    response = invoke(load_event("openapi"))
    document = json.loads(response["body"])
    assert response["headers"]["Content-Type"] == "application/json"
    assert document["info"] == {
        "title": "PetSage API",
        "version": "1.0.0",
        "description": "The official API for the PetSage Pet Care Companion.",
    }
    health = document["paths"]["/api/v1/health"]["get"]
    assert health["summary"] == "Perform a System Health Check"
    assert health["tags"] == ["System"]
    assert health["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthCheckResponse"
    }
    root = document["paths"]["/"]["get"]
    assert root["tags"] == ["Root"]
    assert root["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WelcomeResponse"
    }


def test_docs_serve_swagger_ui_from_bundled_assets_gzipped(invoke: Invoke) -> None:
    response = invoke(load_event("docs"))  # the event's client accepts gzip
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert response["headers"]["Content-Encoding"] == "gzip"
    assert response["headers"]["Vary"] == "Accept-Encoding"
    html = gzip.decompress(body_bytes(response)).decode()
    assert "SwaggerUIBundle" in html
    assert '"title": "PetSage API"' in html
    assert "https://" not in html.split("<script>")[0], "no CDN stylesheet or script"
    assert "<script src=" not in html


def test_docs_are_plain_for_clients_without_gzip(invoke: Invoke) -> None:
    event = load_event("docs")
    del event["headers"]["accept-encoding"]
    response = invoke(event)
    assert "Content-Encoding" not in response["headers"]
    assert "SwaggerUIBundle" in response["body"]


@pytest.mark.parametrize("name", ["docs", "openapi"])
def test_both_documents_are_gzipped_for_clients_that_accept_it_and_vary_by_it(invoke: Invoke, name: str) -> None:
    event = load_event(name)
    event["headers"]["accept-encoding"] = "gzip"
    response = invoke(event)
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Encoding"] == "gzip"
    assert response["headers"]["Vary"] == "Accept-Encoding"
    plain = load_event(name)
    plain["headers"].pop("accept-encoding", None)
    identity = invoke(plain)
    assert identity["headers"]["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body_bytes(response)).decode() == identity["body"]


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
    from petsage_health import responses

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


def test_head_of_a_gzipped_document_has_its_headers_and_an_empty_plain_body(invoke: Invoke) -> None:
    head = invoke(load_event("docs-head"))
    assert head["headers"]["Content-Encoding"] == "gzip"
    assert (head["body"], head["isBase64Encoded"]) == ("", False)


def test_small_json_answers_are_never_content_coded(invoke: Invoke) -> None:
    for name in ("health", "root", "ready", "not-found"):
        response = invoke(load_event(name))
        assert "Content-Encoding" not in response["headers"], name
        assert response["isBase64Encoded"] is False, name


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


@pytest.mark.parametrize("name", ["health", "health-head", "root", "docs", "openapi", "not-found", "malformed-http"])
def test_every_http_response_carries_the_security_and_cache_headers(invoke: Invoke, name: str) -> None:
    headers = invoke(load_event(name))["headers"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_a_response_that_breaks_its_model_is_a_logged_500_not_a_422(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A route bug: data of the wrong shape where the model promises strings.
    monkeypatch.setattr("petsage_health.routes.liveness", lambda: {"status": None, "message": 42})
    response = invoke(load_event("health"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"statusCode": 500, "message": "Internal Server Error"}
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    errors = logged(caplog, "Response failed its own model")["errors"]
    assert ("response", "status") in [tuple(error["loc"]) for error in errors]


def test_an_unexpected_error_is_a_logged_500_without_a_traceback(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("petsage_health.routes.liveness", explode)
    response = invoke(load_event("health"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"statusCode": 500, "message": "Internal Server Error"}
    assert "secret internal detail" not in response["body"]
    assert response["headers"]["Cache-Control"] == "no-store"
    record = logged(caplog, "Unhandled error while resolving the request")
    assert "secret internal detail" in str(record["exc_info"])  # ...but on-call finds it in the log


@pytest.mark.parametrize("path", ["/openapiXjson", "/openapi/json"])
def test_only_the_exact_openapi_path_serves_the_document(invoke: Invoke, path: str) -> None:
    # Powertools' route rules are regular expressions: "." would match any character.
    event = load_event("openapi")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    response = invoke(event)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"statusCode": 404, "message": "Not Found"}


@pytest.mark.parametrize("path", ["/api/v1/health\n", "/api/v1/health\r\n", "/\x00", "/docs\x1b[31m"])
def test_a_path_with_control_characters_is_a_malformed_event(invoke: Invoke, path: str) -> None:
    event = load_event("health")
    event["rawPath"] = path
    response = invoke(event)
    assert response["statusCode"] == 400
    assert "rawPath" in json.loads(response["body"])["message"]


def test_swagger_uis_spec_link_answers_the_openapi_document(invoke: Invoke) -> None:
    event = load_event("docs")
    del event["headers"]["accept-encoding"]
    event["rawQueryString"] = "format=json"
    event["queryStringParameters"] = {"format": "json"}
    response = invoke(event)
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["info"]["title"] == "PetSage API"
