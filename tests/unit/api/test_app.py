"""The composition root (petsage_api.app): every router included under its prefix, with the API's
OpenAPI metadata; and the committed openapi.json is what the function serves (`make openapi`
refreshes it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from petsage_api.app import API_V1, app
from petsage_api.docs import documents
from tests.conftest import REPO_ROOT, load_event

Invoke = Callable[[Any], Any]


def test_each_router_is_included_under_its_prefix(invoke: Invoke) -> None:
    # root and docs at the API's root, every feature under the version prefix; the docs are not in
    # the schema. (Which routes exist at all: tests/infrastructure/test_route_inventory.py.)
    paths = set(json.loads(documents.openapi_json(app))["paths"])
    assert {"/", f"{API_V1}/health", f"{API_V1}/health/ready", f"{API_V1}/health/ready/details"} <= paths
    assert {path for path in paths if path != "/" and not path.startswith(f"{API_V1}/")} == set()
    for name in ("root", "health", "ready", "docs", "openapi"):
        assert invoke(load_event(name))["statusCode"] == 200, name


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


def test_committed_openapi_matches_the_generated_document() -> None:
    committed = json.loads((REPO_ROOT / "openapi.json").read_text(encoding="utf-8"))
    generated = json.loads(documents.openapi_json(app))
    assert committed == generated, "openapi.json is stale: run `make openapi` and commit the result"
