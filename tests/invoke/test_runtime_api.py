"""The loopback Runtime API speaks Lambda's protocol, and an execution environment behaves like Lambda's.

The protocol tests play the runtime with http.client; the environment tests run small
throwaway functions under the real runtime interface client (awslambdaric).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_api.runtime_api import (
    API_VERSION,
    MAX_RESPONSE_BYTES,
    ExecutionEnvironment,
    FunctionConfig,
    Outcome,
    RuntimeApi,
    lambda_environment,
)

pytestmark = pytest.mark.invoke

ARN = "arn:aws:lambda:us-east-1:123456789012:function:Probe"
NEXT = f"/{API_VERSION}/runtime/invocation/next"


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    server = RuntimeApi(ARN)
    yield server
    server.close()


def call(api: RuntimeApi, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    host, port = api.address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def next_invocation(api: RuntimeApi, event: bytes, timeout_ms: int = 3000) -> tuple[Any, Any]:
    """The runtime asks first and waits; the event is queued only once it is waiting."""
    answer: list[Any] = []
    runtime = threading.Thread(target=lambda: answer.append(call(api, "GET", NEXT)))
    runtime.start()
    for _ in range(1000):
        if api.ready_at is not None:
            break
        time.sleep(0.01)
    pending = api.enqueue(event, timeout_ms)
    runtime.join(timeout=10)
    return pending, answer[0]


def test_next_blocks_until_an_event_is_queued_and_hands_it_out_with_the_invocation_headers(api: RuntimeApi) -> None:
    before_ms = int(time.time() * 1000)
    pending, (status, headers, body) = next_invocation(api, b'{"hello": "runtime"}', timeout_ms=5000)
    assert status == 200
    assert json.loads(body) == {"hello": "runtime"}
    assert headers["Lambda-Runtime-Aws-Request-Id"] == pending.request_id
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == ARN
    assert before_ms + 5000 <= int(headers["Lambda-Runtime-Deadline-Ms"]) <= int(time.time() * 1000) + 5000
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", headers["Lambda-Runtime-Trace-Id"]
    )


def test_a_response_is_accepted_once_for_the_invocation_handed_out(api: RuntimeApi) -> None:
    pending, _ = next_invocation(api, b"{}")
    path = f"/{API_VERSION}/runtime/invocation/{pending.request_id}/response"
    assert call(api, "POST", path, b'{"ok": true}')[::2] == (202, b'{"status":"OK"}')
    assert pending.answer is not None
    assert (pending.answer.outcome, pending.answer.payload) == (Outcome.RESPONSE, b'{"ok": true}')
    status, _, body = call(api, "POST", path, b'{"again": true}')
    assert (status, json.loads(body)["errorType"]) == (403, "InvalidStateTransition")
    assert pending.answer.payload == b'{"ok": true}'


def test_an_unknown_request_id_or_path_is_refused(api: RuntimeApi) -> None:
    status, _, body = call(api, "POST", f"/{API_VERSION}/runtime/invocation/not-handed-out/response", b"{}")
    assert (status, json.loads(body)["errorType"]) == (400, "InvalidRequestID")
    assert call(api, "GET", f"/{API_VERSION}/runtime/invocation/later")[0] == 404
    assert call(api, "POST", "/2018-06-01/runtime/restore/next", b"{}")[0] == 404


def test_an_invocation_error_keeps_the_error_type_header_and_the_body(api: RuntimeApi) -> None:
    pending, _ = next_invocation(api, b"{}")
    error = b'{"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}'
    path = f"/{API_VERSION}/runtime/invocation/{pending.request_id}/error"
    status, _, _ = call(api, "POST", path, error, {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
    assert status == 202
    assert pending.answer is not None
    assert (pending.answer.outcome, pending.answer.error_type, pending.answer.payload) == (
        Outcome.FUNCTION_ERROR,
        "Unhandled",
        error,
    )


def test_without_the_header_the_error_type_comes_from_the_body(api: RuntimeApi) -> None:
    # awslambdaric's native client posts invocation errors without the header.
    pending, _ = next_invocation(api, b"{}")
    path = f"/{API_VERSION}/runtime/invocation/{pending.request_id}/error"
    call(api, "POST", path, b'{"errorMessage": "boom", "errorType": "ValueError"}')
    assert pending.answer is not None
    assert pending.answer.error_type == "ValueError"


def test_an_init_error_is_recorded_with_its_type(api: RuntimeApi) -> None:
    error = b'{"errorMessage": "Handler \'x\' missing", "errorType": "Runtime.HandlerNotFound"}'
    path = f"/{API_VERSION}/runtime/init/error"
    status, _, body = call(api, "POST", path, error, {"Lambda-Runtime-Function-Error-Type": "Runtime.HandlerNotFound"})
    assert (status, body) == (202, b'{"status":"OK"}')
    assert api.init_error == ("Runtime.HandlerNotFound", error)


def test_a_response_over_six_megabytes_fails_the_invocation_as_on_lambda(api: RuntimeApi) -> None:
    pending, _ = next_invocation(api, b"{}")
    path = f"/{API_VERSION}/runtime/invocation/{pending.request_id}/response"
    status, _, _ = call(api, "POST", path, b"x" * (MAX_RESPONSE_BYTES + 1))
    assert status == 413
    assert pending.answer is not None
    assert (pending.answer.outcome, pending.answer.error_type) == (
        Outcome.FUNCTION_ERROR,
        "Function.ResponseSizeTooLarge",
    )


# --- the process environment ------------------------------------------------------------------


def test_the_environment_is_lambdas_and_takes_nothing_from_the_callers_shell(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-shell")
    monkeypatch.setenv("AWS_PROFILE", "from-the-shell")
    config = FunctionConfig("Probe", tmp_path, "app.handler", environment={"GREETING": "hi", "_HANDLER": "evil.x"})
    environment = lambda_environment(config, "127.0.0.1:9001")
    assert "from-the-shell" not in environment.values()
    assert environment["GREETING"] == "hi"
    assert environment["_HANDLER"] == "app.handler", "the runtime's wiring is not the caller's to change"
    assert environment["AWS_EC2_METADATA_DISABLED"] == "true"
    assert environment["AWS_SHARED_CREDENTIALS_FILE"] == environment["AWS_CONFIG_FILE"] == os.devnull


# --- functions under awslambdaric --------------------------------------------------------------

PROBE = """
import json, os, sys, time

def handler(event, context):
    action = event.get("action")
    if action == "raise":
        raise ValueError("boom")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(3)
    for number in range(event.get("lines", 0)):
        print(json.dumps({"line": number, "request": context.aws_request_id, "padding": "x" * 100}))
    return {
        "request": context.aws_request_id,
        "pid": os.getpid(),
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "path0": sys.path[0],
        "environment": {name: os.environ.get(name) for name in event.get("environment", [])},
    }
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(PROBE)
    return tmp_path


def environment_for(code: Path, handler: str = "app.handler", **options: Any) -> ExecutionEnvironment:
    return ExecutionEnvironment(FunctionConfig("Probe", code, handler, log_format="JSON", **options))


def test_the_log_stream_is_split_exactly_by_invocation_however_much_is_written(probe: Path) -> None:
    # ~230 KB: several times a pipe's buffer, so the log must be read while the function runs.
    with environment_for(probe) as environment:
        big = environment.invoke({"lines": 2000})
        small = environment.invoke({"lines": 3})
    for invocation, count in ((big, 2000), (small, 3)):
        records = [line.record for line in invocation.log]
        assert [record and record["line"] for record in records] == list(range(count))
        assert {record and record["request"] for record in records} == {invocation.request_id}


def test_one_process_answers_until_a_timeout_or_an_exit_ends_it_then_a_fresh_one_starts(probe: Path) -> None:
    with environment_for(probe, timeout_seconds=1) as environment:
        cold = environment.invoke({})
        warm = environment.invoke({})
        timed_out = environment.invoke({"action": "sleep", "seconds": 30})
        restarted = environment.invoke({})
        exited = environment.invoke({"action": "exit"})
        after_exit = environment.invoke({})
    assert [cold.cold, warm.cold, restarted.cold, after_exit.cold] == [True, False, True, True]
    assert cold.json()["pid"] == warm.json()["pid"] != restarted.json()["pid"]
    assert (timed_out.outcome, timed_out.error_type) == (Outcome.FUNCTION_ERROR, "Sandbox.Timedout")
    assert (
        timed_out.json()["errorMessage"]
        == f"RequestId: {timed_out.request_id} Error: Task timed out after 1.00 seconds"
    )
    assert (exited.outcome, exited.error_type) == (Outcome.FUNCTION_ERROR, "Runtime.ExitError")
    assert exited.json()["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_a_raised_exception_is_answered_with_the_runtimes_error_document_and_logged(probe: Path) -> None:
    with environment_for(probe) as environment:
        failed = environment.invoke({"action": "raise"})
    assert (failed.outcome, failed.error_type) == (Outcome.FUNCTION_ERROR, "ValueError")
    error = failed.json()
    assert (error["errorMessage"], error["errorType"], error["requestId"]) == ("boom", "ValueError", failed.request_id)
    assert any("app.py" in frame for frame in error["stackTrace"])
    logged = [line.record for line in failed.log]
    assert [(record or {}).get("errorType") for record in logged] == ["ValueError"], "the runtime logs it, as JSON"


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("app.missing", "Runtime.HandlerNotFound"),
        ("nowhere.handler", "Runtime.ImportModuleError"),
        ("app", "Runtime.MalformedHandlerName"),
    ],
)
def test_an_init_error_is_served_in_response_to_the_first_invocation(
    probe: Path, handler: str, error_type: str
) -> None:
    with environment_for(probe, handler) as environment:
        failed = environment.invoke({})
    assert (failed.outcome, failed.error_type, failed.json()["errorType"]) == (
        Outcome.INIT_ERROR,
        error_type,
        error_type,
    )
    assert failed.cold
    assert error_type in {(line.record or {}).get("errorType") for line in failed.init_log}


def test_the_function_runs_from_its_code_with_lambdas_context_and_environment(probe: Path) -> None:
    names = ["LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_FORMAT", "AWS_ACCESS_KEY_ID"]
    with environment_for(probe, memory_size_mb=256, timeout_seconds=4) as environment:
        answer = environment.invoke({"environment": names})
    seen = answer.json()
    assert seen["path0"] == str(probe), "the code directory is first on the path, as /var/task is"
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Probe"
    assert 0 < seen["remaining_ms"] <= 4000, "the context's deadline comes from Lambda-Runtime-Deadline-Ms"
    assert seen["environment"] == dict(zip(names, [str(probe), "256", "JSON", None], strict=True))
    assert answer.max_memory_used_mb is not None
    assert answer.max_memory_used_mb > 0
