"""Finishing a proxy response, whoever built it: standard headers, content coding, HEAD.

Powertools' middlewares never see responses made by exception handlers (404, 422, 500),
and some responses are made before the resolver runs at all, so the headers are set on
the finished proxy response instead.
"""

from __future__ import annotations

import base64
import gzip
import re
from functools import lru_cache
from typing import Any

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A cached "ok" is a lie: health answers must be fresh, and errors must not stick.
    "Cache-Control": "no-store",
}


def with_standard_headers(response: dict[str, Any]) -> dict[str, Any]:
    """Add the security and caching headers to a payload 2.0 proxy response."""
    headers = response.setdefault("headers", {})
    present = {name.lower() for name in headers}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers[name] = value
    return response


def negotiate_encoding(response: dict[str, Any], accept_encoding: str | None) -> dict[str, Any]:
    """Gzip a body whose route declared `Vary: Accept-Encoding`, when the caller accepts gzip.

    Those bodies are the documents (Swagger UI is ~1.7 MB): each is compressed once and its
    encoded form served from memory afterwards. Powertools' `compress=True` would compress
    again on every request, and its check for gzip is a substring test ("gzip;q=0" passes).
    """
    headers = response.get("headers") or {}
    vary = next((value for name, value in headers.items() if name.lower() == "vary"), "")
    body = response.get("body")
    if "accept-encoding" not in vary.lower() or not isinstance(body, str) or response.get("isBase64Encoded"):
        return response
    if accepts_gzip(accept_encoding):
        response["body"] = _gzipped_base64(body)
        response["isBase64Encoded"] = True
        headers["Content-Encoding"] = "gzip"
    return response


@lru_cache(maxsize=4)  # the OpenAPI document and the Swagger UI page; they never change while warm
def _gzipped_base64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


_CODING = re.compile(r"\s*([A-Za-z*-]+)\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*")


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110, 12.5.3): "gzip;q=0" refuses it."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        match = _CODING.fullmatch(item)
        if match:
            try:
                weights[match[1].lower()] = float(match[2]) if match[2] else 1.0
            except ValueError:
                continue
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0


def without_body(response: dict[str, Any]) -> dict[str, Any]:
    """HEAD: the GET response's status and headers, no body."""
    response["body"] = ""
    response["isBase64Encoded"] = False
    return response
