"""Shared fixtures: requests as API Gateway sends them, a Lambda context, and what the function writes.

Events are built from the request (method, path, headers, signed or not), by the same code that
builds them for `make run` (local_api.events), routed as template.yaml routes them: a test names a
route, never an event file. The committed events/ are examples for `sam local invoke`.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local_api.events import LOCAL_IAM_IDENTITY, build_event
from local_api.lambda_runtime import LocalLambdaContext
from local_api.template import Route, http_api_routes, load_template, matching_route
from tests import pytest_progress

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"
API_FUNCTION_DIR = REPO_ROOT / "functions" / "api"
Invoke = Callable[[Any], Any]


@cache
def template_routes() -> dict[Route, Any]:
    return http_api_routes(load_template())


def request(
    method: str = "GET",
    path: str = "/api/v1/health",
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    signed: bool = False,
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends for this request; `signed`: as its IAM authorizer
    passes a SigV4-signed one on. `path` may carry a query string."""
    route = matching_route(template_routes(), method, path.partition("?")[0])
    return build_event(
        method=method,
        target=path,
        headers=[("host", "abc123defg.execute-api.eu-west-1.amazonaws.com"), *(headers or {}).items()],
        body=body,
        source_ip="203.0.113.10",
        route_key=str(route),
        iam_identity=LOCAL_IAM_IDENTITY if signed else None,
    )


def load_event(name: str) -> Any:
    """events/<name>.json, the committed example."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def fresh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next invocation is its execution environment's first: a cold start as Powertools counts it
    (its own flag, read and cleared by inject_lambda_context; provisioned concurrency never has one)."""
    monkeypatch.setattr("aws_lambda_powertools.logging.logger.is_cold_start", True)


def body_bytes(response: dict[str, Any]) -> bytes:
    """A proxy response's body as sent: base64-decoded (strictly) when API Gateway is told it is
    encoded; payload format 2.0 reads an absent isBase64Encoded as false."""
    body: str = response["body"]
    return base64.b64decode(body, validate=True) if response.get("isBase64Encoded") else body.encode()


def records(lines: list[dict[str, Any]], message: str | None = None) -> list[dict[str, Any]]:
    """The written lines with this message; by default, the invocations' records."""
    from petsage_api.observability import REQUEST_RECORD  # the function's code, imported when used

    return [line for line in lines if line.get("message") == (message or REQUEST_RECORD)]


def run_in_fresh_interpreter(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter from the function's folder: it sees what a cold start
    imports, not what this test process has imported already. With `env`, that is its whole
    environment (PATH empty unless given), as Lambda sets only what the template says."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=API_FUNCTION_DIR,
        env=None if env is None else {"PATH": "", **env},
        capture_output=True,
        text=True,
        check=True,
    )


# For run_in_fresh_interpreter: one invocation with the event file named by argv[1], and a context
# as the Lambda runtime passes it; `response` holds the answer.
INVOKE_ONCE = """
import json, sys
from types import SimpleNamespace
from handler import lambda_handler
context = SimpleNamespace(function_name="HealthFunction", memory_limit_in_mb=1769, aws_request_id="c0ffee",
    invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:HealthFunction",
    get_remaining_time_in_millis=lambda: 5000)
response = lambda_handler(json.load(open(sys.argv[1])), context)
"""


def pytest_configure(config: pytest.Config) -> None:
    pytest_progress.attach(config)


@pytest.fixture(scope="module")
def unreachable_endpoint() -> Iterator[str]:
    """A loopback port that is bound but never listens: every connection to it is refused at once,
    and no other process can take the port while the tests use it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield "http://127.0.0.1:{}".format(*sock.getsockname()[1:2])


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="HealthFunction")


@pytest.fixture
def invoke() -> Invoke:
    """Call the real handler the way the Lambda runtime does: each invocation with its own context."""
    from handler import lambda_handler

    return lambda event: lambda_handler(event, LocalLambdaContext(function_name="HealthFunction"))


def logged(caplog: pytest.LogCaptureFixture, message: str) -> dict[str, Any]:
    """The fields of the one record logged with this message (extra keys included).

    Powertools' JSON handler writes to the real stdout, so tests read the log records.
    """
    found = [record for record in caplog.records if record.getMessage() == message]
    assert len(found) == 1, f"expected one {message!r} log record, got {[r.getMessage() for r in caplog.records]}"
    return vars(found[0])


class _CurrentStdout:
    """Whatever sys.stdout is when a line is written (pytest swaps it between test phases)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def written(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every line the function writes to its log stream, in order, parsed as JSON.

    On Lambda that stream is stdout: Powertools Logger's handler (bound to a stream at import)
    and the EMF records Powertools Metrics prints. Both reach pytest's captured stdout here.
    """
    from petsage_api.observability import logger

    [handler] = logger.handlers
    # Swapped, not setStream(): that flushes the old stream, which under `make mutation` is
    # mutmut's output capture of the run that imported the logger, closed since.
    previous = handler.stream  # type: ignore[attr-defined]
    handler.stream = _CurrentStdout()  # type: ignore[attr-defined]
    seen: list[str] = []

    def lines() -> list[dict[str, Any]]:
        seen.extend(capsys.readouterr().out.splitlines())
        return [json.loads(line) for line in seen]

    yield lines
    handler.stream = previous  # type: ignore[attr-defined]


# --- readiness against moto -----------------------------------------------------------------

AWS_REGION = "eu-west-1"


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for moto; never real ones, never an instance's."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def create_resources(table: str, bucket: str, parameter: str, parameter_type: str = "String") -> None:
    """One DynamoDB table, S3 bucket and SSM parameter, in moto (inside `mock_aws`)."""
    import boto3

    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    boto3.client("ssm").put_parameter(Name=parameter, Value="on", Type=parameter_type)
