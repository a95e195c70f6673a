"""`make invoke`, tried as a new user would on a machine without Docker.

The first test goes through make; the others call the CLI's main() in this process (the
function still runs in its own, under awslambdaric, writing to this process's stderr), which
saves an interpreter start each. The builds go to one scratch directory per module
(`--build-dir`, INVOKE_BUILD_DIR for make), so the API function is built once here and never
in the working tree.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_api.invoke import main
from tests.conftest import API_FUNCTION_DIR, EVENTS_DIR, REPO_ROOT, request
from tests.contract import LIVENESS
from tests.invoke.lambda_log import by_invocation

pytestmark = pytest.mark.invoke

REPORT = re.compile(r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\t.*")
READINESS = json.dumps(request("GET", "/api/v1/health/ready"))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def answers(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    @property
    def reports(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("REPORT ")]

    def function_log(self) -> list[dict[str, Any]]:
        """What the function wrote while answering its only invocation, each line parsed as JSON."""
        [lines] = by_invocation(self.stderr).values()
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("invoke-builds")


Invoke = Callable[..., Run]


@pytest.fixture
def invoke(build_dir: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """`python -m local_api.invoke ARGS` with `stdin` as standard input and `environment` in the shell."""
    monkeypatch.chdir(REPO_ROOT)

    def run(*args: str, stdin: str | None = None, environment: Mapping[str, str] | None = None) -> Run:
        for name, value in (environment or {}).items():
            monkeypatch.setenv(name, value)
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        capfd.readouterr()
        returncode = main(["--build-dir", str(build_dir), *args])
        stdout, stderr = capfd.readouterr()
        return Run(returncode, stdout, stderr)

    return run


def write_template(template: Path, functions: Mapping[str, str]) -> str:
    """A throwaway template, each function's code in <LogicalId>/app.py answering what `functions` says."""
    resources = ""
    for logical_id, answer in functions.items():
        (template.parent / logical_id).mkdir(exist_ok=True)
        (template.parent / logical_id / "app.py").write_text(
            f"def lambda_handler(event, context):\n    return {answer!r}\n"
        )
        resources += (
            f"  {logical_id}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            f"      CodeUri: {logical_id}/\n      Handler: app.lambda_handler\n"
        )
    template.write_text(f"Resources:\n{resources}")
    return str(template)


# --- the API function, as the template configures it ---------------------------------------------


def test_make_invoke_prints_the_liveness_response_and_the_functions_json_log(build_dir: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "invoke", "EVENT=events/health.json", f"INVOKE_BUILD_DIR={build_dir}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    run = Run(result.returncode, result.stdout, result.stderr)
    assert run.returncode == 0, run.stderr
    [answer] = run.answers  # stdout holds the response and nothing else
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, LIVENESS)
    request_id = REPORT.fullmatch(run.reports[0])["id"]  # type: ignore[index]
    [record] = run.function_log()  # one JSON record per invocation
    assert (record["message"], record["status"], record["function_request_id"]) == ("Request answered", 200, request_id)
    assert "Init Duration: " in run.reports[0], "a fresh process: the invocation is cold"


def test_no_event_sends_an_empty_object_which_is_answered_with_liveness(invoke: Invoke) -> None:
    run = invoke()
    assert (run.returncode, run.answers) == (0, [LIVENESS])


def test_an_event_on_standard_input(invoke: Invoke) -> None:
    run = invoke("--event", "-", stdin=(EVENTS_DIR / "scheduled.json").read_text())
    assert (run.returncode, run.answers) == (0, [LIVENESS])


def test_readiness_fails_fast_and_cleanly_without_aws_credentials(invoke: Invoke) -> None:
    # Credentials in the caller's shell are not passed on; no shared config, no instance metadata.
    run = invoke(
        "--event",
        "-",
        "--env",
        "HEALTH_DYNAMODB_TABLES=pets",
        stdin=READINESS,
        environment={"AWS_ACCESS_KEY_ID": "from-the-shell", "AWS_SECRET_ACCESS_KEY": "from-the-shell"},
    )
    [answer] = run.answers
    assert (run.returncode, answer["statusCode"], json.loads(answer["body"])["status"]) == (0, 503, "fail")
    assert "Traceback" not in run.stderr
    failures = [line for line in run.function_log() if line["message"] == "Dependency check failed"]
    # botocore signs a request before it connects: without credentials nothing left the process.
    assert [failure["error"].split(":")[0] for failure in failures] == ["NoCredentialsError"]


def test_repeat_invokes_one_environment_cold_then_warm(invoke: Invoke) -> None:
    run = invoke("--event", "events/health.json", "--repeat", "3")
    assert run.returncode == 0
    assert [answer["statusCode"] for answer in run.answers] == [200, 200, 200]
    assert ["Init Duration: " in report for report in run.reports] == [True, False, False]
    assert all(REPORT.fullmatch(report) for report in run.reports), run.reports


def test_env_vars_file_in_sams_format_then_env_override_the_template(invoke: Invoke, tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps({"Parameters": {"HEALTH_RELEASE_ID": "parameters"}, "HealthFunction": {"HEALTH_RELEASE_ID": "file"}})
    )
    from_file = invoke("--event", "-", "--env-vars", str(env_vars), stdin=READINESS)
    from_env = invoke("--event", "-", "--env-vars", str(env_vars), "--env", "HEALTH_RELEASE_ID=env", stdin=READINESS)
    assert [json.loads(run.answers[0]["body"])["releaseId"] for run in (from_file, from_env)] == ["file", "env"]


# --- what fails, and how it shows ----------------------------------------------------------------


def test_a_broken_handler_string_is_an_init_error(invoke: Invoke, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  HealthFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: {API_FUNCTION_DIR}\n      Handler: handler.lambda_handlr\n"
        "      LoggingConfig: {LogFormat: JSON}\n"
    )
    run = invoke("--template", str(template))
    assert run.returncode == 1
    [error] = run.answers
    assert (error["errorType"], error["errorMessage"]) == (
        "Runtime.HandlerNotFound",
        "Handler 'lambda_handlr' missing on module 'handler'",
    )
    assert "INIT_REPORT Init Duration: " in run.stderr
    assert "Status: error\tError Type: Runtime.HandlerNotFound" in run.stderr
    assert '"errorType": "Runtime.HandlerNotFound"' in run.stderr, "the runtime's own log line"


def test_the_function_is_chosen_by_logical_id_the_first_by_default(invoke: Invoke, tmp_path: Path) -> None:
    template = write_template(tmp_path / "template.yaml", {"First": "first", "Second": "second"})
    assert invoke("--template", template).answers == ["first"]
    assert invoke("--template", template, "--function", "Second").answers == ["second"]


def test_a_build_is_reused_until_its_inputs_change_bytecode_aside(invoke: Invoke, tmp_path: Path) -> None:
    template = write_template(tmp_path / "template.yaml", {"Versioned": "v1"})
    first = invoke("--template", template)
    (tmp_path / "Versioned" / "__pycache__").mkdir()
    (tmp_path / "Versioned" / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"left by a test run")
    again = invoke("--template", template)
    write_template(tmp_path / "template.yaml", {"Versioned": "v2"})
    changed = invoke("--template", template)
    assert [run.answers for run in (first, again, changed)] == [["v1"], ["v1"], ["v2"]]
    assert ["Building Versioned" in run.stderr for run in (first, again, changed)] == [True, False, True]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--event", "events/no-such-event.json"], "cannot read the event events/no-such-event.json"),
        (["--event", "-"], "the event in standard input is not JSON"),
        (["--function", "NoSuchFunction"], "no function 'NoSuchFunction' in template.yaml; it has: HealthFunction, "),
        (["--env", "HEALTH_DYNAMODB_TABLES"], "--env 'HEALTH_DYNAMODB_TABLES': expected KEY=VALUE"),
        (["--env-vars", "events/health.json"], 'expected {"LogicalId": {"KEY": "VALUE"}'),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_status_2(invoke: Invoke, args: list[str], says: str) -> None:
    run = invoke(*args, stdin="{not json")
    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith("make invoke: ")
    assert says in line
