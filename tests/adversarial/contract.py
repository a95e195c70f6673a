"""What every answer of the function must look like, whatever it was sent.

Paths come from the function itself (its OpenAPI document and documentation routes), so a new
route is fuzzed without touching this suite.
"""

from __future__ import annotations

import binascii
import gzip
import json
import os
import re
from typing import Any

from petsage_api.app import app
from petsage_api.docs import DOCS_PATH, OPENAPI_PATH, openapi_json
from tests.conftest import body_bytes

ROUTE_PATHS: list[str] = sorted({*json.loads(openapi_json(app))["paths"], DOCS_PATH, OPENAPI_PATH})
# The one designed 5xx: readiness answers 503 when a dependency fails (application/health+json).
READINESS_PATH = "/api/v1/health/ready"
DESIGNED_5XX = {READINESS_PATH: {503}}

# An environment value planted for the suite: no response may ever carry it.
CANARY_ENV = {
    "PETSAGE_FUZZ_CANARY": "canary-7f3a9c2e-do-not-echo",
    "AWS_SECRET_ACCESS_KEY": "canarySecretKey0123456789",
}

_LEAKS = [
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b"),  # KeyError, ValidationError, ...
    re.compile(r"(?:/[\w.@+-]+)+\.py\b"),  # a source file path
    re.compile(r"site-packages|dist-packages|/var/task|/opt/python"),
]


def routed_path(event: Any) -> str:
    """The path the resolver routes on: rawPath without a named stage's prefix."""
    raw = event.get("rawPath") if isinstance(event, dict) else None
    context = event.get("requestContext") if isinstance(event, dict) else None
    stage = context.get("stage") if isinstance(context, dict) else None
    if not isinstance(raw, str):
        return ""
    return raw[len("/" + stage) :] if isinstance(stage, str) and stage != "$default" else raw


def designed_5xx(path: str) -> set[int]:
    """The 5xx statuses a route is designed to answer, matched the way the resolver matches routes."""
    return next((statuses for rule, statuses in DESIGNED_5XX.items() if re.match(f"^{rule}$", path)), set())


def decoded_body(response: dict[str, Any]) -> bytes:
    """The body as a client reads it: as sent, then gunzipped when its Content-Encoding is gzip."""
    raw = body_bytes(response)
    if {k.lower(): v for k, v in response["headers"].items()}.get("content-encoding") == "gzip":
        return gzip.decompress(raw)
    return raw


def leaks(text: str) -> list[str]:
    """Internals an answer must never show: tracebacks, exception names, paths, environment values."""
    found = [match.group(0) for pattern in _LEAKS for match in [pattern.search(text)] if match]
    secrets = {**CANARY_ENV, **{k: v for k, v in os.environ.items() if len(v) >= 16}}
    found += [f"${name}" for name, value in secrets.items() if value in text]
    return found


def assert_proxy_response(response: Any, path: str, trusted_bodies: set[bytes]) -> None:
    """A well-formed payload 2.0 proxy response that gives nothing away.

    `trusted_bodies` are the answers to plain GETs of every route (the OpenAPI document and the
    Swagger UI bundle name error classes by design); any other body is scanned for leaks.
    """
    assert isinstance(response, dict), response
    status = response["statusCode"]
    assert type(status) is int
    assert 200 <= status <= 599
    headers = response["headers"]
    assert isinstance(headers, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()), headers
    assert all("\r" not in k + v and "\n" not in k + v for k, v in headers.items()), headers
    assert isinstance(response["body"], str)
    assert isinstance(response.get("isBase64Encoded", False), bool)
    assert all(isinstance(cookie, str) for cookie in response.get("cookies", [])), response
    if status >= 500:
        assert status in designed_5xx(path), f"{status} for {path!r}: {response['body'][:300]!r}"
    try:
        body = decoded_body(response)
    except (binascii.Error, OSError, EOFError) as error:
        raise AssertionError(f"undecodable body: {error}") from error
    if body not in trusted_bodies:
        text = body.decode("utf-8", errors="replace") + "\n".join(f"{k}: {v}" for k, v in headers.items())
        assert not leaks(text), (leaks(text), text[:500])
