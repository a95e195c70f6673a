"""An execution environment behaves like Lambda's: small throwaway functions under the real runtime
interface client (awslambdaric), fed by local_api's Runtime API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from local_api.runtime_api import ExecutionEnvironment
from local_api.template import FunctionSpec
from tests.invoke.lambda_log import by_invocation

pytestmark = pytest.mark.invoke

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
    print(json.dumps({"request": context.aws_request_id}))
    return {
        "pid": os.getpid(),
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "path0": sys.path[0],
        "environment": {name: os.environ.get(name) for name in event.get("environment", [])},
    }
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(PROBE)
    return code


@pytest.fixture
def log(tmp_path: Path) -> Iterator[TextIO]:
    """The log stream: a file, as the function's stdout and stderr need a file descriptor."""
    with (tmp_path / "log").open("a+") as stream:
        yield stream


def test_one_process_answers_until_a_timeout_or_an_exit_ends_it_then_a_fresh_one_starts(
    probe: Path, log: TextIO
) -> None:
    with ExecutionEnvironment(FunctionSpec("Probe", probe, "app.handler", {}, timeout=1), log) as environment:
        cold = environment.invoke({})
        warm = environment.invoke({})
        timed_out = environment.invoke({"action": "sleep", "seconds": 30})
        restarted = environment.invoke({})
        exited = environment.invoke({"action": "exit"})
        after_exit = environment.invoke({})
    assert [cold.cold, warm.cold, restarted.cold, after_exit.cold] == [True, False, True, True]
    assert cold.json()["pid"] == warm.json()["pid"] != restarted.json()["pid"]
    assert timed_out.error_type == "Sandbox.Timedout"
    assert timed_out.json()["errorMessage"] == (
        f"RequestId: {timed_out.request_id} Error: Task timed out after 1.00 seconds"
    )
    assert exited.error_type == "Runtime.ExitError"
    assert exited.json()["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_a_raised_exception_is_answered_with_the_runtimes_error_document_and_logged(probe: Path, log: TextIO) -> None:
    with ExecutionEnvironment(FunctionSpec("Probe", probe, "app.handler", {}, log_format="JSON"), log) as environment:
        failed = environment.invoke({"action": "raise"})
    assert failed.error_type == "ValueError"
    error = failed.json()
    assert (error["errorMessage"], error["errorType"], error["requestId"]) == ("boom", "ValueError", failed.request_id)
    assert any("app.py" in frame for frame in error["stackTrace"])
    log.seek(0)
    [logged] = by_invocation(log.read())[failed.request_id]
    assert json.loads(logged)["errorType"] == "ValueError", "the runtime logs it, as JSON"


def test_the_function_runs_from_its_code_with_lambdas_context_and_its_own_environment_only(
    probe: Path, log: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-shell")
    names = [
        "GREETING",
        "LAMBDA_TASK_ROOT",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_FORMAT",
        "AWS_ACCESS_KEY_ID",
    ]
    spec = FunctionSpec(
        "Probe", probe, "app.handler", {"GREETING": "hi"}, memory_size=256, timeout=4, log_format="JSON"
    )
    with ExecutionEnvironment(spec, log) as environment:
        answer = environment.invoke({"environment": names})
    seen = answer.json()
    assert seen["path0"] == str(probe), "the code directory is first on the path, as /var/task is"
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Probe"
    assert 0 < seen["remaining_ms"] <= 4000, "the context's deadline comes from Lambda-Runtime-Deadline-Ms"
    assert seen["environment"] == dict(zip(names, ["hi", str(probe), "256", "JSON", None], strict=True))
    log.seek(0)
    assert by_invocation(log.read())[answer.request_id] == [json.dumps({"request": answer.request_id})]
