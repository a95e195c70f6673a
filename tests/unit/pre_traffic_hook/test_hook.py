"""The pre-traffic hook: what it reports to CodeDeploy, and what it logs, for each way a new version can answer.

The hook's real boto3 clients are used; the fakes answer at botocore's send step, so the SDK
serialises, retries and parses as it would against AWS, and no socket is ever opened.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from botocore.exceptions import ReadTimeoutError

import pre_traffic_hook.handler
from local_api.lambda_runtime import LocalLambdaContext
from pre_traffic_hook.clients import (
    CONNECT_TIMEOUT_SECONDS,
    INVOKE_MAX_ATTEMPTS,
    INVOKE_WORST_CASE_SECONDS,
    REPORT_MAX_ATTEMPTS,
    REPORT_WORST_CASE_SECONDS,
    AwsClients,
    worst_case_seconds,
)
from pre_traffic_hook.hook import run_hook
from tests.conftest import EVENTS_DIR, load_event, logged
from tests.contract import LIVENESS
from tests.fake_lambda import (
    HOOK_EVENT,
    LIVENESS_ROUTE,
    SENT_EVENTS,
    VERSION_ARN,
    FakeCodeDeploy,
    FakeLambda,
    Function,
    Hang,
    HttpReply,
    Throttled,
    broken_on,
    health_function,
    reported,
)

REGION = "eu-west-1"
ENVIRON = {"TARGET_VERSION_ARN": VERSION_ARN, "GATE_ON_READINESS": "false"}
GATING_CHECKS = ["liveness", "liveness HEAD", "direct invoke", "root", "openapi document"]


class _Body(io.BytesIO):
    """A response body as botocore reads it from urllib3: streamed, or read whole."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


@dataclass
class Aws:
    """The fakes behind the hook's clients."""

    lambda_: FakeLambda
    codedeploy: FakeCodeDeploy = field(default_factory=FakeCodeDeploy)
    clients: AwsClients = field(init=False)

    def __post_init__(self) -> None:
        self.clients = AwsClients()  # a boto3 Session, with the dummy credentials and region of the environment
        for client, answer in (
            (self.clients.lambda_client(), self._lambda),
            (self.clients.codedeploy_client(), self._codedeploy),
        ):
            # Every request of these clients, whatever the operation, is answered here.
            cast(Any, client).meta.events.register("before-send", answer)

    def _lambda(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        try:
            reply = self.lambda_.invoke(urlsplit(request.url).path, _body(request))
        except Hang:
            raise ReadTimeoutError(endpoint_url=request.url) from None
        return _response(request.url, reply)

    def _codedeploy(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target")
        reply = self.codedeploy.call(target.decode() if isinstance(target, bytes) else target, _body(request))
        return _response(request.url, reply)

    def sent(self) -> list[Any]:
        return [invocation.event for invocation in self.lambda_.invocations]


def _body(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None or isinstance(body, bytes | bytearray | str):
        return body.encode() if isinstance(body, str) else bytes(body or b"")
    content = body.read()
    return content.encode() if isinstance(content, str) else content


def _response(url: str, reply: HttpReply) -> AWSResponse:
    headers = HTTPHeaders()
    for name, value in {**reply.headers, "Content-Length": str(len(reply.body))}.items():
        headers[name] = value
    return AWSResponse(url, reply.status, headers, _Body(reply.body))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Dummy credentials and a region; no profile, config file or endpoint of the machine's. INFO lines captured."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_CODEDEPLOY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    caplog.set_level(logging.INFO, logger="pre_traffic_hook")


def hook(
    function: Function = health_function,
    *,
    event: Any = HOOK_EVENT,
    environ: dict[str, str] | None = None,
    seconds_left: float = 60,
    events_dir: Path = EVENTS_DIR,
    aws: Aws | None = None,
) -> Aws:
    """Run the hook once, as CodeDeploy would call it, against `function` deployed as the new version."""
    aws = aws or Aws(FakeLambda(function))
    context = LocalLambdaContext("CodeDeployHook_petsage-health-dev", timeout_ms=int(seconds_left * 1000))
    run_hook(
        event, context, environ=ENVIRON if environ is None else environ, events_dir=events_dir, clients=aws.clients
    )
    return aws


def all_logged(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    return [vars(record) for record in caplog.records if record.getMessage() == message]


def failed_check(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The one gating check that failed, as logged, after the summary named it and only it."""
    record = logged(caplog, "Check failed")
    assert logged(caplog, "The new version failed the pre-traffic checks")["failed_checks"] == [record["check"]]
    return record


def with_header_removed(*names: str) -> Callable[[Any], Any]:
    def change(answer: Any) -> Any:
        return {**answer, "headers": {k: v for k, v in answer["headers"].items() if k not in names}}

    return change


def raising(error: Exception) -> Callable[[Any], Any]:
    def change(answer: Any) -> Any:
        raise error

    return change


# --- healthy -------------------------------------------------------------------------------


def test_healthy_version_is_reported_succeeded_once(caplog: pytest.LogCaptureFixture) -> None:
    aws = hook()

    assert aws.codedeploy.reports == reported("Succeeded")
    assert logged(caplog, "The new version passed the pre-traffic checks")["target_version_arn"] == VERSION_ARN
    assert [record["check"] for record in all_logged(caplog, "Check passed")] == [*GATING_CHECKS, "readiness"]


def test_the_committed_events_go_to_the_new_version_never_the_alias() -> None:
    aws = hook()

    assert aws.sent() == [load_event(name) for name in SENT_EVENTS]
    assert load_event("direct-invoke") == {}
    assert {invocation.function_name for invocation in aws.lambda_.invocations} == {VERSION_ARN}


def test_passed_checks_log_what_came_back(caplog: pytest.LogCaptureFixture) -> None:
    hook()

    liveness = all_logged(caplog, "Check passed")[0]
    assert liveness["event"] == "health.json"
    assert liveness["status_code"] == 200
    assert json.loads(liveness["body_excerpt"]) == LIVENESS


# --- a broken version fails the gate, and the log says why ------------------------------------


def test_wrong_liveness_body_fails(caplog: pytest.LogCaptureFixture) -> None:
    wrong = broken_on(LIVENESS_ROUTE, lambda answer: {**answer, "body": '{"status":"ok"}'})

    aws = hook(wrong)

    assert aws.codedeploy.reports == reported("Failed")
    record = failed_check(caplog)
    assert record["check"] == "liveness"
    assert record["problems"] == ["the body is not the liveness object"]
    assert record["body_excerpt"] == '{"status":"ok"}'


def test_liveness_500_fails(caplog: pytest.LogCaptureFixture) -> None:
    error = broken_on(LIVENESS_ROUTE, lambda answer: {**answer, "statusCode": 500, "body": '{"message":"boom"}'})

    aws = hook(error)

    assert aws.codedeploy.reports == reported("Failed")
    record = failed_check(caplog)
    assert record["problems"] == ["status 500, expected 200", "the body is not the liveness object"]
    assert record["status_code"] == 500


def test_missing_standard_headers_fail(caplog: pytest.LogCaptureFixture) -> None:
    bare = broken_on(LIVENESS_ROUTE, with_header_removed("X-Content-Type-Options", "Cache-Control"))

    aws = hook(bare)

    assert aws.codedeploy.reports == reported("Failed")
    assert failed_check(caplog)["problems"] == [
        "header x-content-type-options is missing",
        "header cache-control is missing",
    ]


def test_header_names_are_case_insensitive_and_values_are_read_as_http_does() -> None:
    def lower_case_headers(answer: Any) -> Any:
        headers = {"content-type": "application/json; charset=utf-8", "x-content-type-options": "nosniff"}
        return {**answer, "headers": {**headers, "cache-control": "private, no-store"}}

    aws = hook(broken_on(LIVENESS_ROUTE, lower_case_headers))

    assert aws.codedeploy.reports == reported("Succeeded")


def test_a_base64_encoded_body_is_decoded_before_it_is_compared() -> None:
    def encoded(answer: Any) -> Any:
        return {**answer, "body": base64.b64encode(answer["body"].encode()).decode(), "isBase64Encoded": True}

    aws = hook(broken_on(LIVENESS_ROUTE, encoded))

    assert aws.codedeploy.reports == reported("Succeeded")


def test_wrong_content_type_fails(caplog: pytest.LogCaptureFixture) -> None:
    def text(answer: Any) -> Any:
        return {**answer, "headers": {**answer["headers"], "Content-Type": "text/plain"}}

    aws = hook(broken_on(LIVENESS_ROUTE, text))

    assert aws.codedeploy.reports == reported("Failed")
    assert failed_check(caplog)["problems"] == ["header content-type is 'text/plain', expected application/json"]


def test_head_with_a_body_fails(caplog: pytest.LogCaptureFixture) -> None:
    aws = hook(broken_on(("HEAD", "/api/v1/health"), lambda answer: {**answer, "body": "{}"}))

    assert aws.codedeploy.reports == reported("Failed")
    assert failed_check(caplog)["problems"] == ["the body is not empty (2 characters)"]


def test_direct_invoke_must_answer_the_liveness_object(caplog: pytest.LogCaptureFixture) -> None:
    def direct_is_http(event: Any) -> Any:
        return {"statusCode": 200, "body": "{}"} if event == {} else health_function(event)

    aws = hook(direct_is_http)

    assert aws.codedeploy.reports == reported("Failed")
    record = failed_check(caplog)
    assert (record["check"], record["problems"]) == ("direct invoke", ["the answer is not the liveness object"])


def test_openapi_route_gone_fails(caplog: pytest.LogCaptureFixture) -> None:
    gone = broken_on(("GET", "/openapi.json"), lambda answer: {**answer, "statusCode": 404, "body": ""})

    aws = hook(gone)

    assert aws.codedeploy.reports == reported("Failed")
    record = failed_check(caplog)
    assert (record["check"], record["problems"], record["status_code"]) == (
        "openapi document",
        ["status 404, expected 200"],
        404,
    )


def test_every_failing_check_is_logged_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    def everything_500(event: Any) -> Any:
        return {"statusCode": 500, "headers": {}, "body": ""}

    aws = hook(everything_500)

    assert aws.codedeploy.reports == reported("Failed")
    summary = logged(caplog, "The new version failed the pre-traffic checks")
    assert summary["failed_checks"] == GATING_CHECKS
    assert [record["check"] for record in all_logged(caplog, "Check failed")] == GATING_CHECKS


# --- the invoke itself fails --------------------------------------------------------------------


def test_function_error_fails_with_its_type_and_message_not_its_stack(caplog: pytest.LogCaptureFixture) -> None:
    crashing = broken_on(LIVENESS_ROUTE, raising(KeyError("requestContext")))

    aws = hook(crashing)

    assert aws.codedeploy.reports == reported("Failed")
    record = failed_check(caplog)
    assert record["problems"] == ["function error (Unhandled): KeyError: 'requestContext'"]
    assert "body_excerpt" not in record  # the error payload carries the stack trace


def test_throttling_that_persists_fails_after_one_retry(caplog: pytest.LogCaptureFixture) -> None:
    throttled = broken_on(LIVENESS_ROUTE, raising(Throttled()))

    aws = hook(throttled)

    assert aws.codedeploy.reports == reported("Failed")
    assert failed_check(caplog)["problems"] == ["Invoke failed: TooManyRequestsException (HTTP 429) after 2 attempts"]
    assert aws.sent().count(load_event("health")) == 2


def test_one_throttle_is_absorbed_by_the_retry(caplog: pytest.LogCaptureFixture) -> None:
    throttles = [Throttled()]

    def throttled_once(event: Any) -> Any:
        if throttles:
            raise throttles.pop()
        return health_function(event)

    aws = hook(throttled_once)

    assert aws.codedeploy.reports == reported("Succeeded")
    assert len(aws.sent()) == len(SENT_EVENTS) + 1


def test_invoke_timeout_fails(caplog: pytest.LogCaptureFixture) -> None:
    hanging = broken_on(LIVENESS_ROUTE, raising(Hang()))

    aws = hook(hanging)

    assert aws.codedeploy.reports == reported("Failed")
    assert failed_check(caplog)["problems"] == ["no answer within the read timeout (ReadTimeoutError)"]
    assert aws.sent().count(load_event("health")) == 2  # standard mode retries a timeout once


def test_a_different_executed_version_fails(caplog: pytest.LogCaptureFixture) -> None:
    lambda_ = FakeLambda(health_function, executed_version="6")

    aws = hook(aws=Aws(lambda_))

    assert aws.codedeploy.reports == reported("Failed")
    problems = {record["check"]: record["problems"] for record in all_logged(caplog, "Check failed")}
    assert problems["liveness"] == ["Lambda ran version '6', not '7'"]


# --- readiness gates only when asked to ----------------------------------------------------------


def failing_readiness() -> Function:
    def unavailable(answer: Any) -> Any:
        return {**answer, "statusCode": 503, "body": '{"status":"fail"}'}

    return broken_on(("GET", "/api/v1/health/ready"), unavailable)


def test_readiness_failing_with_the_gate_off_is_logged_and_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    aws = hook(failing_readiness())

    assert aws.codedeploy.reports == reported("Succeeded")
    record = logged(caplog, "Check failed, not gating this deploy")
    assert (record["check"], record["status_code"], record["problems"]) == (
        "readiness",
        503,
        ["status 503, expected 200"],
    )
    assert record["levelname"] == "WARNING"


def test_readiness_failing_with_the_gate_on_fails(caplog: pytest.LogCaptureFixture) -> None:
    aws = hook(failing_readiness(), environ={**ENVIRON, "GATE_ON_READINESS": "true"})

    assert aws.codedeploy.reports == reported("Failed")
    record = failed_check(caplog)
    assert (record["check"], record["status_code"]) == ("readiness", 503)


def test_readiness_gate_defaults_to_off() -> None:
    aws = hook(failing_readiness(), environ={"TARGET_VERSION_ARN": VERSION_ARN})

    assert aws.codedeploy.reports == reported("Succeeded")


# --- the hook never raises, and reports once whatever happens --------------------------------------


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({}, "TARGET_VERSION_ARN is not set"),
        ({"TARGET_VERSION_ARN": VERSION_ARN.rsplit(":", 1)[0] + ":live"}, "is not the ARN of a published"),
        ({"TARGET_VERSION_ARN": VERSION_ARN.rsplit(":", 1)[0]}, "is not the ARN of a published"),
        ({**ENVIRON, "GATE_ON_READINESS": "yes"}, "GATE_ON_READINESS must be true or false"),
    ],
    ids=["no-target", "alias", "unqualified", "junk-gate"],
)
def test_misconfiguration_fails_without_invoking(
    caplog: pytest.LogCaptureFixture, environ: dict[str, str], problem: str
) -> None:
    aws = hook(environ=environ)

    assert aws.codedeploy.reports == reported("Failed")
    assert aws.sent() == []
    assert problem in logged(caplog, "The pre-traffic hook is misconfigured")["problem"]


def test_an_artifact_without_its_events_fails(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    aws = hook(events_dir=tmp_path)

    assert aws.codedeploy.reports == reported("Failed")
    assert "health.json" in logged(caplog, "The pre-traffic hook is misconfigured")["problem"]


def test_too_little_time_left_fails_without_invoking(caplog: pytest.LogCaptureFixture) -> None:
    aws = hook(seconds_left=20)

    assert aws.codedeploy.reports == reported("Failed")
    assert aws.sent() == []
    assert all_logged(caplog, "Check failed")[0]["problems"][0].startswith("not run: ")


@dataclass
class LambdaClientFails:
    """Clients whose Lambda client cannot be made: an error the hook did not plan for."""

    working: AwsClients

    def lambda_client(self) -> Any:
        raise RuntimeError("no Lambda client")

    def codedeploy_client(self) -> Any:
        return self.working.codedeploy_client()


def test_an_unexpected_error_is_a_reported_failure(caplog: pytest.LogCaptureFixture) -> None:
    aws = Aws(FakeLambda(health_function))

    run_hook(HOOK_EVENT, None, environ=ENVIRON, events_dir=EVENTS_DIR, clients=LambdaClientFails(aws.clients))

    assert aws.codedeploy.reports == reported("Failed")
    assert logged(caplog, "The pre-traffic checks could not run")["exc_info"] is not None


@pytest.mark.parametrize(
    "event",
    [
        {},
        None,
        [],
        "d-A1B2C3D4E",
        {"DeploymentId": "d-A1B2C3D4E"},
        {"DeploymentId": "d-A1B2C3D4E", "LifecycleEventHookExecutionId": 7},
        {"DeploymentId": "", "LifecycleEventHookExecutionId": "abc"},
    ],
    ids=["empty", "null", "list", "string", "no-execution-id", "number-id", "empty-id"],
)
def test_malformed_hook_event_is_logged_and_nothing_is_reported(caplog: pytest.LogCaptureFixture, event: Any) -> None:
    aws = hook(event=event)

    assert aws.codedeploy.reports == []
    assert aws.sent() == []
    record = logged(
        caplog, "Not a CodeDeploy hook event (no DeploymentId and LifecycleEventHookExecutionId): nothing to report to"
    )
    assert record["event_type"] == type(event).__name__
    assert record["levelname"] == "ERROR"


def test_a_report_codedeploy_refuses_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    aws = Aws(FakeLambda(health_function), FakeCodeDeploy(error=(400, "DeploymentDoesNotExistException")))

    hook(aws=aws)

    assert aws.codedeploy.reports == reported("Succeeded")  # one attempt: a 400 is not retried
    record = logged(
        caplog, "Could not report the hook status: CodeDeploy will fail the deployment when the hook times out"
    )
    assert record["error_code"] == "DeploymentDoesNotExistException"


def test_an_already_completed_hook_execution_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    aws = Aws(FakeLambda(health_function), FakeCodeDeploy(error=(400, "LifecycleEventAlreadyCompletedException")))

    hook(aws=aws)

    assert len(aws.codedeploy.reports) == 1
    assert logged(caplog, "CodeDeploy already has a status for this hook execution")["levelname"] == "WARNING"


def test_no_region_means_no_client_and_nothing_to_report_to(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)

    run_hook(HOOK_EVENT, None, environ=ENVIRON, events_dir=EVENTS_DIR, clients=AwsClients())

    record = logged(caplog, "Could not create the CodeDeploy client: the hook status cannot be reported")
    assert record["error_code"] == "NoRegionError"
    assert record["deployment_id"] == HOOK_EVENT["DeploymentId"]


def test_the_handler_never_raises(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashes(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in the hook")

    monkeypatch.setattr(pre_traffic_hook.handler, "run_hook", crashes)

    pre_traffic_hook.handler.lambda_handler(HOOK_EVENT, None)

    assert logged(caplog, "The pre-traffic hook failed unexpectedly")["exc_info"] is not None


# --- time: a check starts only when it and the report fit in what is left ----------------------


def botocores_longest_backoffs(attempts: int) -> list[float]:
    """botocore's own standard-mode backoff before each retry, at its longest: full jitter, a
    throttling error, and a service asking for a long wait with x-amz-retry-after."""
    from types import SimpleNamespace

    from botocore.retries.standard import ExponentialBackoff

    throttling: Any = SimpleNamespace(is_throttling_error_from_context=lambda context: True)
    backoff = ExponentialBackoff(random=lambda: 1.0, throttling_detector=throttling)
    asks_a_minute = SimpleNamespace(headers={"x-amz-retry-after": "60000"})
    return [
        backoff.delay_amount(cast(Any, SimpleNamespace(attempt_number=attempt, http_response=asks_a_minute)))
        for attempt in range(1, attempts)
    ]


@pytest.mark.parametrize(("attempts", "read_timeout"), [(INVOKE_MAX_ATTEMPTS, 8), (REPORT_MAX_ATTEMPTS, 3), (1, 3)])
def test_a_calls_worst_case_covers_botocores_longest_backoff(attempts: int, read_timeout: float) -> None:
    timeouts = attempts * (CONNECT_TIMEOUT_SECONDS + read_timeout)
    assert worst_case_seconds(attempts, read_timeout) == timeouts + sum(botocores_longest_backoffs(attempts))


def test_the_hooks_timeout_leaves_room_for_a_check_and_the_report() -> None:
    from local_api.template import load_template

    timeout = load_template()["Resources"]["PreTrafficHookFunction"]["Properties"]["Timeout"]
    assert timeout - 1 > INVOKE_WORST_CASE_SECONDS + REPORT_WORST_CASE_SECONDS  # a second for init
