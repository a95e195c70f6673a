"""A loopback HTTP server for the fakes of AWS services the tests run code against: every request
answered by a function of the test's, on 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_api.events import HttpReply


class NeverAnswers(Exception):  # noqa: N818 - what the version does, not an error of the code
    """Raised by a version: the call that reached it gets no answer until the test ends."""


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # the path and query, as sent
    headers: Message
    body: bytes


class Loopback(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 answering every request with `answer`, until `close`."""

    daemon_threads = True

    def __init__(self, answer: Callable[[Request], HttpReply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.closing = threading.Event()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:{}".format(*self.server_address[1:2])

    def close(self) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that gave up on a version that never answers is the point of that test."""


class _Handler(BaseHTTPRequestHandler):
    server: Loopback
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method, as API Gateway takes any
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            reply = self.server.answer(Request(self.command, self.path, self.headers, body))
        except NeverAnswers:
            self.server.closing.wait()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the deployment records what the tests need."""


def json_error(status: int, code: str, message: str) -> HttpReply:
    """An AWS JSON error: the code in the body (JSON 1.1) and in X-Amzn-ErrorType (rest-json)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return HttpReply(status, [("Content-Type", "application/json"), ("X-Amzn-ErrorType", code)], body)
