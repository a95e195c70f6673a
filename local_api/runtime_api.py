"""A loopback Lambda Runtime API, and a function run against it under AWS's runtime interface client.

`sam local invoke` runs a function in AWS's container image, whose bootstrap is the runtime
interface client (`awslambdaric`) talking to the Runtime API of the Runtime Interface Emulator.
Without a container runtime we do the same on the host: `RuntimeApi` serves the Runtime API
on 127.0.0.1, and `ExecutionEnvironment` starts `python -m awslambdaric <handler>` in the
build artifact, so the function meets the same bootstrap, log format and error handling as
on Lambda. `make invoke` and the artifact tests share it.

The protocol (version 2018-06-01: AWS Lambda developer guide, "Using the Lambda runtime API
for custom runtimes", and its OpenAPI document runtime-api.zip):

    GET  /2018-06-01/runtime/invocation/next           200, the event; blocks until there is one
    POST /2018-06-01/runtime/invocation/{id}/response  202 {"status": "OK"}
    POST /2018-06-01/runtime/invocation/{id}/error     202; body {"errorMessage", "errorType", ...}
    POST /2018-06-01/runtime/init/error                202; the runtime exits after it

An unknown request id is a 400, a second answer to the same invocation a 403, a response over
the 6 MB synchronous payload quota a 413 (the invocation then fails as Lambda's does).
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import os
import queue
import re
import secrets
import selectors
import subprocess  # the function runs as its own process, as on Lambda  # nosec B404
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

API_VERSION = "2018-06-01"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's quota for a synchronous invocation's response
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit on the init phase of an on-demand environment
ACCOUNT_ID = "123456789012"  # what `sam local` uses too

_RESULT_PATH = re.compile(rf"/{API_VERSION}/runtime/invocation/(?P<id>[^/]+)/(?P<kind>response|error)")
_NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
_INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class Outcome(enum.StrEnum):
    RESPONSE = "response"
    FUNCTION_ERROR = "function error"
    INIT_ERROR = "init error"


@dataclass(frozen=True)
class LogLine:
    """One line of the function's log stream (its stdout and stderr, as Lambda captures them)."""

    text: str

    @property
    def record(self) -> dict[str, Any] | None:
        """The line as a JSON object, or None when it is not one (plain text, a JSON scalar...)."""
        try:
            value = json.loads(self.text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Invocation:
    """What one invocation returned, and what Lambda's REPORT line would say about it."""

    request_id: str
    outcome: Outcome
    payload: bytes  # the response, or the runtime's error document
    error_type: str | None  # the runtime's Lambda-Runtime-Function-Error-Type, else the payload's errorType
    duration_ms: float  # event handed to the runtime -> its answer
    init_duration_ms: float | None  # process start -> first /next, on the invocation that started it (cold)
    max_memory_used_mb: int | None  # the process's peak resident set (VmHWM) so far; None off Linux
    log: tuple[LogLine, ...]  # what the function wrote while handling this event
    init_log: tuple[LogLine, ...] = ()  # what it wrote while starting, on a cold invocation

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.RESPONSE

    @property
    def cold(self) -> bool:
        return self.init_duration_ms is not None

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass(frozen=True)
class _Answer:
    outcome: Outcome
    payload: bytes
    error_type: str | None
    at: float  # time.perf_counter() when it arrived


@dataclass
class _Pending:
    """An event from the moment it is queued until the runtime answers it."""

    request_id: str
    event: bytes
    timeout_ms: int
    handed_out_at: float | None = None
    answer: _Answer | None = None
    answered: threading.Event = field(default_factory=threading.Event)


class RuntimeApi(ThreadingHTTPServer):
    """The Runtime API of one execution environment: one event at a time, as Lambda hands them out."""

    daemon_threads = True
    block_on_close = False  # a runtime blocked in /next must not hold up closing

    def __init__(self, function_arn: str, notify: Callable[[], None] = lambda: None) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.function_arn = function_arn
        self._notify = notify
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self.ready_at: float | None = None  # the first /next: the runtime finished its init
        self.init_error: tuple[str | None, bytes] | None = None  # (error type header, body)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A runtime killed mid-call (a timeout, the end of the environment) is routine, not a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def address(self) -> str:
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def enqueue(self, event: bytes, timeout_ms: int) -> _Pending:
        pending = _Pending(request_id=str(uuid.uuid4()), event=event, timeout_ms=timeout_ms)
        with self._lock:
            self._pending[pending.request_id] = pending
        self._queue.put(pending)
        return pending

    def close(self) -> None:
        self._queue.put(None)  # releases a runtime waiting in /next
        self.shutdown()
        self.server_close()

    # --- called by the request handler ---------------------------------------------------

    def next_event(self) -> _Pending | None:
        if self.ready_at is None:
            self.ready_at = time.perf_counter()
            self._notify()
        pending = self._queue.get()
        if pending is not None:
            pending.handed_out_at = time.perf_counter()
        return pending

    def answer(self, request_id: str, outcome: Outcome, payload: bytes, error_type: str | None) -> HTTPStatus:
        with self._lock:
            pending = self._pending.get(request_id)
            if pending is None or pending.handed_out_at is None:
                return HTTPStatus.BAD_REQUEST
            if pending.answer is not None:
                return HTTPStatus.FORBIDDEN
            pending.answer = _Answer(outcome, payload, error_type, time.perf_counter())
        pending.answered.set()
        self._notify()
        return HTTPStatus.ACCEPTED

    def fail_init(self, error_type: str | None, payload: bytes) -> None:
        self.init_error = (error_type, payload)
        self._notify()


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    server: RuntimeApi
    protocol_version = "HTTP/1.1"  # the runtime client keeps one connection open across calls
    # Headers and body go out as two writes; with Nagle's algorithm the body would wait for
    # the client's delayed ACK (~40 ms) and land in every invocation's duration.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the name http.server uses
        """The runtime's calls are not the function's log."""

    def do_GET(self) -> None:
        if self.path != _NEXT_PATH:
            self._send_error(HTTPStatus.NOT_FOUND, "InvalidPath", f"no such endpoint: GET {self.path}")
            return
        pending = self.server.next_event()
        if pending is None:  # the environment is closing
            self.close_connection = True
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "Runtime.ShuttingDown", "the environment is closing")
            return
        deadline_ms = int(time.time() * 1000) + pending.timeout_ms
        self._send(
            HTTPStatus.OK,
            pending.event,
            {
                "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
                "Lambda-Runtime-Trace-Id": _trace_id(),
            },
        )

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        error_type = self.headers.get(ERROR_TYPE_HEADER)
        if self.path == _INIT_ERROR_PATH:
            self.server.fail_init(error_type, body)
            self._send(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
            return
        match = _RESULT_PATH.fullmatch(self.path)
        if match is None:
            self._send_error(HTTPStatus.NOT_FOUND, "InvalidPath", f"no such endpoint: POST {self.path}")
            return
        request_id = match["id"]
        if match["kind"] == "response" and len(body) > MAX_RESPONSE_BYTES:
            message = f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size"
            status = self.server.answer(
                request_id, Outcome.FUNCTION_ERROR, _error_document("Function.ResponseSizeTooLarge", message),
                "Function.ResponseSizeTooLarge",
            )  # fmt: skip
            if status is HTTPStatus.ACCEPTED:
                status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        elif match["kind"] == "response":
            status = self.server.answer(request_id, Outcome.RESPONSE, body, None)
        else:
            status = self.server.answer(request_id, Outcome.FUNCTION_ERROR, body, error_type or _error_type(body))
        if status is HTTPStatus.ACCEPTED:
            self._send(status, b'{"status":"OK"}')
        elif status is HTTPStatus.BAD_REQUEST:
            self._send_error(status, "InvalidRequestID", f"no invocation {request_id} is waiting for an answer")
        elif status is HTTPStatus.FORBIDDEN:
            self._send_error(status, "InvalidStateTransition", f"invocation {request_id} was already answered")
        else:
            self._send_error(status, "RequestEntityTooLarge", "the response exceeds 6 MB")

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length", "0")
        if "Transfer-Encoding" in self.headers or not length.isascii() or not length.isdigit():
            self.close_connection = True
            self._send_error(HTTPStatus.LENGTH_REQUIRED, "InvalidRequest", "a body needs a Content-Length")
            return None
        return self.rfile.read(int(length))

    def _send_error(self, status: HTTPStatus, error_type: str, message: str) -> None:
        self._send(status, json.dumps({"errorMessage": message, "errorType": error_type}).encode())

    def _send(self, status: HTTPStatus, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _trace_id() -> str:
    """An X-Ray trace header as Lambda passes it (not sampled: nothing records it locally)."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _error_type(body: bytes) -> str | None:
    """awslambdaric's invocation errors carry their type in the body only, not in the header."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    value = document.get("errorType") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def _error_document(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


# --- the function's process -------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionConfig:
    """What Lambda knows about a function when it starts an execution environment for it."""

    name: str
    code_dir: Path  # the build artifact: /var/task on Lambda
    handler: str  # "module.function"
    memory_size_mb: int = 128
    timeout_seconds: float = 3
    log_format: str = "Text"  # LoggingConfig.LogFormat: "JSON" or "Text"
    log_level: str | None = None  # LoggingConfig.ApplicationLogLevel (JSON format only)
    region: str = "us-east-1"
    # The function's variables, and anything else the caller wants set (credentials included:
    # none are passed otherwise).
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"


def lambda_environment(config: FunctionConfig, runtime_api: str) -> dict[str, str]:
    """The process environment Lambda's python3.13 runtime gives a function, plus its own variables.

    Nothing comes from the caller's shell. Without credentials given in `config.environment`
    botocore finds none: the shared config files are empty and instance metadata is off, so
    a readiness check fails at once instead of reaching out.
    """
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{secrets.token_hex(16)}"
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_FORMAT": config.log_format,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    if config.log_format == "JSON":
        environment["AWS_LAMBDA_LOG_LEVEL"] = config.log_level or "INFO"
    environment.update(config.environment)
    # How the runtime finds the API and the code: not the caller's to change.
    environment.update(
        {
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "LAMBDA_TASK_ROOT": str(config.code_dir),
            "_HANDLER": config.handler,
            "PYTHONPATH": str(config.code_dir),  # the artifact first on the path, as /var/task is
            "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only
            "AWS_EC2_METADATA_DISABLED": "true",  # never 169.254.169.254
        }
    )
    return environment


@dataclass
class _Runtime:
    """The runtime process of an environment, its Runtime API and the read end of its log pipe."""

    api: RuntimeApi
    process: subprocess.Popen[bytes]
    log_fd: int


class ExecutionEnvironment:
    """One execution environment: a process under awslambdaric that answers one event at a time.

    The first invocation starts it (cold: it reports an init duration); the next ones reuse it
    (warm). A timeout or a runtime that exits ends it, and the next invocation starts a fresh
    one, as Lambda does. The process's stdout and stderr are the log stream, read as it comes
    (a full pipe would block the function) and split by invocation.
    """

    def __init__(self, config: FunctionConfig, *, python: str = sys.executable) -> None:
        self.config = config
        self.python = python
        self._runtime: _Runtime | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._partial = b""
        self._lines: list[LogLine] = []
        self._max_memory_mb: int | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def invoke(self, event: Any = None, *, raw: bytes | None = None) -> Invocation:
        """Hand the runtime one event (JSON-serialisable, or `raw` bytes) and wait for its answer."""
        payload = raw if raw is not None else json.dumps({} if event is None else event).encode()
        runtime = self._runtime
        init_duration: float | None = None
        init_log: tuple[LogLine, ...] = ()
        if runtime is None or runtime.process.poll() is not None:
            self._stop()
            started = self._start()
            if isinstance(started, Invocation):
                return started  # the init failed: that is the answer to this invocation
            runtime, init_duration, init_log = started
        pending = runtime.api.enqueue(payload, int(self.config.timeout_seconds * 1000))
        self._pump(runtime, pending.answered.is_set, self.config.timeout_seconds)
        self._read_memory(runtime)
        answer = pending.answer
        if answer is not None:
            return Invocation(
                request_id=pending.request_id,
                outcome=answer.outcome,
                payload=answer.payload,
                error_type=answer.error_type,
                duration_ms=(answer.at - (pending.handed_out_at or answer.at)) * 1000,
                init_duration_ms=init_duration,
                max_memory_used_mb=self._max_memory_mb,
                log=self._take_lines(),
                init_log=init_log,
            )
        if runtime.process.poll() is None:
            error_type, reason = "Sandbox.Timedout", f"Task timed out after {self.config.timeout_seconds:.2f} seconds"
        else:
            error_type, reason = "Runtime.ExitError", f"Runtime exited with error: {_exit_status(runtime.process)}"
        self._stop()
        return Invocation(
            request_id=pending.request_id,
            outcome=Outcome.FUNCTION_ERROR,
            payload=_error_document(error_type, f"RequestId: {pending.request_id} Error: {reason}"),
            error_type=error_type,
            duration_ms=(time.perf_counter() - (pending.handed_out_at or time.perf_counter())) * 1000,
            init_duration_ms=init_duration,
            max_memory_used_mb=self._max_memory_mb,
            log=self._take_lines(),
            init_log=init_log,
        )

    def close(self) -> None:
        self._stop()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # --- starting and stopping --------------------------------------------------------------

    def _start(self) -> tuple[_Runtime, float, tuple[LogLine, ...]] | Invocation:
        """Start the runtime and wait for its first /next; an init error becomes the invocation's answer."""
        api = RuntimeApi(self.config.arn, notify=self._wake)
        log_fd, log_write_fd = os.pipe()
        started = time.perf_counter()
        try:
            process = subprocess.Popen(  # our interpreter, fixed argv, no shell  # nosec B603
                [self.python, "-B", "-m", "awslambdaric", self.config.handler],
                cwd=self.config.code_dir,
                env=lambda_environment(self.config, api.address),
                stdin=subprocess.DEVNULL,
                stdout=log_write_fd,
                stderr=log_write_fd,  # one log stream, in the order it was written
                start_new_session=True,  # Ctrl-C on the caller does not reach the function first
            )
        except BaseException:
            api.close()
            os.close(log_fd)
            raise
        finally:
            os.close(log_write_fd)
        os.set_blocking(log_fd, False)
        self._selector.register(log_fd, selectors.EVENT_READ)
        runtime = self._runtime = _Runtime(api, process, log_fd)
        self._max_memory_mb = None
        ready = self._pump(
            runtime, lambda: api.ready_at is not None or api.init_error is not None, INIT_TIMEOUT_SECONDS
        )
        self._read_memory(runtime)
        if ready and api.ready_at is not None and api.init_error is None:
            return runtime, (api.ready_at - started) * 1000, self._take_lines()
        # The runtime reported an init error and exits, died on its own, or overran the init limit.
        if api.init_error is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)
        init_duration = (time.perf_counter() - started) * 1000
        request_id = str(uuid.uuid4())
        if api.init_error is not None:
            header, payload = api.init_error
            error_type = header or _error_type(payload)
        else:
            if process.poll() is None:
                error_type, reason = (
                    "Sandbox.Timedout",
                    f"Init phase timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds",
                )
            else:
                error_type, reason = "Runtime.ExitError", f"Runtime exited with error: {_exit_status(process)}"
            payload = _error_document(error_type, f"RequestId: {request_id} Error: {reason}")
        self._stop()
        return Invocation(
            request_id=request_id,
            outcome=Outcome.INIT_ERROR,
            payload=payload,
            error_type=error_type,
            duration_ms=0.0,
            init_duration_ms=init_duration,
            max_memory_used_mb=self._max_memory_mb,
            log=(),
            init_log=self._take_lines(),
        )

    def _stop(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is None:
            return
        if runtime.process.poll() is None:
            runtime.process.kill()  # Lambda does not ask a runtime to stop either
            runtime.process.wait()
        self._read(runtime)
        with contextlib.suppress(KeyError):
            self._selector.unregister(runtime.log_fd)
        os.close(runtime.log_fd)
        runtime.api.close()

    def _read_memory(self, runtime: _Runtime) -> None:
        """Lambda's Max Memory Used: the peak resident set of the runtime process so far."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{runtime.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self._max_memory_mb = math.ceil(int(line.split()[1]) / 1024)

    # --- the log stream -------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"!")

    def _pump(self, runtime: _Runtime, done: Callable[[], bool], timeout: float) -> bool:
        """Read the log until `done()`, the end of the stream or the timeout; True when done.

        Whatever the runtime wrote before its answer is in the pipe by the time the answer
        arrives, so one last read after it collects all of it: the split is exact.
        """
        deadline = time.monotonic() + timeout
        open_stream = True
        while open_stream and not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in self._selector.select(remaining):
                if key.fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                elif not self._read(runtime):
                    open_stream = False  # the process is gone, or going
        if not open_stream:
            with contextlib.suppress(subprocess.TimeoutExpired):
                runtime.process.wait(timeout=1)
        self._read(runtime)
        return done()

    def _read(self, runtime: _Runtime) -> bool:
        """Read what the pipe holds now; False once the stream has ended."""
        while True:
            try:
                data = os.read(runtime.log_fd, 65536)
            except BlockingIOError:
                return True
            if not data:
                with contextlib.suppress(KeyError):
                    self._selector.unregister(runtime.log_fd)
                return False
            *lines, self._partial = (self._partial + data).split(b"\n")
            self._lines.extend(LogLine(line.decode("utf-8", "replace")) for line in lines)

    def _take_lines(self) -> tuple[LogLine, ...]:
        if self._partial:
            self._lines.append(LogLine(self._partial.decode("utf-8", "replace")))
            self._partial = b""
        lines, self._lines = tuple(self._lines), []
        return lines


def _exit_status(process: subprocess.Popen[bytes]) -> str:
    code = process.wait()
    return f"signal: {-code}" if code < 0 else f"exit status {code}"
