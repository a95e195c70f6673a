"""Every route the resolver serves is everywhere a route must be, and nowhere else (docs/adding-a-route.md).

A route added to a router but forgotten in template.yaml would answer in `make run` and the unit
tests, then 404 behind API Gateway (an HttpApi forwards only the routes it declares); one
without an events/ file has no `make invoke` or pre-deploy check; one missing from openapi.json
is undocumented. This test names the place that was forgotten.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from local_api.template import http_api_routes, load_template
from petsage_api.app import app
from tests.conftest import EVENTS_DIR, REPO_ROOT


def resolver_routes() -> dict[str, bool]:
    """GET path -> whether the OpenAPI document lists it, for every route the resolver registers."""
    routes = app._static_routes + app._dynamic_routes  # Powertools keeps no public list of them
    assert {route.method for route in routes} == {"GET"}, "the handler answers HEAD for every GET route"
    return {route.path: route.include_in_schema for route in routes}


def template_routes() -> set[str]:
    return {f"{route.method} {route.path}" for route in http_api_routes(load_template())}


def event_routes() -> set[str]:
    keys = set()
    for path in EVENTS_DIR.glob("*.json"):
        event = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(event, dict) and event.get("version") == "2.0" and path.stem != "not-found":
            keys.add(event["routeKey"])
    return keys


def expected(methods: tuple[str, ...] = ("GET", "HEAD")) -> set[str]:
    return {f"{method} {path}" for path in resolver_routes() for method in methods}


def test_every_route_is_declared_in_the_template_and_nothing_else_is() -> None:
    assert template_routes() == expected()


def test_every_route_has_an_event_file_per_method() -> None:
    # events/<name>.json and events/<name>-head.json: make invoke, sam local invoke, the unit tests.
    assert event_routes() == expected()


def test_every_documented_route_is_in_the_committed_openapi_document() -> None:
    document = json.loads(Path(REPO_ROOT / "openapi.json").read_text(encoding="utf-8"))
    documented = {path for path, in_schema in resolver_routes().items() if in_schema}
    assert set(document["paths"]) == documented
    assert all(set(operations) == {"get"} for operations in document["paths"].values())


def test_every_route_is_in_the_readmes_contract_table() -> None:
    contract = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("## The contract")[1].split("\n## ")[0]
    documented = set(re.findall(r"^\| GET \| `([^`]+)` \|", contract, flags=re.MULTILINE))
    assert documented == set(resolver_routes())
