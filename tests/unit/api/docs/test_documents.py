"""The documents (petsage_api.docs.documents): Swagger UI from the bundled assets, no CDN, and both
documents built on the first request, never at cold start."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from tests.conftest import body_bytes, load_event, run_in_fresh_interpreter

Invoke = Callable[[Any], Any]


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


def test_the_docs_are_not_built_at_cold_start() -> None:
    # documents.openapi_json is cached per resolver; a fresh import must not have filled it.
    code = (
        "import sys; import handler; from petsage_api.docs import documents; "
        "print(documents.openapi_json.cache_info().currsize, "
        "'aws_lambda_powertools.event_handler.openapi.models' in sys.modules)"
    )
    result = run_in_fresh_interpreter(code)
    assert result.stdout.split() == ["0", "False"]
