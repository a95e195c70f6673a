"""The local HTTP API: template routes in front of the in-process function."""

from __future__ import annotations

import argparse
import io
import logging
import re
import signal
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_api.events import LOCAL_IAM_IDENTITY, HttpReply, build_event, gateway_error, to_reply
from local_api.lambda_runtime import LocalFunction
from local_api.template import http_api_routes, load_template, matching_route

log = logging.getLogger("local_api")

# API Gateway's HTTP API caps request payloads at 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
# ASCII digits only: str.isdigit() also accepts "²", which int() then rejects.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")


class LocalHttpApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        routes = http_api_routes(load_template())
        specs = {spec.logical_id: spec for spec in routes.values()}
        functions = {logical_id: LocalFunction(spec) for logical_id, spec in specs.items()}
        self.routes = {route: functions[spec.logical_id] for route, spec in routes.items()}
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is routine, not a traceback on the console.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("Client %s disconnected: %s", client_address, error)
        else:
            log.exception("Error while serving %s", client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class RequestHandler(BaseHTTPRequestHandler):
    server: LocalHttpApi
    server_version = "PetSageLocalApi"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches on do_<METHOD>; API Gateway answers any verb, so do we.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started = time.perf_counter()
        reply, matched = self._reply()
        elapsed_ms = (time.perf_counter() - started) * 1000
        # The path is caller text: escape sequences and other control characters are shown, not played.
        path = self.path if self.path.isprintable() else ascii(self.path)
        # Logged before the reply is written, so a client that has its answer can rely on the line.
        log.info("%s %s -> %d in %.1f ms (%s)", self.command, path, reply.status, elapsed_ms, matched)
        self._send(reply)

    def _reply(self) -> tuple[HttpReply, str]:
        """The reply, and which route answered it (or why the gateway did)."""
        lengths = set(self.headers.get_all("Content-Length") or ["0"])
        length = lengths.pop() if len(lengths) == 1 else ""
        if "Transfer-Encoding" in self.headers or not _CONTENT_LENGTH.fullmatch(length):
            # The body's end is unknown (none of our routes takes a chunked body), so the
            # connection closes: unread bytes must never be parsed as the next request.
            self.close_connection = True
            return gateway_error(400, "Bad Request"), "gateway 400: body length unknown"
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            return gateway_error(413, "Request Entity Too Large"), "gateway 413: body over 10 MB"
        body = self.rfile.read(int(length)) if int(length) else b""
        route = matching_route(self.server.routes, self.command, self.path.partition("?")[0])
        if route is None:
            return gateway_error(404, "Not Found"), "no route: gateway 404"
        function = self.server.routes[route]
        iam_identity = None
        if route.authorizer == "AWS_IAM":
            # API Gateway refuses an unsigned request itself; locally any Authorization header
            # passes (the signature is not verified) and the local identity is handed on.
            if "Authorization" not in self.headers:
                return gateway_error(403, "Forbidden"), f"route {route}, unsigned: gateway 403"
            iam_identity = LOCAL_IAM_IDENTITY
        event = build_event(
            method=self.command,
            target=self.path,
            headers=self.headers.items(),
            body=body,
            source_ip=self.client_address[0],
            route_key=str(route),
            iam_identity=iam_identity,
        )
        try:
            return to_reply(function.invoke(event)), f"route {route}"
        except Exception:
            log.exception("The function raised; API Gateway answers 500")
            return gateway_error(500, "Internal Server Error"), f"route {route}; the function raised: gateway 500"

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            # http.server would answer a bare body; API Gateway speaks HTTP/1.1 and HTTP/2 only.
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, oversized or too many headers, a bad
        version) as API Gateway's JSON, with the standard phrase: http.server's messages
        quote the request line, which is caller text and would break the JSON."""
        del message, explain
        # The request line may have failed before its version was read, and http.server
        # writes no status line or headers for "HTTP/0.9".
        self.request_version = self.protocol_version
        self.close_connection = True
        status = HTTPStatus(code)
        self._send(gateway_error(status.value, status.phrase))
        log.info("%r -> %d (no route: http.server rejected the request: %s)", self.requestline[:200], status.value,
                 status.phrase)  # fmt: skip

    def _send(self, reply: HttpReply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        # One line per request is written by _serve; keep http.server's own errors, quietly.
        log.debug(format, *args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the SAM template's HTTP API locally, without Docker.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=3000, help="port to listen on; 0 picks a free one")
    args = parser.parse_args(argv)
    # Two streams, as on Lambda: stdout is the function's log stream (its JSON log lines and EMF
    # metrics, what CloudWatch shows), a line at a time; stderr is this server's own lines.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    line_format = "%(asctime)s.%(msecs)03d local_api %(message)s"
    logging.basicConfig(level=logging.INFO, format=line_format, datefmt="%H:%M:%S", stream=sys.stderr)

    server = LocalHttpApi((args.host, args.port))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    print(f"PetSage local API serving at {server.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    for route, function in server.routes.items():
        signed = " (IAM: any Authorization header passes locally)" if route.authorizer else ""
        print(f"  {route} -> {function.spec.logical_id}{signed}", file=sys.stderr, flush=True)
    print("The function's log lines (JSON) go to stdout; this server's lines to stderr.", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("PetSage local API stopped", file=sys.stderr, flush=True)
    return 0
