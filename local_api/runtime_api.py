"""A function run as Lambda runs it: under AWS's runtime interface client, fed by a loopback Runtime API.

`sam local invoke` runs a function in Lambda's image, whose bootstrap is the runtime interface
client (`awslambdaric`) talking to the Runtime Interface Emulator. Without a container we do the
same on the host: `ExecutionEnvironment` starts `python -m awslambdaric <handler>` in the build
artifact with the environment Lambda gives it, and serves it the Runtime API on 127.0.0.1
(version 2018-06-01, AWS Lambda developer guide, "Using the Lambda runtime API for custom runtimes"):

    GET  /2018-06-01/runtime/invocation/next           the next event; blocks until there is one
    POST /2018-06-01/runtime/invocation/{id}/response  the function's answer
    POST /2018-06-01/runtime/invocation/{id}/error     its error document
    POST /2018-06-01/runtime/init/error                the init failed; the runtime exits after it

The process writes its stdout and stderr, the function's log, straight to a log stream, between
the START, END and REPORT lines Lambda adds; `make invoke` and the artifact tests use it.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import secrets
import subprocess  # the function runs as its own process, as on Lambda  # nosec B404
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TextIO

from local_api.template import PSEUDO_PARAMETERS, FunctionSpec

API = "/2018-06-01/runtime"
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit on the init phase of an on-demand environment
_ANSWER_PATH = re.compile(rf"{API}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)")


@dataclass(frozen=True)
class Invocation:
    """What one invocation returned, as Lambda's Invoke API returns it."""

    request_id: str
    payload: bytes  # the response, or the runtime's error document
    error_type: str | None  # None when the function answered
    init_duration_ms: float | None  # on the invocation that started its environment: a cold start

    @property
    def cold(self) -> bool:
        return self.init_duration_ms is not None

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass(frozen=True)
class _Post:
    """What the runtime told the Runtime API: `next` (ready for an event), `response`, `error` or `init/error`."""

    kind: str
    request_id: str = ""
    body: bytes = b""
    error_type: str | None = None


class _RuntimeApi(ThreadingHTTPServer):
    """The Runtime API of one execution environment: hands out `events`, reports to `posts`."""

    daemon_threads = True
    block_on_close = False  # a runtime blocked in /next must not hold up closing

    def __init__(self, function_arn: str) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.function_arn = function_arn
        self.events: queue.SimpleQueue[tuple[str, bytes, float] | None] = queue.SimpleQueue()  # id, event, deadline
        self.posts: queue.SimpleQueue[_Post] = queue.SimpleQueue()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A runtime killed mid-call (a timeout, the end of the environment) is routine, not a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close(self) -> None:
        self.events.put(None)  # releases a runtime waiting in /next
        self.shutdown()
        self.server_close()


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    server: _RuntimeApi
    protocol_version = "HTTP/1.1"  # the runtime client keeps one connection open across calls
    # Headers and body go out as two writes; with Nagle's algorithm the body would wait for
    # the client's delayed ACK (~40 ms) and land in every invocation's duration.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the name http.server uses
        """The runtime's calls are not the function's log."""

    def do_GET(self) -> None:
        if self.path != f"{API}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND)
            return
        self.server.posts.put(_Post("next"))
        handed_out = self.server.events.get()
        if handed_out is None:  # the environment is closing: its runtime is gone
            self.close_connection = True
            return
        request_id, event, deadline = handed_out
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(deadline * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0",
        }
        self._reply(HTTPStatus.OK, event, headers)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = _ANSWER_PATH.fullmatch(self.path)
        if answer is not None:
            kind, request_id = answer["kind"], answer["id"]
        elif self.path == f"{API}/init/error":
            kind, request_id = "init/error", ""
        else:
            self._reply(HTTPStatus.NOT_FOUND)
            return
        error_type = None
        if kind != "response":  # awslambdaric names an invocation error's type in the body only
            error_type = _error_type(body) or self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
        self.server.posts.put(_Post(kind, request_id, body, error_type))
        self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')

    def _reply(self, status: HTTPStatus, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _error_type(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document.get("errorType") if isinstance(document, dict) else None


@dataclass
class _Runtime:
    """A running runtime process and the Runtime API it talks to."""

    api: _RuntimeApi
    process: subprocess.Popen[bytes]

    def wait(self, kinds: set[str], timeout: float, request_id: str = "") -> _Post | None:
        """Its next post of one of these kinds; None when the process ends or the time is up."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                post = self.api.posts.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                if self.process.poll() is not None:
                    return None
                continue
            if post.kind in kinds and post.request_id == request_id:
                return post
        return None

    def failure(self, kind: str, request_id: str, timed_out: str) -> _Post:
        """What Lambda answers when the runtime gave no answer: it timed out, or it exited. Ends the runtime."""
        if self.process.poll() is None:
            error_type, reason = "Sandbox.Timedout", timed_out
        else:
            code = self.process.returncode
            error_type = "Runtime.ExitError"
            reason = f"Runtime exited with error: {f'signal: {-code}' if code < 0 else f'exit status {code}'}"
        self.stop()
        document = {"errorMessage": f"RequestId: {request_id} Error: {reason}", "errorType": error_type}
        return _Post(kind, request_id, json.dumps(document).encode(), error_type)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # Lambda does not ask a runtime to stop either
            self.process.wait()
        self.api.close()


class ExecutionEnvironment:
    """One execution environment of `function`, whose code_dir is its build artifact (/var/task).

    The first invocation starts the runtime (a cold start, with an init duration); the next
    ones reuse it. A timeout or a runtime that exits ends it, and the next invocation starts a
    fresh one, as Lambda does. The process writes its log to `log`, which must have a file
    descriptor: the caller's stderr, as under `sam local invoke`, or a file.
    """

    def __init__(self, function: FunctionSpec, log: TextIO) -> None:
        self.function = function
        self.log = log
        self.region = function.environment.get("AWS_REGION", PSEUDO_PARAMETERS["AWS::Region"])
        account = PSEUDO_PARAMETERS["AWS::AccountId"]
        self.arn = f"arn:aws:lambda:{self.region}:{account}:function:{function.logical_id}"
        self._runtime: _Runtime | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runtime is not None:
            self._runtime.stop()

    def invoke(self, event: Any) -> Invocation:
        """Hand the runtime one event (bytes as they are, anything else as JSON) and wait for its answer."""
        request_id = str(uuid.uuid4())
        runtime: _Runtime | _Post | None = self._runtime
        init_duration_ms = None
        if not isinstance(runtime, _Runtime) or runtime.process.poll() is not None:
            init_duration_ms, runtime = self._start(request_id)  # an init error is this invocation's answer
        self._write(f"START RequestId: {request_id} Version: $LATEST")
        started = time.perf_counter()
        if isinstance(runtime, _Post):
            answer = runtime
        else:
            body = event if isinstance(event, bytes) else json.dumps(event).encode()
            timeout = self.function.timeout
            runtime.api.events.put((request_id, body, time.time() + timeout))
            answer = runtime.wait({"response", "error"}, timeout, request_id) or runtime.failure(
                "error", request_id, f"Task timed out after {timeout:.2f} seconds"
            )
        duration_ms = (time.perf_counter() - started) * 1000
        self._write(f"END RequestId: {request_id}")
        self._write(self._report(request_id, duration_ms, init_duration_ms, answer))
        return Invocation(request_id, answer.body, answer.error_type, init_duration_ms)

    def _start(self, request_id: str) -> tuple[float, _Runtime | _Post]:
        """Start the runtime and wait for its first /next: the init duration, and the runtime or its init error."""
        if self._runtime is not None:
            self._runtime.stop()
        api = _RuntimeApi(self.arn)
        self.log.flush()
        started = time.perf_counter()
        process = subprocess.Popen(  # our interpreter, fixed argv, no shell  # nosec B603
            [sys.executable, "-m", "awslambdaric", self.function.handler],
            cwd=self.function.code_dir,
            env=self._environment(api),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,  # one log stream, in the order it was written
            start_new_session=True,  # Ctrl-C on the caller does not reach the function first
        )
        runtime = self._runtime = _Runtime(api, process)
        post = runtime.wait({"next", "init/error"}, INIT_TIMEOUT_SECONDS)
        init_duration_ms = (time.perf_counter() - started) * 1000
        if post is not None and post.kind == "next":
            return init_duration_ms, runtime
        if post is None:
            post = runtime.failure("init/error", request_id, f"Init phase timed out after {INIT_TIMEOUT_SECONDS} s")
        runtime.stop()
        self._runtime = None
        report = f"INIT_REPORT Init Duration: {init_duration_ms:.2f} ms\tPhase: init\tStatus: error"
        self._write(f"{report}\tError Type: {post.error_type}")
        return init_duration_ms, _Post("init/error", request_id, post.body, post.error_type)

    def _environment(self, api: _RuntimeApi) -> dict[str, str]:
        """What Lambda's python3.13 runtime sets, then the function's variables; nothing from the caller's shell.

        Without credentials among the function's variables botocore finds none: the shared
        config files are empty and instance metadata is off, so nothing reaches out to AWS.
        """
        function = self.function
        host, port = api.server_address[:2]
        log_level = {"AWS_LAMBDA_LOG_LEVEL": function.application_log_level or "INFO"}
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{secrets.token_hex(16)}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_FORMAT": function.log_format,
            **(log_level if function.log_format == "JSON" else {}),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **function.environment,
            # How the runtime finds the API and the code: not the function's to change.
            "AWS_LAMBDA_RUNTIME_API": f"{host!s}:{port}",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler,
            "PYTHONPATH": str(function.code_dir),  # the artifact first on the path, as /var/task is
        }

    def _report(self, request_id: str, duration_ms: float, init_duration_ms: float | None, answer: _Post) -> str:
        """Lambda's REPORT line; since August 2025 a cold start's init is billed too."""
        fields = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(duration_ms + (init_duration_ms or 0))} ms",
            f"Memory Size: {self.function.memory_size} MB",
        ]
        if init_duration_ms is not None:
            fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
        if answer.error_type == "Sandbox.Timedout":
            fields.append("Status: timeout")
        elif answer.kind == "init/error" or answer.error_type == "Runtime.ExitError":
            fields.extend(["Status: error", f"Error Type: {answer.error_type}"])
        return "\t".join(fields)

    def _write(self, line: str) -> None:
        print(line, file=self.log, flush=True)
