"""The composition root (petsage_api.app): every feature's router under its prefix, the API's OpenAPI
metadata, the committed examples in events/ answered as documented, and the committed openapi.json
and the README's routes are the function's own (`make openapi` refreshes both)."""

from __future__ import annotations

import json

import pytest

from petsage_api.app import API_V1, app
from petsage_api.docs import openapi_json
from tests.conftest import EVENTS_DIR, REPO_ROOT, Invoke, load_event, request
from tests.contract import LIVENESS


def test_each_router_is_included_under_its_prefix(invoke: Invoke) -> None:
    # The root at the API's root, every feature under the version prefix.
    paths = set(json.loads(openapi_json(app))["paths"])
    assert {"/", f"{API_V1}/health", f"{API_V1}/health/ready", f"{API_V1}/health/ready/details"} <= paths
    assert {path for path in paths if path != "/" and not path.startswith(f"{API_V1}/")} == set()
    for path in paths:
        assert invoke(request("GET", path, signed=True))["statusCode"] == 200, path


def test_the_openapi_document_names_the_api() -> None:
    assert json.loads(openapi_json(app))["info"] == {
        "title": "PetSage API",
        "version": "1.0.0",
        "description": "The official API for the PetSage Pet Care Companion.",
    }


def test_the_committed_openapi_document_and_the_readmes_routes_are_the_served_ones() -> None:
    from scripts.generate_openapi import routes_table

    document = json.loads(openapi_json(app))
    committed = json.loads((REPO_ROOT / "openapi.json").read_text(encoding="utf-8"))
    assert committed == document, "openapi.json is stale: run `make openapi` and commit it"
    assert routes_table(document) in (REPO_ROOT / "README.md").read_text(encoding="utf-8"), "run `make openapi`"


@pytest.mark.parametrize("name", sorted(path.stem for path in EVENTS_DIR.glob("*.json")))
def test_every_committed_example_event_is_answered_as_its_route_documents(invoke: Invoke, name: str) -> None:
    # `sam local invoke -e events/<name>.json`: a request gets a status its route documents,
    # anything else (a schedule, a hook's trigger) the liveness object.
    event = load_event(name)
    answer = invoke(event)
    if "requestContext" not in event:
        assert answer == LIVENESS
        return
    path = event["rawPath"]
    method = event["requestContext"]["http"]["method"].lower()
    documented = json.loads(openapi_json(app))["paths"][path][method]["responses"]
    assert str(answer["statusCode"]) in documented
