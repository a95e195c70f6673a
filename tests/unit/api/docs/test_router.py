"""The documentation routes (petsage_api.docs): Swagger UI at /docs and the OpenAPI document at
/openapi.json, both from the bundled assets, both varying by Accept-Encoding, and both built on the
first request, never at cold start (petsage_api.docs.documents)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import load_event, run_in_fresh_interpreter

Invoke = Callable[[Any], Any]


def body_bytes(response: dict[str, Any]) -> bytes:
    body = response["body"]
    return base64.b64decode(body) if response["isBase64Encoded"] else body.encode()


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


@pytest.mark.parametrize("path", ["/openapiXjson", "/openapi/json"])
def test_only_the_exact_openapi_path_serves_the_document(invoke: Invoke, path: str) -> None:
    # Powertools' route rules are regular expressions: "." would match any character.
    event = load_event("openapi")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    response = invoke(event)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"statusCode": 404, "message": "Not Found"}


def test_swagger_uis_spec_link_answers_the_openapi_document(invoke: Invoke) -> None:
    event = load_event("docs")
    del event["headers"]["accept-encoding"]
    event["rawQueryString"] = "format=json"
    event["queryStringParameters"] = {"format": "json"}
    response = invoke(event)
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["info"]["title"] == "PetSage API"


def test_the_docs_are_not_built_at_cold_start() -> None:
    # documents.openapi_json is cached per resolver; a fresh import must not have filled it.
    code = (
        "import sys; import handler; from petsage_api.docs import documents; "
        "print(documents.openapi_json.cache_info().currsize, "
        "'aws_lambda_powertools.event_handler.openapi.models' in sys.modules)"
    )
    result = run_in_fresh_interpreter(code)
    assert result.stdout.split() == ["0", "False"]
