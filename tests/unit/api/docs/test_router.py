"""The documentation routes (petsage_api.docs.router): Swagger UI at /docs and the OpenAPI document
at /openapi.json, both varying by Accept-Encoding; what the documents hold: test_documents.py."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import body_bytes, load_event

Invoke = Callable[[Any], Any]


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
