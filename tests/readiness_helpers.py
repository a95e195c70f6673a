"""What the readiness tests share: a probe as the tests configure it, its answer as the route gives it,
the draft's schema, stand-ins for the SDK checks, and loopback servers to check against (a downstream
health endpoint, and a port that never answers)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema_rs
import pytest

from petsage_api.health import checks
from petsage_api.health.checks import Clients
from petsage_api.health.config import ReadinessConfig
from petsage_api.health.models import CheckStatus
from petsage_api.health.readiness import ReadinessProbe
from tests.conftest import REPO_ROOT, create_resources, request

Invoke = Callable[[Any], Any]

# The IETF health-check draft's response format, as JSON Schema: every readiness answer validates.
DRAFT_SCHEMA = jsonschema_rs.validator_for(
    json.loads((REPO_ROOT / "tests" / "schemas" / "health-check-draft.json").read_text(encoding="utf-8"))
)


# --- a probe, and its answer through the route ------------------------------------------------------


def probe(**environ: str) -> ReadinessProbe:
    """A probe configured by `environ` alone, as the function's own; no cache unless `environ` sets one."""
    return ReadinessProbe(ReadinessConfig.from_environment({"HEALTH_CACHE_TTL_SECONDS": "0", **environ}))


def use_probe(monkeypatch: pytest.MonkeyPatch, readiness_probe: ReadinessProbe) -> None:
    """The health routes answer with `readiness_probe` for the rest of the test, as if the execution
    environment had started with its configuration."""
    monkeypatch.setattr("petsage_api.health.router.probe", readiness_probe)


def details(invoke: Invoke) -> tuple[int, dict[str, Any]]:
    """The status code and document of a signed request for every check."""
    response = invoke(request("GET", "/api/v1/health/ready/details", signed=True))
    return response["statusCode"], json.loads(response["body"])


def statuses(body: dict[str, Any]) -> dict[str, str]:
    """Each check's status, by its key."""
    return {key: entries[0]["status"] for key, entries in body["checks"].items()}


# --- dependencies in moto: healthy ones, and a failing one of each kind ------------------------------

# Names that appear nowhere in the service's own words ("pets" is inside "petsage-api" and "petsage-health-dev").
HEALTHY_TABLE, HEALTHY_BUCKET, HEALTHY_PARAMETER = "kennels", "pawprint-assets", "/kennel/flag"
HEALTHY = {
    "HEALTH_DYNAMODB_TABLES": HEALTHY_TABLE,
    "HEALTH_S3_BUCKETS": HEALTHY_BUCKET,
    "HEALTH_SSM_PARAMETERS": HEALTHY_PARAMETER,
}
# (variable, a value that fails, its key)
FAILING = {
    "dynamodb": ("HEALTH_DYNAMODB_TABLES", "vanished", "dynamodb/vanished"),
    "s3": ("HEALTH_S3_BUCKETS", "vanished-bucket", "s3/vanished-bucket"),
    "ssm": ("HEALTH_SSM_PARAMETERS", "/petsage/vanished", "ssm//petsage/vanished"),
}


def create_healthy_resources() -> None:
    """HEALTHY's table, bucket and parameter, in moto (inside `mock_aws`)."""
    create_resources(HEALTHY_TABLE, HEALTHY_BUCKET, HEALTHY_PARAMETER)


# --- the SDK checks, stood in for ---------------------------------------------------------------------


def stand_in(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str], CheckStatus]) -> None:
    """Every SDK check answers through `answer(name)`: the orchestration around it is real."""
    probes = dict.fromkeys(checks.PROBES, lambda client, name: answer(name))
    monkeypatch.setattr(checks, "PROBES", probes)
    monkeypatch.setattr(Clients, "get", lambda self, service: None)


# --- a downstream service on loopback ----------------------------------------------------------------


@dataclass
class Downstream:
    """A health endpoint per behaviour, recording what each request carried."""

    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    unfinished_writes: list[str] = field(default_factory=list)  # the client hung up mid-body

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


class _Handler(BaseHTTPRequestHandler):
    """/health answers a health document (with a cookie for the client to ignore); /broken 500;
    /moved redirects to /health; /status/NNN answers NNN; /hang never answers; /drip sends its body a
    byte every 20 ms; /huge sends 64 MiB; anything else answers 200 with an empty body."""

    downstream: Downstream
    stopped: threading.Event  # set when the server stops: /hang and /drip end then

    def do_GET(self) -> None:
        self.downstream.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/health":
            self._answer(200, b'{"status":"pass"}')
        elif self.path == "/broken":
            self._answer(500, b'{"status":"fail"}')
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/health")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/hang":
            self.stopped.wait(10)  # never answers within any check's deadline
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                if self.stopped.wait(0.02):
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(64 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(64 * 1024):
                    self.wfile.write(b"x" * 1024)
                    self.wfile.flush()
                    if self.stopped.wait(0.001):  # in 1 KiB pieces: the check reads what has come, piece by piece
                        return
            except OSError:
                self.downstream.unfinished_writes.append(self.path)
        else:
            status = int(self.path.removeprefix("/status/")) if self.path.startswith("/status/") else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/health+json")
        self.send_header("Set-Cookie", "session=from-downstream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the tests read `requests`."""


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Downstream]:
    """A downstream service on a free loopback port: http on 127.0.0.1, or https on localhost with `tls`."""
    stopped = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme, host = ("https", "localhost") if tls else ("http", "127.0.0.1")
    downstream = Downstream(f"{scheme}://{host}:{server.server_address[1]}")
    server.RequestHandlerClass = type("Handler", (_Handler,), {"downstream": downstream, "stopped": stopped})
    # A short poll: shutdown() waits for the loop to notice, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield downstream
    finally:
        stopped.set()
        server.shutdown()
        server.server_close()


# --- a port that never answers -------------------------------------------------------------------------


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts every connection and never says a word (no HTTP, no TLS handshake)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()
