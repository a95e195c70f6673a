"""What the new version must answer to each committed event before it may take traffic.

The same contract as the events table (docs/local-development.md): the hook sends the repository's own `events/` files,
copied into the artifact by the build, so the gate and the tests can never disagree on the events.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pre_traffic_hook.settings import ConfigurationError
from pre_traffic_hook.target import excerpt_of

LIVENESS = {"status": "ok", "message": "PetSage API is purring!"}
# Header name (lower case) -> (what its value must hold, how to read the value)
STANDARD_HEADERS: dict[str, tuple[str, Callable[[str], set[str]]]] = {
    "content-type": ("application/json", lambda value: {value.split(";")[0].strip().lower()}),
    "x-content-type-options": ("nosniff", lambda value: {value.strip().lower()}),
    "cache-control": ("no-store", lambda value: {part.strip().lower() for part in value.split(",")}),
}

Expectation = Callable[[Any], list[str]]


@dataclass(frozen=True)
class Check:
    name: str
    event: str  # the file events/<event>.json
    expect: Expectation  # the problems with an answer; none means it passed
    gating: bool = True  # whether a failure fails the deploy


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP API (payload 2.0) proxy response, with header names lower-cased."""

    status: int
    headers: dict[str, str]
    body: str

    @classmethod
    def parse(cls, payload: Any) -> HttpAnswer | None:
        if not isinstance(payload, dict) or type(payload.get("statusCode")) is not int:
            return None
        headers = payload.get("headers") or {}
        body = payload.get("body") or ""
        if not isinstance(headers, dict) or not isinstance(body, str):
            return None
        if payload.get("isBase64Encoded") is True:
            try:
                body = base64.b64decode(body, validate=True).decode("utf-8", errors="replace")
            except (binascii.Error, ValueError):
                return None
        return cls(payload["statusCode"], {str(name).lower(): str(value) for name, value in headers.items()}, body)


def checks(*, gate_on_readiness: bool) -> tuple[Check, ...]:
    """Every check, in order; readiness last, so a check that may not gate never spends the others' time."""
    return (
        Check("liveness", "health", _liveness_get),
        Check("liveness HEAD", "health-head", _empty_ok),
        Check("direct invoke", "direct-invoke", _liveness_object),
        Check("root", "root", _ok),
        Check("openapi document", "openapi", _ok),
        # A dependency outage must not block a deploy, which may be its fix: gates only when asked to.
        Check("readiness", "ready", _ok, gating=gate_on_readiness),
    )


def load_events(events_dir: Path, wanted: tuple[Check, ...]) -> dict[str, Any]:
    """The committed events the checks send; a missing or broken file is a build problem, not a pass."""
    events = {}
    for check in wanted:
        path = events_dir / f"{check.event}.json"
        try:
            events[check.event] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the event file {path.name}: {type(exc).__name__}") from exc
    return events


def answer_fields(payload: Any) -> dict[str, Any]:
    """What came back, for the log: the status code and the start of the body (or of the whole answer)."""
    answer = HttpAnswer.parse(payload)
    if answer is None:
        return {"body_excerpt": excerpt_of(json.dumps(payload))}
    return {"status_code": answer.status, "body_excerpt": excerpt_of(answer.body)}


def _ok(payload: Any) -> list[str]:
    answer = HttpAnswer.parse(payload)
    if answer is None:
        return ["the answer is not an HTTP API response"]
    return [] if answer.status == 200 else [f"status {answer.status}, expected 200"]


def _liveness_get(payload: Any) -> list[str]:
    problems = _ok(payload)
    answer = HttpAnswer.parse(payload)
    if answer is None:
        return problems
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if body != LIVENESS:
        problems.append("the body is not the liveness object")
    return problems + _standard_header_problems(answer.headers)


def _empty_ok(payload: Any) -> list[str]:
    problems = _ok(payload)
    answer = HttpAnswer.parse(payload)
    if answer is not None and answer.body:
        problems.append(f"the body is not empty ({len(answer.body)} characters)")
    return problems


def _liveness_object(payload: Any) -> list[str]:
    return [] if payload == LIVENESS else ["the answer is not the liveness object"]


def _standard_header_problems(headers: Mapping[str, str]) -> list[str]:
    problems = []
    for name, (expected, read) in STANDARD_HEADERS.items():
        value = headers.get(name)
        if value is None:
            problems.append(f"header {name} is missing")
        elif expected not in read(value):
            problems.append(f"header {name} is {excerpt_of(value)!r}, expected {expected}")
    return problems
