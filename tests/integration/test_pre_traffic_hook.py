"""The pre-traffic hook end to end on loopback: the artifact its build recipe makes, run unmodified in its
own interpreter without site-packages (so boto3 and botocore's pruned models come from the artifact),
reaching a fake Lambda Invoke API (answered by the real health handler, or a broken one) and a fake
CodeDeploy only through the SDK's standard endpoint settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest

from tests.conftest import EVENTS_DIR, REPO_ROOT, load_event
from tests.fake_lambda import (
    HOOK_EVENT,
    LIVENESS_ROUTE,
    SENT_EVENTS,
    VERSION_ARN,
    FakeCodeDeploy,
    FakeLambda,
    Function,
    HttpReply,
    broken_on,
    health_function,
    reported,
)

pytestmark = pytest.mark.integration

RUNNER = Path(__file__).resolve().parent / "run_hook.py"
Answer = Callable[[str, dict[str, str], bytes], HttpReply]


class _Server(ThreadingHTTPServer):
    answer: Answer


class _Endpoint(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply = cast(_Server, self.server).answer(self.path, dict(self.headers.items()), body)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Quiet: the fakes record what the tests need."""


@dataclass
class Loopback:
    """One fake AWS endpoint on 127.0.0.1, with the Authorization header of every request it got."""

    answer: Answer
    authorizations: list[str] = field(default_factory=list)
    server: _Server = field(init=False)

    def __post_init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Endpoint)
        self.server.answer = self._answer
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> HttpReply:
        self.authorizations.append(headers.get("Authorization", ""))
        return self.answer(path, headers, body)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Run:
    lambda_: FakeLambda
    codedeploy: FakeCodeDeploy
    logs: list[dict[str, Any]]
    handler_file: str
    lambda_authorizations: list[str]

    def logged(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.logs if line["message"] == message]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hook as `make build-PreTrafficHookFunction` builds it, for this machine's architecture."""
    root = tmp_path_factory.mktemp("hook") / "PreTrafficHookFunction"
    build = [sys.executable, "scripts/build_function.py", "--function", "pre_traffic_hook", "--arch", "host", str(root)]
    subprocess.run(build, cwd=REPO_ROOT, check=True, capture_output=True)
    assert {path.name for path in (root / "events").iterdir()} == {path.name for path in EVENTS_DIR.glob("*.json")}
    return root


@pytest.fixture
def run_hook(artifact: Path) -> Iterator[Callable[..., Run]]:
    servers: list[Loopback] = []

    def run(function: Function, **environ: str) -> Run:
        lambda_, codedeploy = FakeLambda(function), FakeCodeDeploy()
        lambda_server = Loopback(lambda path, headers, body: lambda_.invoke(path, body))
        codedeploy_server = Loopback(lambda path, headers, body: codedeploy.call(headers.get("X-Amz-Target"), body))
        servers.extend([lambda_server, codedeploy_server])
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL_LAMBDA": lambda_server.url,
            "AWS_ENDPOINT_URL_CODEDEPLOY": codedeploy_server.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "TARGET_VERSION_ARN": VERSION_ARN,
            **environ,
        }
        process = subprocess.run(
            [sys.executable, "-I", "-S", "-B", str(RUNNER), str(artifact), json.dumps(HOOK_EVENT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert process.returncode == 0, process.stderr
        # Every log line is JSON Lambda could write: a value JSON cannot encode would break its formatter.
        logs = [json.loads(line) for line in process.stderr.splitlines()]
        handler_file = json.loads(process.stdout)["handler_file"]
        return Run(lambda_, codedeploy, logs, handler_file, lambda_server.authorizations)

    yield run
    for server in servers:
        server.close()


def test_healthy_health_function_is_reported_succeeded(artifact: Path, run_hook: Callable[..., Run]) -> None:
    run = run_hook(health_function)

    assert run.codedeploy.reports == reported("Succeeded")
    assert Path(run.handler_file).is_relative_to(artifact)
    assert [invocation.event for invocation in run.lambda_.invocations] == [load_event(name) for name in SENT_EVENTS]
    assert {invocation.function_name for invocation in run.lambda_.invocations} == {VERSION_ARN}
    assert all("/eu-west-1/lambda/aws4_request" in header for header in run.lambda_authorizations)
    assert len(run.logged("The new version passed the pre-traffic checks")) == 1


def wrong_body() -> Function:
    return broken_on(LIVENESS_ROUTE, lambda answer: {**answer, "body": '{"status":"purring"}'})


def raises_everywhere() -> Function:
    def deployed(event: Any) -> Any:
        raise ImportError("No module named 'petsage_api'")

    return deployed


@pytest.mark.parametrize(
    ("broken", "failed_checks", "problem"),
    [
        (wrong_body, ["liveness"], "the body is not the liveness object"),
        (
            raises_everywhere,
            ["liveness", "liveness HEAD", "direct invoke", "root", "openapi document"],
            "function error (Unhandled): ImportError: No module named 'petsage_api'",
        ),
    ],
    ids=["wrong-body", "raises"],
)
def test_broken_handler_is_reported_failed(
    run_hook: Callable[..., Run], broken: Callable[[], Function], failed_checks: list[str], problem: str
) -> None:
    run = run_hook(broken())

    assert run.codedeploy.reports == reported("Failed")
    [summary] = run.logged("The new version failed the pre-traffic checks")
    assert summary["failed_checks"] == failed_checks
    assert summary["level"] == "ERROR"
    assert run.logged("Check failed")[0]["problems"] == [problem]


def test_readiness_gate_on_fails_a_version_whose_dependencies_are_down(run_hook: Callable[..., Run]) -> None:
    down = broken_on(("GET", "/api/v1/health/ready"), lambda answer: {**answer, "statusCode": 503})

    assert run_hook(down).codedeploy.reports == reported("Succeeded")
    assert run_hook(down, GATE_ON_READINESS="true").codedeploy.reports == reported("Failed")
