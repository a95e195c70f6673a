"""The host build under AWS's runtime interface client (awslambdaric), fed by local_api's Runtime API.

One execution environment answers every committed event, as one Lambda environment would:
the first invocation is cold, the rest are warm. `answered` holds each invocation with the
log lines the runtime printed for it (`Invocation.log`; `LogLine.record` is the line parsed
as a JSON object, None when it is not one), so the log checks below run on what the real
runtime client printed, with AWS_LAMBDA_LOG_FORMAT=JSON as the template configures it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_api.runtime_api import ExecutionEnvironment, FunctionConfig, Invocation, LogLine, Outcome
from local_api.template import functions, load_template
from tests.conftest import load_event
from tests.contract import LIVENESS
from tests.event_answers import DIRECT_EVENTS, EXPECTED_STATUS

pytestmark = pytest.mark.artifact

SPEC = functions(load_template())["HealthFunction"]
SERVICE = SPEC.environment["POWERTOOLS_SERVICE_NAME"]
# The liveness check first, so the cold start is the one load balancers cause.
EVENTS = ["health", *sorted({*EXPECTED_STATUS, *DIRECT_EVENTS} - {"health"})]


def function_config(artifact: Path, **environment: str) -> FunctionConfig:
    """The template's configuration of the function, with its logs in Lambda's JSON format."""
    return FunctionConfig(
        name=SPEC.logical_id,
        code_dir=artifact,
        handler=SPEC.handler,
        memory_size_mb=SPEC.memory_size,
        timeout_seconds=SPEC.timeout,
        log_format="JSON",
        log_level=SPEC.application_log_level,
        environment={**SPEC.environment, **environment},
    )


@pytest.fixture(scope="module")
def answered(host_artifact: Path) -> dict[str, Invocation]:
    """Every committed event, answered in turn by one environment: name -> invocation."""
    with ExecutionEnvironment(function_config(host_artifact)) as environment:
        return {name: environment.invoke(load_event(name)) for name in EVENTS}


def records(invocation: Invocation) -> list[dict[str, Any]]:
    """The invocation's log lines as JSON objects (test_every_line... checks that they all are)."""
    return [line.record for line in invocation.log if line.record is not None]


def metric_names(record: dict[str, Any]) -> set[str]:
    """The metrics an Embedded Metric Format record declares; empty for any other line."""
    directives = record.get("_aws", {}).get("CloudWatchMetrics", [])
    return {metric["Name"] for directive in directives for metric in directive.get("Metrics", [])}


def carries(record: dict[str, Any], request_id: str) -> bool:
    return request_id in record.values()


# --- answers ------------------------------------------------------------------------------------


def test_every_event_answers_as_documented_under_the_runtime_client(answered: dict[str, Invocation]) -> None:
    assert {name: invocation.outcome for name, invocation in answered.items()} == dict.fromkeys(
        EVENTS, Outcome.RESPONSE
    )
    responses = {name: invocation.json() for name, invocation in answered.items()}
    assert {name: responses[name]["statusCode"] for name in EXPECTED_STATUS} == EXPECTED_STATUS
    assert json.loads(responses["health"]["body"]) == LIVENESS
    assert responses["health-head"]["body"] == ""
    assert {name: responses[name] for name in DIRECT_EVENTS} == dict.fromkeys(DIRECT_EVENTS, LIVENESS)


def test_one_environment_answers_them_all_the_first_cold_the_rest_warm(answered: dict[str, Invocation]) -> None:
    assert [invocation.cold for invocation in answered.values()] == [True] + [False] * (len(EVENTS) - 1)
    assert len({invocation.request_id for invocation in answered.values()}) == len(EVENTS)


def test_the_function_reads_its_context_from_the_runtime_api(answered: dict[str, Invocation]) -> None:
    # The request id and the cold start flag in each record come from the context the runtime
    # client built out of /invocation/next's headers, not from a stand-in.
    for name, invocation in answered.items():
        answer = next(record for record in records(invocation) if record.get("message") == "Request answered")
        assert (answer["function_request_id"], answer["cold_start"]) == (invocation.request_id, invocation.cold), name


# --- the log, as the runtime client printed it --------------------------------------------------


def test_every_line_the_function_writes_is_json(answered: dict[str, Invocation]) -> None:
    lines: list[LogLine] = [
        line for invocation in answered.values() for line in (*invocation.init_log, *invocation.log)
    ]
    assert lines, "the function logs every invocation"
    assert [line.text for line in lines if line.record is None] == []


def test_every_line_carries_the_lambda_request_id(answered: dict[str, Invocation]) -> None:
    missing = {
        name: [record for record in records(invocation) if not carries(record, invocation.request_id)]
        for name, invocation in answered.items()
    }
    assert {name: lines for name, lines in missing.items() if lines} == {}


def test_each_answered_invocation_writes_one_record_with_both_its_metrics_and_its_fields(
    answered: dict[str, Invocation],
) -> None:
    for name, invocation in answered.items():
        lines = records(invocation)
        answers = [record for record in lines if record.get("message") == "Request answered"]
        assert len(answers) == 1, f"{name}: {lines}"
        assert {"route", "status", "latency_ms"} <= answers[0].keys(), f"{name}: {answers[0]}"
        # The record is the metrics line: Faults always, ColdStart in the first invocation's record.
        assert metric_names(answers[0]) == ({"Faults", "ColdStart"} if invocation.cold else {"Faults"}), name
        others = [metric_names(record) for record in lines if metric_names(record) and record is not answers[0]]
        assert others == [], f"{name}: no other metric line (readiness checks nothing here)"
        # Warnings, errors and direct invocations may add a Logger line; a routed warm request writes nothing else.
        if name in EXPECTED_STATUS and name != "malformed-http" and not invocation.cold:
            assert lines == answers, f"{name}: {lines}"


def test_every_metric_carries_the_deployment_dimension(answered: dict[str, Invocation]) -> None:
    deployment = SPEC.environment["DEPLOYMENT_NAME"]  # !Ref AWS::StackName, "local" as under sam local
    for name, invocation in answered.items():
        for record in records(invocation):
            for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
                assert all("deployment" in dimensions for dimensions in directive["Dimensions"]), f"{name}: {record}"
                assert record["deployment"] == deployment, name


# --- third-party loggers, on the first readiness call --------------------------------------------


@pytest.fixture(scope="module")
def readiness_with_credentials(host_artifact: Path, unreachable_endpoint: str) -> Invocation:
    """A readiness call with (fake) credentials, so botocore gets as far as it does on Lambda."""
    config = function_config(
        host_artifact,
        HEALTH_DYNAMODB_TABLES="pets",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - a placeholder, not a secret
        AWS_ENDPOINT_URL=unreachable_endpoint,  # every AWS call goes to loopback, and is refused
    )
    with ExecutionEnvironment(config) as environment:
        return environment.invoke(load_event("ready"))


def test_an_unreachable_dependency_fails_readiness_cleanly(
    readiness_with_credentials: Invocation, unreachable_endpoint: str
) -> None:
    response = readiness_with_credentials.json()
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["status"] == "fail"
    failure = next(r for r in records(readiness_with_credentials) if r.get("message") == "Dependency check failed")
    assert failure["error"].startswith("EndpointConnectionError")
    assert unreachable_endpoint in failure["error"], "the only address botocore tried is the loopback one"


def test_botocore_stays_quiet_below_warning_and_whatever_it_logs_is_in_the_functions_format(
    readiness_with_credentials: Invocation,
) -> None:
    # Left to themselves they say "Found credentials in environment variables." and "Found
    # endpoint for dynamodb via: environment_global." at INFO, in the runtime client's layout.
    lines = records(readiness_with_credentials)
    third_party = [r for r in lines if str(r.get("logger", "")).startswith(("botocore", "boto3", "urllib3"))]
    assert [r for r in third_party if r.get("level") in {"DEBUG", "INFO"}] == []
    assert [r for r in lines if str(r.get("message", "")).startswith(("Found credentials", "Found endpoint"))] == []
    assert [r for r in lines if r.get("service") != SERVICE] == [], "every line is in the function's format"
