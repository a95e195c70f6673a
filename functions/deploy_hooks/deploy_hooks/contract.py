"""What a new version of the PetSage API must answer, before and after it takes traffic.

Both hooks check the same answers: `pre_traffic` gets them by invoking the new version directly,
`post_traffic` through the public API URL (API Gateway, `live`, the new version). A check fails on
what the version does, never on what a dependency does: readiness may say `fail` with a 503 while
a table is down, but it must say so in a well-formed application/health+json document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# The exact bytes of the liveness answer: a reworded message or an extra field is a failure.
LIVENESS_BODY = '{"status":"ok","message":"PetSage API is purring!"}'
LIVENESS = json.loads(LIVENESS_BODY)
HEALTH_JSON = "application/health+json"
READY_STATUS = {"pass": 200, "warn": 200, "fail": 503}  # the draft's status -> the code it calls for
STANDARD_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-store"}
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, header names lower-cased, the body decoded."""

    status: int
    headers: Mapping[str, str]
    body: str

    @property
    def log_fields(self) -> dict[str, Any]:
        return {"status_code": self.status, "body_excerpt": excerpt(self.body)}


@dataclass(frozen=True)
class Check:
    name: str
    method: str
    path: str
    expect: Callable[[Answer], list[str]]  # the problems with an answer; none means it passed
    signed: bool = False  # an IAM-authorized route: the request is SigV4-signed


def excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _media_type(answer: Answer) -> str:
    return answer.headers.get("content-type", "").split(";")[0].strip().lower()


def _standard_headers(answer: Answer) -> list[str]:
    problems = []
    for name, expected in STANDARD_HEADERS.items():
        values = {part.strip().lower() for part in answer.headers.get(name, "").split(",")}
        if expected not in values:
            problems.append(f"header {name} is {answer.headers.get(name)!r}, expected {expected}")
    return problems


def _status(answer: Answer, expected: int) -> list[str]:
    return [] if answer.status == expected else [f"status {answer.status}, expected {expected}"]


def liveness(answer: Answer) -> list[str]:
    problems = _status(answer, 200) + _standard_headers(answer)
    if _media_type(answer) != "application/json":
        problems.append(f"Content-Type is {answer.headers.get('content-type')!r}, expected application/json")
    if answer.body != LIVENESS_BODY:
        problems.append("the body is not the liveness answer")
    return problems


def empty_ok(answer: Answer) -> list[str]:
    """HEAD: the GET's status and headers, no body."""
    problems = _status(answer, 200) + _standard_headers(answer)
    if answer.body:
        problems.append(f"the body is not empty ({len(answer.body)} characters)")
    return problems


def json_ok(answer: Answer) -> list[str]:
    problems = _status(answer, 200) + _standard_headers(answer)
    try:
        json.loads(answer.body)
    except ValueError:
        problems.append("the body is not JSON")
    return problems


def health_document(*, with_checks: bool) -> Callable[[Answer], list[str]]:
    """Readiness: application/health+json whose status is pass, warn or fail, with the code that status
    calls for (200, or 503 for fail): a dependency may be down, the answer may not be malformed."""

    def expect(answer: Answer) -> list[str]:
        problems = _standard_headers(answer)
        if _media_type(answer) != HEALTH_JSON:
            problems.append(f"Content-Type is {answer.headers.get('content-type')!r}, expected {HEALTH_JSON}")
        try:
            document = json.loads(answer.body)
        except ValueError:
            document = None
        status = document.get("status") if isinstance(document, dict) else None
        if not isinstance(document, dict) or status not in READY_STATUS:
            return [*problems, "the body is not a health document with a status of pass, warn or fail"]
        if answer.status != READY_STATUS[status]:
            problems.append(f"status {answer.status} for a readiness of {status}, expected {READY_STATUS[status]}")
        if with_checks != isinstance(document.get("checks"), dict):
            problems.append("the checks are missing" if with_checks else "the public answer names its checks")
        return problems

    return expect


CHECKS = (
    Check("liveness", "GET", "/api/v1/health", liveness),
    Check("liveness HEAD", "HEAD", "/api/v1/health", empty_ok),
    Check("readiness", "GET", "/api/v1/health/ready", health_document(with_checks=False)),
    Check("readiness details", "GET", "/api/v1/health/ready/details", health_document(with_checks=True), signed=True),
    Check("root", "GET", "/", json_ok),
    Check("openapi document", "GET", "/openapi.json", json_ok),
)
