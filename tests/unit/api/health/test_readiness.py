"""Readiness (petsage_api.health.readiness): every configured check run concurrently, each within its
deadline, the answer the draft's document of their results, reused for a short TTL.

The time budget and its boundaries (half of it warns; Lambda's remaining time bounds it; a check
past it fails and is logged once), what is measured and in which unit, critical against optional
dependencies, which service and release answer, and the metrics each executed check writes. Time
is injected where readiness reads it (its `time` module), and the checks are stood in for where the
orchestration is what a test pins, so each edge is exact and no test waits longer than a deadline
it checks.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from petsage_api.health import checks, readiness
from petsage_api.health.checks import Clients
from petsage_api.health.config import ReadinessConfig
from petsage_api.health.models import CheckStatus
from petsage_api.health.readiness import ReadinessProbe
from tests.conftest import AWS_REGION, logged, request
from tests.readiness_helpers import (
    FAILING,
    HEALTHY,
    Downstream,
    Invoke,
    create_healthy_resources,
    details,
    probe,
    silent_port,
    stand_in,
    statuses,
    use_probe,
)

# Credentials and region for the SDK, never real ones, and no endpoint but a test's own (conftest.py).
pytestmark = pytest.mark.usefixtures("aws_environment")


# --- the time budget: measured in ms, half of it warns, the Lambda's remaining time bounds it --------


class Clock:
    """`time` as readiness reads it: perf_counter stands still until a check moves it on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.monotonic_now = 0.0
        self._lock = threading.Lock()

    def perf_counter(self) -> float:
        with self._lock:
            return self.now

    def monotonic(self) -> float:
        return self.monotonic_now

    def spend(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(readiness, "time", fake)
    return fake


def taking(clock: Clock, seconds: float, status: CheckStatus = CheckStatus.PASS) -> Callable[[str], CheckStatus]:
    def answer(name: str) -> CheckStatus:
        clock.spend(seconds)
        return status

    return answer


def test_latency_is_observed_in_milliseconds_and_written_as_shown(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, written: Callable[[], list[dict[str, Any]]]
) -> None:
    stand_in(monkeypatch, taking(clock, 0.01234))
    report = probe(HEALTH_DYNAMODB_TABLES="pets").report()
    [entry] = report.checks["dynamodb/pets:responseTime"]
    assert (entry.observed_value, entry.observed_unit, entry.status) == (12.3, "ms", CheckStatus.PASS)
    [line] = [line for line in written() if line.get("message") == "Dependency checked"]
    assert (line["dependency"], line["DependencyLatency"], line["DependencyFailures"]) == (
        "dynamodb/pets",
        [12.3],
        [0.0],
    )
    assert (line["failed"], line["level"]) == (False, "INFO")


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(0.999, CheckStatus.PASS), (1.0, CheckStatus.WARN)],
    ids=["just under half of 2 s passes", "half of 2 s warns"],
)
def test_a_check_warns_from_half_its_budget_and_the_function_stays_ready(
    clock: Clock, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, seconds: float, status: CheckStatus
) -> None:
    stand_in(monkeypatch, taking(clock, seconds))
    readiness_probe = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="2")
    report = readiness_probe.report()
    assert report.checks["dynamodb/pets:responseTime"][0].status is status
    assert report.status is status
    use_probe(monkeypatch, readiness_probe)
    response = invoke(request("GET", "/api/v1/health/ready"))  # a warning still takes traffic
    assert (response["statusCode"], json.loads(response["body"])["status"]) == (200, status.value)


def test_a_slow_failure_stays_a_failure(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(monkeypatch, taking(clock, 1.5, CheckStatus.FAIL))
    report = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="2").report()
    assert report.checks["dynamodb/pets:responseTime"][0].status is CheckStatus.FAIL


class _MainThreadClock:
    """perf_counter as the answering thread reads it: the readings given, in order."""

    def __init__(self, *readings: float) -> None:
        self.readings = list(readings)
        self.monotonic = time.monotonic

    def perf_counter(self) -> float:
        if threading.current_thread() is threading.main_thread():
            return self.readings.pop(0)
        return 0.0


def test_a_timed_out_check_fails_with_the_time_waited_for_it(
    hanging: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(readiness, "time", _MainThreadClock(100.0, 100.125))  # started, gave up
    report = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="0.125").report()
    [entry] = report.checks["dynamodb/pets:responseTime"]
    assert (entry.status, entry.observed_value) == (CheckStatus.FAIL, 125.0)
    assert report.status is CheckStatus.FAIL
    timed_out = logged(caplog, "Dependency check timed out")
    assert (timed_out["check"], timed_out["timeout_seconds"]) == ("dynamodb/pets", 0.125)


@pytest.mark.parametrize(
    ("timeout", "remaining", "deadline"),
    [
        ("0.125", None, 0.125),  # no Lambda context: the configured timeout
        ("0.125", 10.0, 0.125),  # plenty of time left: the configured timeout
        ("20", 0.375, 0.125),  # 0.25 s of the remaining time is kept to answer
        ("20", 0.125, 0.0),  # less than that: the checks get no time at all, never a negative one
    ],
)
def test_the_deadline_is_the_timeout_bounded_by_lambdas_remaining_time_less_a_margin(
    hanging: list[str], caplog: pytest.LogCaptureFixture, timeout: str, remaining: float | None, deadline: float
) -> None:
    report = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS=timeout).report(remaining)
    assert report.status is CheckStatus.FAIL
    assert logged(caplog, "Dependency check timed out")["timeout_seconds"] == deadline


def test_every_check_gets_a_worker_of_its_own(hanging: list[str]) -> None:
    tables = ",".join(f"table-{n}" for n in range(40))  # more than a default thread pool's 32 workers
    # Half a second is ample for 40 threads to start; a check still queued at the deadline is dropped.
    report = probe(HEALTH_DYNAMODB_TABLES=tables, HEALTH_CHECK_TIMEOUT_SECONDS="0.5").report()
    assert len(report.checks) == 40
    assert sorted(hanging) == sorted(tables.split(","))  # none was left queued and never tried


# --- a hanging dependency, and the SDK clients: made before the deadline starts, with its timeout ---


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    with silent_port() as port:
        yield f"http://127.0.0.1:{port}"


def test_a_hanging_dependency_fails_and_each_check_logs_one_timeout(
    silent_endpoint: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # That the answer comes at the deadline, not after botocore's defaults (60 s reads, retries), is
    # checked without timing: checks that never answer fail at the deadline (bounded by Lambda's
    # remaining time, above), and the SDK clients get its timeouts and one attempt (test_checks.py).
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    readiness_probe = probe(
        HEALTH_DYNAMODB_TABLES="pets", HEALTH_S3_BUCKETS="assets", HEALTH_CHECK_TIMEOUT_SECONDS="0.5"
    )
    readiness_probe.report()  # the first call also imports boto3; the next one is a warm invocation's
    caplog.clear()
    report = readiness_probe.report()
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


def test_the_sdk_clients_are_made_before_a_checks_deadline_starts(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.client("dynamodb", region_name=AWS_REGION)
    stubber = Stubber(real)
    stubber.add_response("describe_table", {"Table": {"TableStatus": "ACTIVE"}}, {"TableName": "pets"})
    stubber.activate()

    def slowly_made(self: Any, service: str, **options: Any) -> Any:
        clock.spend(3)  # longer than the deadline, as importing boto3 and loading a model on a cold start
        return real

    monkeypatch.setattr("boto3.session.Session.client", slowly_made)
    report = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="2").report()
    # The stubbed call itself takes no time on the clock: a client made inside the check would be
    # counted in its latency (3 s of a 2 s budget: a warning), not a pass.
    [entry] = report.checks["dynamodb/pets:responseTime"]
    assert (entry.status, entry.observed_value) == (CheckStatus.PASS, 0.0)
    stubber.assert_no_pending_responses()


def test_the_sdk_clients_get_the_configured_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[float] = []

    class Recorded(Clients):
        def __init__(self, timeout_seconds: float) -> None:
            made.append(timeout_seconds)
            super().__init__(timeout_seconds)

    monkeypatch.setattr(readiness, "Clients", Recorded)
    probe(HEALTH_CHECK_TIMEOUT_SECONDS="0.7")
    assert made == [0.7]


# --- a check that raises fails, and says why in the logs only -------------------------------------


def test_a_check_that_raises_fails_and_its_error_is_logged_under_its_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(client: Any, name: str) -> CheckStatus:
        raise RuntimeError(f"cannot reach {name}")

    stand_in(monkeypatch, lambda name: broken(None, name))
    report = probe(HEALTH_SSM_PARAMETERS="/petsage/flag").report()
    assert report.checks["ssm//petsage/flag:responseTime"][0].status is CheckStatus.FAIL
    failed = logged(caplog, "Dependency check failed")
    assert (failed["check"], failed["error"]) == ("ssm//petsage/flag", "RuntimeError: cannot reach /petsage/flag")


# --- critical and optional dependencies -----------------------------------------------------------


@pytest.mark.parametrize("kind", [*FAILING, "http"])
@pytest.mark.parametrize("optional", [False, True], ids=["critical", "optional"])
@mock_aws
def test_a_failing_critical_dependency_fails_readiness_and_an_optional_one_warns(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream, kind: str, optional: bool
) -> None:
    create_healthy_resources()
    environ = dict(HEALTH_HTTP_ENDPOINTS=downstream.url + "/health", **HEALTHY)
    if kind == "http":
        environ["HEALTH_HTTP_ENDPOINTS"] += "," + downstream.url + "/broken"
        failing_key = f"http/127.0.0.1_{downstream.url.rsplit(':', 1)[1]}/broken"
    else:
        variable, value, failing_key = FAILING[kind]
        environ[variable] += "," + value
    if optional:
        environ["HEALTH_OPTIONAL_DEPENDENCIES"] = failing_key
    use_probe(monkeypatch, probe(**environ))
    code, body = details(invoke)
    assert statuses(body)[f"{failing_key}:responseTime"] == "fail"  # the component itself failed either way
    assert [s for k, s in statuses(body).items() if not k.startswith(failing_key)] == ["pass"] * 4
    assert (code, body["status"]) == ((200, "warn") if optional else (503, "fail"))
    public = invoke(request("GET", "/api/v1/health/ready"))
    assert (public["statusCode"], json.loads(public["body"])["status"]) == (code, body["status"])


# --- the cache: a TTL window by the monotonic clock -----------------------------------------------


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
    monkeypatch.setattr("petsage_api.health.readiness.PROBES", dict.fromkeys(checks.PROBES, fake))
    monkeypatch.setattr(checks.Clients, "get", lambda self, service: None)
    return fake


def test_results_are_reused_within_the_ttl(counted_probes: CountingProbes) -> None:
    readiness_probe = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CACHE_TTL_SECONDS="0.3")
    first = readiness_probe.report()
    assert readiness_probe.report() is first
    assert counted_probes.calls == 1
    time.sleep(0.35)
    assert readiness_probe.report() is not first
    assert counted_probes.calls == 2


def test_a_zero_ttl_measures_every_time(counted_probes: CountingProbes) -> None:
    readiness_probe = probe(HEALTH_DYNAMODB_TABLES="pets")
    readiness_probe.report()
    readiness_probe.report()
    assert counted_probes.calls == 2


def test_an_answer_is_reused_until_its_ttl_has_passed(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def answer(name: str) -> CheckStatus:
        calls.append(name)
        return CheckStatus.PASS

    stand_in(monkeypatch, answer)
    readiness_probe = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CACHE_TTL_SECONDS="10")
    first = readiness_probe.report()
    clock.monotonic_now = 9.999
    assert readiness_probe.report() is first
    clock.monotonic_now = 10.0
    assert readiness_probe.report() is not first
    assert calls == ["pets", "pets"]


# --- identity: which service and release answered -------------------------------------------------


def test_the_release_and_configuration_come_from_the_functions_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTH_RELEASE_ID", "a1b2c3d")
    monkeypatch.setenv("HEALTH_S3_BUCKETS", "Not A Bucket")
    report = ReadinessProbe.from_environment().report()
    assert (report.service_id, report.version, report.release_id) == ("petsage-api", "1.0.0", "a1b2c3d")
    assert report.status is CheckStatus.FAIL  # the configuration was read from the environment too


def test_without_a_release_id_the_release_is_the_function_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEALTH_RELEASE_ID", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "12")
    assert ReadinessProbe.from_environment().report().release_id == "12"


def test_configuration_problems_are_logged_once_when_the_environment_starts(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, written: Callable[[], list[dict[str, Any]]]
) -> None:
    # Logged where the configuration is read, at init: provisioned environments, which never have
    # a cold-start invocation, log them too; the readiness answer reports them on every request.
    use_probe(monkeypatch, probe(HEALTH_CHECK_TIMEOUT_SECONDS="soon", HEALTH_S3_BUCKETS="Bad!"))
    invoke(request("GET", "/api/v1/health/ready"))
    invoke(request("GET", "/api/v1/health/ready"))
    problems = [line for line in written() if line["message"] == "Readiness configuration problem"]
    assert [(line["level"], line["problem"]) for line in problems] == [
        ("WARNING", "HEALTH_S3_BUCKETS: 1 value(s) are not valid s3 names; reported as fail"),
        ("WARNING", "HEALTH_CHECK_TIMEOUT_SECONDS='soon' is not a number of seconds >= 0.001; using 1"),
    ]


# --- metrics per dependency -----------------------------------------------------------------------


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
        )
    )
    use_probe(monkeypatch, cached)
    invoke(request("GET", "/api/v1/health/ready"))
    invoke(request("GET", "/api/v1/health/ready"))  # answered from the cache: no check runs, no dependency line
    lines = written()
    by_check = dependency_records(lines)
    assert set(by_check) == {"dynamodb/pets", "s3/missing-bucket"}
    assert len([line for line in lines if line.get("message") == "Dependency checked"]) == 2
    first_request = next(line for line in lines if line.get("message") == "Request answered")
    for check, failures in (("dynamodb/pets", 0.0), ("s3/missing-bucket", 1.0)):
        line = by_check[check]
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "PetSage"
        assert directive["Dimensions"] == [["deployment", "service", "dependency"]]
        assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
            "DependencyLatency": "Milliseconds",
            "DependencyFailures": "Count",
        }
        assert line["DependencyFailures"] == [failures]
        assert line["deployment"] == first_request["deployment"]
        assert line["function_request_id"] == first_request["function_request_id"]
        body = json.loads(invoke(request("GET", "/api/v1/health/ready/details", signed=True))["body"])
        assert line["DependencyLatency"] == [body["checks"][f"{check}:responseTime"][0]["observedValue"]]
