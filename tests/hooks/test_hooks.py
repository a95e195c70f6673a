"""The deploy hooks' contract: each runs unmodified against a deployment on loopback (fakes.py) and
reports Succeeded or Failed to CodeDeploy exactly once, its log naming each failed check and why.

The pre-traffic hook invokes the version through Lambda's Invoke API; the post-traffic hook finds the
HTTP API through CloudFormation and API Gateway, then calls it over HTTP, the details route signed.
"""

from __future__ import annotations

import base64
import http.client
import logging
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from deploy_hooks import post_traffic, pre_traffic
from deploy_hooks.contract import CHECKS, LIVENESS_BODY
from local_api.lambda_runtime import LocalLambdaContext
from petsage_api.health.config import ReadinessConfig
from petsage_api.health.readiness import ReadinessProbe
from tests.conftest import logged
from tests.hooks.fakes import (
    CREDENTIALS,
    HOOK_EVENT,
    REGION,
    VERSION_ARN,
    Deployment,
    broken_on,
    good_version,
    hangs,
    reported,
)

HOOKS = {"pre-traffic": pre_traffic.lambda_handler, "post-traffic": post_traffic.lambda_handler}
CHECKED = {"pre-traffic": [*CHECKS, pre_traffic.DIRECT_INVOKE], "post-traffic": list(CHECKS)}
LIVENESS, READINESS = "GET /api/v1/health", "GET /api/v1/health/ready"
FAILED, PASSED = "The new version failed its checks", "The new version passed its checks"
NOT_A_HOOK_EVENT = (
    "Not a CodeDeploy hook event (no DeploymentId and LifecycleEventHookExecutionId): nothing to report to"
)
HOOK_HEALTH_EVENT = pre_traffic.request_event(CHECKS[0])
NOT_REPORTED = "Could not report the hook status: CodeDeploy will fail the deployment when the hook times out"


def run(hook: str, event: Any = HOOK_EVENT, seconds_left: float = 120) -> None:
    """The hook as Lambda calls it, with `seconds_left` of its 120 s timeout."""
    HOOKS[hook](event, LocalLambdaContext(f"CodeDeployHook_{hook}", timeout_ms=int(seconds_left * 1000)))


def requests_seen(deployment: Deployment) -> list[str]:
    """What reached the version, in its checks' words: "GET /path", or "INVOKE {}" for a direct invoke."""
    return [
        f"{event['requestContext']['http']['method']} {event['rawPath']}" if event else "INVOKE {}"
        for event in deployment.events
    ]


def failed_checks(caplog: pytest.LogCaptureFixture) -> dict[str, list[str]]:
    """Each check the log says failed, with its problems."""
    return {vars(r)["check"]: vars(r)["problems"] for r in caplog.records if r.getMessage() == "Check failed"}


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("hook", HOOKS)
def test_a_good_version_is_reported_succeeded(
    hook: str, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    run(hook)

    assert deployment.reports == reported("Succeeded")
    assert requests_seen(deployment) == [f"{check.method} {check.path}" for check in CHECKED[hook]]
    assert set(deployment.invoked) <= {VERSION_ARN}  # the version itself, never an alias or $LATEST
    assert logged(caplog, PASSED)["checks"] == [check.name for check in CHECKED[hook]]
    assert errors(caplog) == []


@pytest.mark.parametrize("hook", HOOKS)
def test_a_dependency_down_is_not_the_versions_fault(
    hook: str,
    deployment: Deployment,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    unreachable_endpoint: str,
) -> None:
    down = {"HEALTH_HTTP_ENDPOINTS": f"{unreachable_endpoint}/health", "HEALTH_CACHE_TTL_SECONDS": "0"}
    monkeypatch.setattr("petsage_api.health.router.probe", ReadinessProbe(ReadinessConfig.from_environment(down)))

    run(hook)

    assert deployment.reports == reported("Succeeded")
    readiness = [vars(r) for r in caplog.records if r.getMessage() == "Check passed" and "ready" in vars(r)["request"]]
    assert [(r["check"], r["status_code"]) for r in readiness] == [("readiness", 503), ("readiness details", 503)]
    assert all('"status":"fail"' in r["body_excerpt"] for r in readiness)


BROKEN = {
    "liveness answers 500": (
        broken_on(LIVENESS, lambda answer: {**answer, "statusCode": 500}),
        {"liveness": ["status 500, expected 200"]},
    ),
    "liveness answers another body": (
        broken_on(LIVENESS, lambda answer: {**answer, "body": '{"status":"ok","message":"PetSage API is up"}'}),
        {"liveness": ["the body is not the liveness answer"]},
    ),
    "liveness without its standard headers": (
        broken_on(LIVENESS, lambda answer: {**answer, "headers": without(answer["headers"], "cache-control")}),
        {"liveness": ["header cache-control is None, expected no-store"]},
    ),
    "readiness answers plain JSON": (
        broken_on(
            READINESS, lambda answer: {**answer, "headers": {**answer["headers"], "Content-Type": "application/json"}}
        ),
        {"readiness": ["Content-Type is 'application/json', expected application/health+json"]},
    ),
}


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() != name}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize(("version", "problems"), BROKEN.values(), ids=BROKEN)
def test_a_broken_version_is_reported_failed_once(
    hook: str, version: Any, problems: dict[str, list[str]], deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployment.version = version

    run(hook)

    assert deployment.reports == reported("Failed")
    assert failed_checks(caplog) == problems
    assert logged(caplog, FAILED)["failed_checks"] == list(problems)


@pytest.mark.parametrize("hook", HOOKS)
def test_a_version_that_never_answers_is_reported_failed(
    hook: str, deployment: Deployment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each check gives up at the hook's own timeout, shortened here (its retry kept)."""
    monkeypatch.setattr(pre_traffic, "INVOKE_CONFIG", pre_traffic.INVOKE_CONFIG.merge(Config(read_timeout=0.05)))
    monkeypatch.setattr(post_traffic, "HTTP_TIMEOUT_SECONDS", 0.05)
    deployment.version = hangs

    run(hook)

    assert deployment.reports == reported("Failed")
    problem = {"pre-traffic": "no answer within the read timeout", "post-traffic": "no answer from {}: TimeoutError"}
    expected = {check.name: [problem[hook].format(f"{check.method} {check.path}")] for check in CHECKED[hook]}
    assert failed_checks(caplog) == expected


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize(
    "event",
    [{"DeploymentId": "d-ABCDEF123"}, {**HOOK_EVENT, "DeploymentId": "d-ABC DEF"}, ["DeploymentId"], None],
    ids=["no-execution-id", "id-with-a-space", "a-list", "none"],
)
def test_a_malformed_event_is_logged_and_nothing_reported(
    hook: str, event: Any, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    run(hook, event)

    assert deployment.reports == []
    assert requests_seen(deployment) == []
    assert errors(caplog) == [NOT_A_HOOK_EVENT]


@pytest.mark.parametrize("hook", HOOKS)
def test_codedeploy_refusing_the_report_is_logged_never_raised(
    hook: str, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployment.report_error = "AccessDeniedException"

    run(hook)  # returns: a raise would have Lambda retry the hook instead

    assert deployment.reports == reported("Succeeded")  # one attempt: a refusal is not retried
    assert errors(caplog) == [NOT_REPORTED]
    assert logged(caplog, NOT_REPORTED)["error_code"] == "AccessDeniedException"


@pytest.mark.parametrize("hook", HOOKS)
def test_without_a_region_no_client_can_be_made_and_that_is_logged_not_raised(
    hook: str, deployment: Deployment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    run(hook)

    assert (deployment.reports, requests_seen(deployment)) == ([], [])
    message = "Could not create the CodeDeploy client: the hook status cannot be reported"
    assert logged(caplog, message)["error_code"] == "NoRegionError"


@pytest.mark.parametrize("hook", HOOKS)
def test_a_lifecycle_event_already_completed_is_a_warning(
    hook: str, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployment.report_error = "LifecycleEventAlreadyCompletedException"

    run(hook)

    assert logged(caplog, "CodeDeploy already has a status for this hook execution")["levelname"] == "WARNING"
    assert errors(caplog) == []


@pytest.mark.parametrize("hook", HOOKS)
def test_too_little_time_left_fails_without_running_the_checks(
    hook: str, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    run(hook, seconds_left=30)  # a check and the report may take longer: the report must get its time

    assert deployment.reports == reported("Failed")
    assert requests_seen(deployment) == []
    problems = failed_checks(caplog)
    assert list(problems) == [check.name for check in CHECKED[hook]]
    assert all(problem.startswith("not run: ") for [problem] in problems.values())


# --- the pre-traffic hook: what only a direct invoke can go wrong with --------------------------------


@pytest.mark.parametrize(
    "arn",
    ["", VERSION_ARN.replace(":7", ":live"), VERSION_ARN.replace(":7", ":$LATEST"), VERSION_ARN.removesuffix(":7")],
    ids=["missing", "alias", "latest", "unqualified"],
)
def test_pre_traffic_misconfigured_fails_without_invoking(
    arn: str, deployment: Deployment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if arn:
        monkeypatch.setenv("TARGET_VERSION_ARN", arn)
    else:
        monkeypatch.delenv("TARGET_VERSION_ARN")

    run("pre-traffic")

    assert deployment.reports == reported("Failed")
    assert deployment.events == []
    assert logged(caplog, "The pre-traffic hook is misconfigured")["problem"] == f"TARGET_VERSION_ARN is {arn!r}"


def test_pre_traffic_fails_when_lambda_ran_another_version(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployment.executed_version = "6"

    run("pre-traffic")

    assert deployment.reports == reported("Failed")
    assert failed_checks(caplog) == {
        check.name: ["Lambda ran version '6', not '7'"] for check in CHECKED["pre-traffic"]
    }


def test_pre_traffic_logs_a_function_error_by_type_and_message_not_its_stack(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    def raising(event: Any) -> Any:
        raise RuntimeError("the pets table is gone")

    deployment.version = raising

    run("pre-traffic")

    assert deployment.reports == reported("Failed")
    problem = "function error (Unhandled) RuntimeError: the pets table is gone"
    assert failed_checks(caplog) == {check.name: [problem] for check in CHECKED["pre-traffic"]}
    assert "in raising" not in repr([vars(record) for record in caplog.records])  # a frame of the stack Lambda sent


# What API Gateway would hide from the post-traffic hook: a HEAD answer's body, the direct invoke.
BROKEN_INVOKED = {
    "HEAD answers a body": (
        broken_on("HEAD /api/v1/health", lambda answer: {**answer, "body": LIVENESS_BODY}),
        {"liveness HEAD": [f"the body is not empty ({len(LIVENESS_BODY)} characters)"]},
    ),
    "a direct invoke gets an HTTP answer": (
        lambda event: good_version(event if event else HOOK_HEALTH_EVENT),
        {"direct invoke": ["the answer is not the liveness object"]},
    ),
}


@pytest.mark.parametrize(("version", "problems"), BROKEN_INVOKED.values(), ids=BROKEN_INVOKED)
def test_pre_traffic_fails_what_only_an_invoke_sees(
    version: Any, problems: dict[str, list[str]], deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployment.version = version

    run("pre-traffic")

    assert deployment.reports == reported("Failed")
    assert failed_checks(caplog) == problems


@pytest.mark.parametrize(
    ("encoding", "status"),
    [(lambda body: base64.b64encode(body.encode()).decode(), "Succeeded"), (lambda body: body, "Failed")],
    ids=["base64", "claimed-but-plain"],
)
def test_pre_traffic_reads_a_base64_body_as_api_gateway_would(
    encoding: Any, status: str, deployment: Deployment
) -> None:
    def encoded(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "body": encoding(answer["body"]), "isBase64Encoded": True}

    deployment.version = broken_on(LIVENESS, encoded)

    run("pre-traffic")

    assert deployment.reports == reported(status)


def test_pre_traffic_absorbs_one_throttle_with_its_retry(deployment: Deployment) -> None:
    deployment.throttles = 1

    run("pre-traffic")

    assert deployment.reports == reported("Succeeded")
    assert deployment.throttles == 0


def test_pre_traffic_fails_on_a_throttle_that_outlasts_its_retry(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployment.throttles = 2

    run("pre-traffic")

    assert deployment.reports == reported("Failed")
    assert failed_checks(caplog) == {"liveness": ["Invoke failed: TooManyRequestsException (HTTP 429), 2 attempts"]}


# --- the post-traffic hook: the look-up, and the route only a signed request passes ------------------


@pytest.mark.parametrize(
    "stack_id", [None, "arn:aws:cloudformation:eu-west-1:123456789012:stack/other/1"], ids=["missing", "another-stack"]
)
def test_post_traffic_without_its_api_fails_without_calling(
    stack_id: str | None, deployment: Deployment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if stack_id:
        monkeypatch.setenv("STACK_ID", stack_id)
    else:
        monkeypatch.delenv("STACK_ID")

    run("post-traffic")

    assert deployment.reports == reported("Failed")
    assert deployment.events == []
    assert errors(caplog) == ["The checks could not run"]


def test_the_http_api_passes_the_details_route_only_signed_by_the_hooks_credentials(deployment: Deployment) -> None:
    """What makes the post-traffic hook's passing details check mean it signed the request."""

    def status(credentials: Credentials | None) -> int:
        path = "/api/v1/health/ready/details"
        request = AWSRequest(method="GET", url=deployment.api.url + path, headers={"Accept": "application/json"})
        if credentials:
            SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
        connection = http.client.HTTPConnection("127.0.0.1", deployment.api.server_address[1], timeout=5)
        try:
            connection.request("GET", path, headers=dict(request.headers.items()))
            return connection.getresponse().status
        finally:
            connection.close()

    assert status(CREDENTIALS) == 200
    assert status(None) == 403
    assert status(Credentials(CREDENTIALS.access_key, "another secret")) == 403
    assert requests_seen(deployment) == ["GET /api/v1/health/ready/details"]
