"""The local API answers junk on the wire the way API Gateway does: JSON, never http.server's page.

Each request goes over its own raw loopback socket, so malformed request lines, oversized
headers and lying Content-Lengths reach the server exactly as written.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial.contract import ROUTE_PATHS
from tests.integration.conftest import LocalApi, start_local_api, stop_local_api

pytestmark = pytest.mark.integration


@dataclass
class RawReply:
    status_line: bytes
    headers: dict[str, str]
    body: bytes
    rest: bytes  # anything after the first reply (there must be nothing for a closed connection)


def exchange(api: LocalApi, data: bytes) -> bytes:
    """Send bytes, half-close, read until the server closes (bounded by a timeout)."""
    with socket.create_connection((api.host, api.port), timeout=10) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse_first(raw: bytes) -> RawReply:
    head, separator, after = raw.partition(b"\r\n\r\n")
    assert separator, f"no complete HTTP reply: {raw[:300]!r}"
    status_line, *header_lines = head.split(b"\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return RawReply(status_line, headers, after[:length], after[length:])


def assert_gateway_json_error(reply: RawReply, status: int) -> None:
    assert reply.status_line.startswith(f"HTTP/1.1 {status} ".encode()), reply.status_line
    assert reply.headers["content-type"] == "application/json"
    assert set(json.loads(reply.body)) == {"message"}
    assert b"<" not in reply.body


HUGE = b"a" * 70_000


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b'GET / HTTP/1."\r\n\r\n', 400, id="quote in the version"),
        pytest.param(b"GET / HTTP/\x001\r\n\r\n", 400, id="NUL in the version"),
        pytest.param(b"GET / x HTTP/1.1\r\n\r\n", 400, id="four words"),
        pytest.param(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400, id="TLS hello on plain HTTP"),
        pytest.param(b"GET /\r\n\r\n", 400, id="HTTP/0.9 GET"),
        pytest.param(b"POST /\r\n\r\n", 400, id="HTTP/0.9 POST"),
        pytest.param(b"GET / HTTP/2.0\r\n\r\n", 505, id="HTTP/2 upgrade-less"),
        pytest.param(b"GET /" + HUGE + b" HTTP/1.1\r\n\r\n", 414, id="huge request line"),
        pytest.param(b"GET / HTTP/1.1\r\nX-Big: " + HUGE + b"\r\n\r\n", 431, id="huge header"),
        pytest.param(b"GET / HTTP/1.1\r\n" + b"X-N: 1\r\n" * 150 + b"\r\n", 431, id="too many headers"),
        pytest.param(b"GET /api/v1/health HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400, id="superscript-two length"),
        pytest.param(b"GET /api/v1/health HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, id="negative length"),
        pytest.param(
            b"GET /api/v1/health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, id="two lengths"
        ),
    ],
)
def test_malformed_requests_get_a_json_error_and_a_closed_connection(
    local_api: LocalApi, request_bytes: bytes, status: int
) -> None:
    reply = parse_first(exchange(local_api, request_bytes))
    assert_gateway_json_error(reply, status)
    assert reply.headers["connection"] == "close"
    assert reply.rest == b""
    assert b"HTTP/" not in reply.body, "the request line is caller text and is never echoed"


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /api/v1/health HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", id="413"),
        pytest.param(
            b"GET /api/v1/health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", id="TE"
        ),
    ],
)
def test_an_unread_body_is_never_parsed_as_the_next_request(local_api: LocalApi, request_bytes: bytes) -> None:
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = parse_first(exchange(local_api, request_bytes + smuggled))
    assert reply.status_line.split(b" ")[1] in {b"400", b"413"}
    assert reply.headers["connection"] == "close"
    assert reply.rest == b"", "a second reply means the body was read as a request"


@pytest.mark.parametrize(
    "method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "BREW"]
)
@pytest.mark.parametrize("path", ROUTE_PATHS)
def test_every_unrouted_method_on_every_route_is_the_functions_json_404(
    local_api: LocalApi, method: str, path: str
) -> None:
    reply = parse_first(
        exchange(local_api, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    )
    if path == "/api/v1/health/ready/details":  # any method of the IAM route: unsigned, API Gateway's 403
        assert_gateway_json_error(reply, 403)
    else:
        assert reply.status_line.startswith(b"HTTP/1.1 404 ")
        assert json.loads(reply.body) == {"statusCode": 404, "message": "Not Found"}


_tokens = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40)


@settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.one_of(st.sampled_from(["GET", "HEAD", "TRACE", "PROPFIND", ""]), _tokens),
    target=st.one_of(st.sampled_from([*ROUTE_PATHS, "*", "//", "http://127.0.0.1/", "/%00"]), _tokens),
    version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/1.1 extra", "HTTP/9.9", "", "http/1.1"]),
    header_lines=st.lists(_tokens, max_size=5),
)
def test_any_request_line_gets_an_http_reply_with_a_json_body(
    local_api: LocalApi, method: str, target: str, version: str, header_lines: list[str]
) -> None:
    request = " ".join(part for part in (method, target, version) if part) + "\r\n"
    request += "".join(f"{line}\r\n" for line in ["Connection: close", *header_lines]) + "\r\n"
    raw = exchange(local_api, request.encode("latin-1"))
    if not raw:
        # http.server closes silently only on an empty request line.
        assert not request.split("\r\n")[0].strip(), request
        return
    reply = parse_first(raw)
    assert reply.status_line.startswith(b"HTTP/1.1 "), raw[:200]
    if method.upper() != "HEAD" and reply.body:
        assert reply.headers["content-type"].startswith(("application/json", "text/html; charset=utf-8")), reply
        if reply.headers["content-type"].startswith("application/json"):
            json.loads(reply.body)


def test_the_server_survived_and_logged_no_traceback(local_api: LocalApi) -> None:
    assert local_api.request("GET", "/api/v1/health").status == 200
    assert "Traceback" not in local_api.stdout + local_api.stderr


def test_control_characters_in_a_path_are_logged_escaped_not_played() -> None:
    api = start_local_api()
    reply = parse_first(exchange(api, b"GET /\x1b[2J\x1b[31mfake\x07 HTTP/1.1\r\nConnection: close\r\n\r\n"))
    assert reply.status_line.startswith(b"HTTP/1.1 400 ")  # the function refuses a path no request line holds
    code, _, stderr = stop_local_api(api)
    assert code == 0
    assert "\x1b" not in stderr
    assert "\x07" not in stderr
    assert "\\x1b[2J" in stderr
