"""The Synthetics canary's script, run as the runtime runs it, against real HTTP on loopback.

Only the Synthetics runtime library (`aws_synthetics`, here its logger) is stood in for, and
CloudWatch: the metrics go through a real boto3 client, which checks them against the API's
model, into botocore's Stubber. The script itself is the file template.yaml embeds, and the
liveness check runs against the local API.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.conftest import REPO_ROOT
from tests.contract import LIVENESS_BODY
from tests.integration.conftest import LocalApi

pytestmark = pytest.mark.integration

CANARY_SCRIPT = REPO_ROOT / "canary" / "api_canary.py"
HEALTH_JSON = "application/health+json"


@dataclass
class SyntheticsRuntime:
    """What the canary sees of the Synthetics library: its logger."""

    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def info(self, message: str) -> None:
        self.lines.append(message)

    def error(self, message: str) -> None:
        self.errors.append(message)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> SyntheticsRuntime:
    runtime = SyntheticsRuntime()
    package = types.ModuleType("aws_synthetics")
    common = types.ModuleType("aws_synthetics.common")
    common.synthetics_logger = runtime  # type: ignore[attr-defined]
    for name, module in {"aws_synthetics": package, "aws_synthetics.common": common}.items():
        monkeypatch.setitem(sys.modules, name, module)
    return runtime


@dataclass
class CloudWatch:
    """What the canary sent to PutMetricData, call by call; `refuse` makes CloudWatch answer an error."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False

    def results(self) -> dict[str, float]:
        """Check -> CheckSuccessPercent, in the order published: one call per check, as it ends."""
        found = {}
        for call in self.calls:
            [datum] = call["MetricData"]
            assert (call["Namespace"], datum["MetricName"]) == ("CloudWatchSynthetics", "CheckSuccessPercent")
            dimensions = {d["Name"]: d["Value"] for d in datum["Dimensions"]}
            assert dimensions.keys() == {"CanaryName", "Check"}
            assert dimensions["CanaryName"] == CANARY_NAME
            assert datum["Unit"] == "Percent"
            found[dimensions["Check"]] = datum["Value"]
        return found


CANARY_NAME = "petsage-health-test"


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> CloudWatch:
    """boto3.client("cloudwatch") as the canary gets it: real request validation, no network."""
    calls_per_run = 3  # one PutMetricData per check
    import boto3
    from botocore.stub import Stubber

    recorder = CloudWatch()
    monkeypatch.setenv("CANARY_NAME", CANARY_NAME)

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        assert service == "cloudwatch"
        session = boto3.session.Session(region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")  # noqa: S106
        real = session.client("cloudwatch")
        real.meta.events.register(
            "provide-client-params.cloudwatch.PutMetricData",
            lambda params, **_: recorder.calls.append(params),
        )
        stubber = Stubber(real)
        if recorder.refuse:
            stubber.add_client_error("put_metric_data", "AccessDenied", http_status_code=403)
        else:
            for _ in range(calls_per_run):
                stubber.add_response("put_metric_data", {})
        stubber.activate()
        return real

    monkeypatch.setattr(boto3, "client", client)
    return recorder


def run(canary: types.ModuleType) -> str:
    """One canary run, as the runtime awaits the handler."""
    answer: str = asyncio.run(canary.handler({}, None))
    return answer


@pytest.fixture
def canary(runtime: SyntheticsRuntime) -> types.ModuleType:
    """The committed script, imported fresh as the runtime imports python/api_canary.py."""
    spec = importlib.util.spec_from_file_location("api_canary", CANARY_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Answer = tuple[int, str, bytes]


class CannedApi(ThreadingHTTPServer):
    """A loopback server answering fixed responses per path: an API whose contract broke."""

    daemon_threads = True
    instances: ClassVar[list[CannedApi]] = []

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.authorizations: dict[str, str] = {}  # path -> the Authorization header it came with
        super().__init__(("127.0.0.1", 0), _CannedHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _CannedHandler(BaseHTTPRequestHandler):
    server: CannedApi

    def do_GET(self) -> None:
        self.server.authorizations[self.path] = self.headers.get("Authorization", "")
        status, content_type, body = self.server.answers.get(self.path, (404, "application/json", b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def canned_api() -> Iterator[Callable[[dict[str, Answer]], str]]:
    servers: list[CannedApi] = []

    def serve(answers: dict[str, Answer]) -> str:
        server = CannedApi(answers)
        CannedApi.instances.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return server.url

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
    CannedApi.instances.clear()


def readiness(status: str, code: int = 200) -> Answer:
    return code, HEALTH_JSON, json.dumps({"status": status}).encode()


def details(status: str, checks: dict[str, str], code: int = 200) -> Answer:
    document = {"status": status, "checks": {key: [{"status": value}] for key, value in checks.items()}}
    return code, HEALTH_JSON, json.dumps(document).encode()


HEALTHY: dict[str, Answer] = {
    "/api/v1/health": (200, "application/json", LIVENESS_BODY.encode()),
    "/api/v1/health/ready": readiness("pass"),
    "/api/v1/health/ready/details": details("pass", {"dynamodb/pets:responseTime": "pass"}),
}
ALL_PASSED = {"liveness": 100.0, "readiness details": 100.0, "readiness": 100.0}


@pytest.fixture(autouse=True)
def canary_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials Lambda gives the canary's role, in its environment (fake ones here)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACANARYROLE000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "canary-session")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_liveness_check_passes_on_the_real_function(
    canary: types.ModuleType, runtime: SyntheticsRuntime, local_api: LocalApi
) -> None:
    canary.check_liveness(local_api.url)
    assert runtime.lines == ["/api/v1/health: 200, liveness contract intact"]


def test_the_liveness_check_fails_where_the_real_function_has_no_route(
    canary: types.ModuleType, local_api: LocalApi
) -> None:
    with pytest.raises(canary.ContractBroken, match="answered 404"):
        canary.check_liveness(local_api.url + "/nowhere")


@pytest.mark.parametrize("status", ["pass", "warn"])
def test_a_run_passes_when_live_and_ready(
    canary: types.ModuleType,
    runtime: SyntheticsRuntime,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    status: str,
    cloudwatch: CloudWatch,
) -> None:
    monkeypatch.setenv("API_URL", canned_api({**HEALTHY, "/api/v1/health/ready": readiness(status)}) + "/")
    assert run(canary) == "PetSage API health contract intact"
    assert cloudwatch.results() == ALL_PASSED
    # Liveness first, as soon as it is known: a run killed by its timeout later has told the gate.
    assert list(cloudwatch.results()) == ["liveness", "readiness details", "readiness"]
    assert f"/api/v1/health/ready: 200, status {status}" in runtime.lines


@pytest.mark.parametrize(
    ("path", "answer", "step", "reason"),
    [
        pytest.param(
            "/api/v1/health",
            (200, "application/json", b'{"status":"ok","message":"PetSage API is purring"}'),
            "liveness",
            "body is not the liveness contract",
            id="reworded liveness message",
        ),
        pytest.param(
            "/api/v1/health",
            (200, "application/json", b'{"status":"ok","message":"PetSage API is purring!","x":1}'),
            "liveness",
            "body is not the liveness contract",
            id="extra liveness field",
        ),
        pytest.param(
            "/api/v1/health",
            (200, "text/html", LIVENESS_BODY.encode()),
            "liveness",
            "Content-Type is 'text/html'",
            id="liveness served as HTML",
        ),
        pytest.param(
            "/api/v1/health",
            (500, "application/json", b'{"statusCode":500,"message":"Internal Server Error"}'),
            "liveness",
            "answered 500",
            id="liveness 500",
        ),
        pytest.param("/api/v1/health/ready", readiness("fail", 503), "readiness", "answered 503", id="not ready 503"),
        pytest.param("/api/v1/health/ready", readiness("fail"), "readiness", "status is 'fail'", id="fail despite 200"),
        pytest.param(
            "/api/v1/health/ready",
            (200, HEALTH_JSON, b"<html>ok</html>"),
            "readiness",
            "status is None",
            id="readiness not JSON",
        ),
        pytest.param(
            "/api/v1/health/ready",
            (200, "text/plain", b'{"status":"pass"}'),
            "readiness",
            "Content-Type is 'text/plain'",
            id="readiness as text",
        ),
    ],
)
def test_a_run_fails_on_a_broken_contract(
    canary: types.ModuleType,
    runtime: SyntheticsRuntime,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    answer: Answer,
    step: str,
    reason: str,
    cloudwatch: CloudWatch,
) -> None:
    monkeypatch.setenv("API_URL", canned_api({**HEALTHY, path: answer}))
    with pytest.raises(canary.ContractBroken, match=reason):
        run(canary)
    # The broken check is published as 0 (the gate reads liveness's), every other one as measured.
    assert cloudwatch.results() == {**ALL_PASSED, step: 0.0}
    assert any(line.startswith(f"{step}: failed: ") for line in runtime.errors)


def test_a_run_fails_when_the_api_is_unreachable(
    canary: types.ModuleType, monkeypatch: pytest.MonkeyPatch, unreachable_endpoint: str, cloudwatch: CloudWatch
) -> None:
    monkeypatch.setenv("API_URL", unreachable_endpoint)
    with pytest.raises(ConnectionRefusedError):
        run(canary)
    assert cloudwatch.results() == dict.fromkeys(ALL_PASSED, 0.0)


def test_a_run_fails_when_cloudwatch_refuses_its_metrics(
    canary: types.ModuleType,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    cloudwatch: CloudWatch,
) -> None:
    # A gate whose metric never arrives does nothing: the run fails instead, and CanaryFailedAlarm sees it.
    from botocore.exceptions import ClientError

    cloudwatch.refuse = True
    monkeypatch.setenv("API_URL", canned_api(HEALTHY))
    with pytest.raises(ClientError, match="AccessDenied"):
        run(canary)


def test_the_details_are_requested_signed_with_sigv4_for_execute_api_and_the_rest_unsigned(
    canary: types.ModuleType,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    cloudwatch: CloudWatch,
) -> None:
    url = canned_api(HEALTHY)
    monkeypatch.setenv("API_URL", url)
    run(canary)
    server = next(s for s in CannedApi.instances if s.url == url)
    signature = server.authorizations["/api/v1/health/ready/details"]
    assert signature.startswith("AWS4-HMAC-SHA256 Credential=AKIACANARYROLE000000/")
    assert "/eu-west-1/execute-api/aws4_request" in signature
    assert server.authorizations["/api/v1/health"] == server.authorizations["/api/v1/health/ready"] == ""


def test_a_not_ready_run_names_the_failing_checks_in_its_message(
    canary: types.ModuleType,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    cloudwatch: CloudWatch,
) -> None:
    checks = {"dynamodb/pets:responseTime": "fail", "s3/assets:responseTime": "warn", "ssm//flag:responseTime": "pass"}
    broken = {
        **HEALTHY,
        "/api/v1/health/ready": readiness("fail", 503),
        "/api/v1/health/ready/details": details("fail", checks, 503),
    }
    monkeypatch.setenv("API_URL", canned_api(broken))
    with pytest.raises(
        canary.ContractBroken,
        match=r"checks not passing: dynamodb/pets:responseTime fail, s3/assets:responseTime warn;",
    ):
        run(canary)
    assert cloudwatch.results() == {**ALL_PASSED, "readiness": 0.0}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((403, "application/json", b'{"message":"Forbidden"}'), "answered 403"),
        ((200, HEALTH_JSON, b'{"status":"pass"}'), "has no checks object"),
        ((200, "application/json", b'{"status":"pass","checks":{}}'), "Content-Type is 'application/json'"),
    ],
    ids=["refused", "no checks", "wrong media type"],
)
def test_a_run_fails_when_the_details_are_refused_or_malformed(
    canary: types.ModuleType,
    runtime: SyntheticsRuntime,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    answer: Answer,
    reason: str,
    cloudwatch: CloudWatch,
) -> None:
    monkeypatch.setenv("API_URL", canned_api({**HEALTHY, "/api/v1/health/ready/details": answer}))
    with pytest.raises(canary.ContractBroken, match=reason):
        run(canary)
    assert cloudwatch.results()["readiness details"] == 0.0


def test_without_credentials_the_details_step_fails_saying_so(
    canary: types.ModuleType,
    canned_api: Callable[[dict[str, Answer]], str],
    monkeypatch: pytest.MonkeyPatch,
    cloudwatch: CloudWatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("API_URL", canned_api(HEALTHY))
    with pytest.raises(canary.ContractBroken, match="no AWS credentials"):
        run(canary)


def test_a_run_refuses_a_url_that_is_not_http(
    canary: types.ModuleType, monkeypatch: pytest.MonkeyPatch, cloudwatch: CloudWatch
) -> None:
    monkeypatch.setenv("API_URL", "file:///etc/passwd")
    with pytest.raises(ValueError, match="http"):
        run(canary)


def test_a_run_passes_against_the_real_function(
    canary: types.ModuleType,
    runtime: SyntheticsRuntime,
    local_api: LocalApi,
    monkeypatch: pytest.MonkeyPatch,
    cloudwatch: CloudWatch,
) -> None:
    # Liveness and readiness as the function answers them (readiness checks nothing here: pass),
    # the details signed and let through by the local API as API Gateway lets a valid signature.
    monkeypatch.setenv("API_URL", local_api.url)
    assert run(canary) == "PetSage API health contract intact"
    assert cloudwatch.results() == ALL_PASSED
    assert "/api/v1/health/ready/details: 200, 0 checks" in runtime.lines
