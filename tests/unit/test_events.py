"""Every file in events/ gives the answer the README documents for it (and none is left undocumented)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import EVENTS_DIR, REPO_ROOT, load_event

Invoke = Callable[[Any], Any]
LIVENESS = {"status": "ok", "message": "PetSage API is purring!"}

# event file -> (status code, or None for a plain direct-invoke answer; body check)
DOCUMENTED: dict[str, tuple[int | None, Callable[[Any], bool]]] = {
    "health": (200, lambda r: json.loads(r["body"]) == LIVENESS),
    "health-head": (200, lambda r: r["body"] == ""),
    "ready": (200, lambda r: json.loads(r["body"])["status"] == "pass"),
    "ready-head": (200, lambda r: r["body"] == ""),
    "root": (200, lambda r: json.loads(r["body"])["message"].endswith("/docs")),
    "root-head": (200, lambda r: r["body"] == ""),
    "docs": (200, lambda r: r["headers"]["Content-Encoding"] == "gzip"),
    "docs-head": (200, lambda r: r["body"] == ""),
    "openapi": (200, lambda r: json.loads(r["body"])["info"]["title"] == "PetSage API"),
    "openapi-head": (200, lambda r: r["body"] == ""),
    "not-found": (404, lambda r: json.loads(r["body"]) == {"statusCode": 404, "message": "Not Found"}),
    "malformed-http": (400, lambda r: "requestContext.http: Field required" in r["body"]),
    "direct-invoke": (None, lambda r: r == LIVENESS),
    "scheduled": (None, lambda r: r == LIVENESS),
}


def test_every_event_file_is_documented_here_and_in_the_readme() -> None:
    files = {path.stem for path in EVENTS_DIR.glob("*.json")}
    assert files == set(DOCUMENTED)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"events/{name}.json" in readme for name in files)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_event_gives_its_documented_answer(invoke: Invoke, name: str) -> None:
    status, body_is_right = DOCUMENTED[name]
    response = invoke(load_event(name))
    if status is not None:
        assert response["statusCode"] == status
    assert body_is_right(response)
