"""Every file in events/ gives the answer docs/local-development.md documents for it (and none is left undocumented)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import EVENTS_DIR, REPO_ROOT, load_event
from tests.contract import LIVENESS
from tests.event_answers import DIRECT_EVENTS, EXPECTED_STATUS

Invoke = Callable[[Any], Any]
# event file -> what its body (or, for direct events, the whole answer) must be
BODY_IS_RIGHT: dict[str, Callable[[Any], bool]] = {
    "health": lambda r: json.loads(r["body"]) == LIVENESS,
    "health-head": lambda r: r["body"] == "",
    "ready": lambda r: json.loads(r["body"])["status"] == "pass" and "checks" not in json.loads(r["body"]),
    "ready-head": lambda r: r["body"] == "",
    "ready-details": lambda r: json.loads(r["body"])["checks"] == {},
    "ready-details-head": lambda r: r["body"] == "",
    "root": lambda r: json.loads(r["body"])["message"].endswith("/docs"),
    "root-head": lambda r: r["body"] == "",
    "docs": lambda r: r["headers"]["Content-Encoding"] == "gzip",
    "docs-head": lambda r: r["body"] == "",
    "openapi": lambda r: json.loads(r["body"])["info"]["title"] == "PetSage API",
    "openapi-head": lambda r: r["body"] == "",
    "not-found": lambda r: json.loads(r["body"]) == {"statusCode": 404, "message": "Not Found"},
    "malformed-http": lambda r: "requestContext.http: Field required" in r["body"],
    "direct-invoke": lambda r: r == LIVENESS,
    "scheduled": lambda r: r == LIVENESS,
    "codedeploy-pre-traffic": lambda r: r == LIVENESS,
}


def test_every_event_file_is_documented_here_and_in_the_docs() -> None:
    files = {path.stem for path in EVENTS_DIR.glob("*.json")}
    assert files == set(EXPECTED_STATUS) | DIRECT_EVENTS == set(BODY_IS_RIGHT)
    table = (
        (REPO_ROOT / "docs" / "local-development.md").read_text(encoding="utf-8").split("## The committed events")[1]
    )
    assert {name for name in files if f"events/{name}.json" not in table} == set()


@pytest.mark.parametrize("name", sorted(BODY_IS_RIGHT))
def test_event_gives_its_documented_answer(invoke: Invoke, name: str) -> None:
    response = invoke(load_event(name))
    if name not in DIRECT_EVENTS:
        assert response["statusCode"] == EXPECTED_STATUS[name]
    assert BODY_IS_RIGHT[name](response)
