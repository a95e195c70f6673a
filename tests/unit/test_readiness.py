"""Readiness: real AWS calls against moto, a hanging endpoint for timeouts, and the draft's format."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema_rs
import pytest
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from petsage_health import checks
from petsage_health.config import ReadinessConfig
from petsage_health.models import CheckStatus
from petsage_health.readiness import ReadinessProbe
from tests.conftest import create_resources as create_resources_named
from tests.conftest import load_event, logged
from tests.readiness_helpers import Invoke, probe, silent_port, statuses, use_probe

DRAFT_SCHEMA = jsonschema_rs.validator_for(
    json.loads((Path(__file__).parent.parent / "schemas" / "health-check-draft.json").read_text(encoding="utf-8"))
)
pytestmark = pytest.mark.usefixtures("aws_environment")


def create_resources() -> None:
    create_resources_named("pets", "petsage-assets", "/petsage/flag", "SecureString")


ALL_PRESENT = {
    "HEALTH_DYNAMODB_TABLES": "pets",
    "HEALTH_S3_BUCKETS": "petsage-assets",
    "HEALTH_SSM_PARAMETERS": "/petsage/flag",
}
KEYS = {"dynamodb/pets:responseTime", "s3/petsage-assets:responseTime", "ssm//petsage/flag:responseTime"}


# --- the route ---------------------------------------------------------------------------


def test_with_nothing_configured_readiness_passes_with_no_checks(invoke: Invoke) -> None:
    for event, expected_checks in (("ready", None), ("ready-details", {})):
        response = invoke(load_event(event))
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == "application/health+json"
        assert response["headers"]["Cache-Control"] == "no-store"
        body = json.loads(response["body"])
        assert body["status"] == "pass"
        assert body.get("checks") == expected_checks
        DRAFT_SCHEMA.validate(body)


@mock_aws
def test_every_reachable_dependency_passes(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    create_resources()
    use_probe(monkeypatch, probe(**ALL_PRESENT))
    response = invoke(load_event("ready-details"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert body["status"] == "pass"
    assert statuses(body) == dict.fromkeys(KEYS, "pass")
    DRAFT_SCHEMA.validate(body)
    entry = body["checks"]["dynamodb/pets:responseTime"][0]
    assert entry["componentId"] == "pets"
    assert entry["componentType"] == "datastore"
    assert entry["observedUnit"] == "ms"
    assert entry["observedValue"] >= 0
    assert entry["time"].endswith("Z") or entry["time"].endswith("+00:00")


def test_status_opens_the_body_for_route53_string_matching(invoke: Invoke) -> None:
    assert invoke(load_event("ready"))["body"].startswith('{"status":"pass"')


@mock_aws
def test_a_missing_resource_fails_with_503_and_keeps_the_error_in_the_logs(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    create_resources()
    use_probe(monkeypatch, probe(**{**ALL_PRESENT, "HEALTH_DYNAMODB_TABLES": "pets,vanished"}))
    response = invoke(load_event("ready-details"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["status"] == "fail"
    assert statuses(body)["dynamodb/vanished:responseTime"] == "fail"
    assert statuses(body)["dynamodb/pets:responseTime"] == "pass"
    DRAFT_SCHEMA.validate(body)
    assert "ResourceNotFound" not in response["body"]
    assert "ResourceNotFoundException" in logged(caplog, "Dependency check failed")["error"]


@set_initial_no_auth_action_count(6)
@mock_aws
def test_access_denied_fails_the_check(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    create_resources()  # 3 unauthenticated calls, then 3 for the IAM user below
    iam = boto3.client("iam")
    iam.create_user(UserName="health-function")
    only_another_table = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": "arn:aws:dynamodb:*:*:table/other"}
        ],
    }
    iam.put_user_policy(UserName="health-function", PolicyName="p", PolicyDocument=json.dumps(only_another_table))
    key = iam.create_access_key(UserName="health-function")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    use_probe(monkeypatch, probe(**ALL_PRESENT))
    response = invoke(load_event("ready-details"))
    assert response["statusCode"] == 503
    assert statuses(json.loads(response["body"])) == dict.fromkeys(KEYS, "fail")
    assert "AccessDenied" not in response["body"]
    assert "not authorized" not in response["body"]
    errors = [vars(r)["error"] for r in caplog.records if r.getMessage() == "Dependency check failed"]
    assert len(errors) == 3
    assert all("AccessDenied" in error or "not authorized" in error for error in errors), errors


@mock_aws
def test_head_readiness_has_the_status_and_headers_without_a_body(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="no-such-bucket"))
    response = invoke(load_event("ready-head"))
    assert response["statusCode"] == 503
    assert response["headers"]["Content-Type"] == "application/health+json"
    assert response["body"] == ""


@mock_aws
def test_liveness_is_unaffected_when_every_dependency_fails(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    use_probe(
        monkeypatch, probe(HEALTH_DYNAMODB_TABLES="a-gone", HEALTH_S3_BUCKETS="b-gone", HEALTH_SSM_PARAMETERS="/c")
    )
    assert invoke(load_event("ready"))["statusCode"] == 503
    health = invoke(load_event("health"))
    assert health["statusCode"] == 200
    assert health["body"] == '{"status":"ok","message":"PetSage API is purring!"}'


def test_misconfigured_names_fail_readiness_visibly(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="Not A Bucket!"))
    response = invoke(load_event("ready-details"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["checks"]["config/HEALTH_S3_BUCKETS:validity"][0]["status"] == "fail"
    assert "Not A Bucket" not in response["body"]
    DRAFT_SCHEMA.validate(body)


# --- a hanging dependency, and the cache ------------------------------------------------


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    with silent_port() as port:
        yield f"http://127.0.0.1:{port}"


def test_a_hanging_dependency_fails_and_each_check_logs_one_timeout(
    silent_endpoint: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # That the answer comes at the deadline, not after botocore's defaults (60 s reads, retries), is
    # checked without timing in test_readiness_edges.py: checks that never answer fail at the deadline
    # (bounded by Lambda's remaining time), and the SDK clients get its timeouts and one attempt.
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    readiness = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_S3_BUCKETS="assets", HEALTH_CHECK_TIMEOUT_SECONDS="0.5")
    readiness.report()  # the first call also imports boto3; the next one is a warm invocation's
    caplog.clear()
    report = readiness.report()
    assert report.status is CheckStatus.FAIL
    assert {entry[0].status for entry in report.checks.values()} == {CheckStatus.FAIL}
    time.sleep(0.8)  # let the abandoned calls hit botocore's read timeout: they must not log again
    # Whichever fires first, our deadline or botocore's equal read timeout, each check is
    # logged once, as a timeout.
    timeouts = [
        vars(record)["check"]
        for record in caplog.records
        if record.getMessage() == "Dependency check timed out"
        or (record.getMessage() == "Dependency check failed" and "Timeout" in vars(record)["error"])
    ]
    assert sorted(timeouts) == ["dynamodb/pets", "s3/assets"]


class CountingProbes:
    """Probe stand-ins that pass at once and count their calls, to observe the cache itself."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, name: str) -> CheckStatus:
        with self._lock:
            self.calls += 1
        return CheckStatus.PASS


@pytest.fixture
def counted_probes(monkeypatch: pytest.MonkeyPatch) -> CountingProbes:
    fake = CountingProbes()
    monkeypatch.setattr(checks, "PROBES", dict.fromkeys(checks.PROBES, fake))
    monkeypatch.setattr("petsage_health.readiness.PROBES", dict.fromkeys(checks.PROBES, fake))
    monkeypatch.setattr(checks.Clients, "get", lambda self, service: None)
    return fake


def test_results_are_reused_within_the_ttl(counted_probes: CountingProbes) -> None:
    readiness = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CACHE_TTL_SECONDS="0.3")
    first = readiness.report()
    assert readiness.report() is first
    assert counted_probes.calls == 1
    time.sleep(0.35)
    assert readiness.report() is not first
    assert counted_probes.calls == 2


def test_a_zero_ttl_measures_every_time(counted_probes: CountingProbes) -> None:
    readiness = probe(HEALTH_DYNAMODB_TABLES="pets")
    readiness.report()
    readiness.report()
    assert counted_probes.calls == 2


# --- metrics per dependency ----------------------------------------------------------------


def dependency_records(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["dependency"]: line for line in lines if line.get("message") == "Dependency checked"}


@mock_aws
def test_each_executed_check_writes_its_latency_and_failure_metric_once(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, written: Callable[[], list[dict[str, Any]]]
) -> None:
    boto3.client("dynamodb").create_table(
        TableName="pets",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    cached = ReadinessProbe(
        ReadinessConfig.from_environment(
            {"HEALTH_DYNAMODB_TABLES": "pets", "HEALTH_S3_BUCKETS": "missing-bucket", "HEALTH_CACHE_TTL_SECONDS": "60"}
        ),
        "petsage-test",
    )
    use_probe(monkeypatch, cached)
    invoke(load_event("ready"))
    invoke(load_event("ready"))  # answered from the cache: no check runs, no dependency line
    lines = written()
    by_check = dependency_records(lines)
    assert set(by_check) == {"dynamodb/pets", "s3/missing-bucket"}
    assert len([line for line in lines if line.get("message") == "Dependency checked"]) == 2
    first_request = next(line for line in lines if line.get("message") == "Request answered")
    for check, failures in (("dynamodb/pets", 0.0), ("s3/missing-bucket", 1.0)):
        line = by_check[check]
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "PetSage"
        assert directive["Dimensions"] == [["deployment", "dependency", "service"]]
        assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
            "DependencyLatency": "Milliseconds",
            "DependencyFailures": "Count",
        }
        assert line["DependencyFailures"] == [failures]
        assert line["deployment"] == first_request["deployment"]
        assert line["function_request_id"] == first_request["function_request_id"]
        body = json.loads(invoke(load_event("ready-details"))["body"])
        assert line["DependencyLatency"] == [body["checks"][f"{check}:responseTime"][0]["observedValue"]]
