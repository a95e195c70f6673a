"""Readiness at its edges: table states, the time budget and its boundaries, what is measured and in
which unit, the configuration's own problems word for word, and how the SDK is called.

Time is injected where readiness reads it (its `time` module), and AWS answers come from botocore's
Stubber on real clients, so each edge is exact and no test waits longer than a deadline it checks.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local_api.lambda_runtime import LocalLambdaContext
from petsage_health import checks, readiness
from petsage_health.checks import Clients
from petsage_health.config import Dependency, ReadinessConfig
from petsage_health.models import CheckStatus
from petsage_health.readiness import ReadinessProbe
from tests.conftest import AWS_REGION, load_event, logged
from tests.readiness_helpers import Invoke, details, probe, use_probe

# Credentials and region for the SDK, never real ones, and no endpoint but a test's own (conftest.py).
pytestmark = pytest.mark.usefixtures("aws_environment")


def stubbed(service: str, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """The answers of a real SDK client, given by the test; readiness gets that client for `service`."""
    real = boto3.client(service, region_name=AWS_REGION)  # type: ignore[call-overload]
    stubber = Stubber(real)
    stubber.activate()
    made = Clients.get

    def get(self: Clients, wanted: str) -> Any:
        return real if wanted == service else made(self, wanted)

    monkeypatch.setattr(Clients, "get", get)
    return stubber


# --- what each SDK check calls, and what its answer means ---------------------------------------


@pytest.mark.parametrize(
    ("table_status", "check", "overall", "code"),
    [
        ("ACTIVE", "pass", "pass", 200),
        ("UPDATING", "warn", "warn", 200),  # still serves reads and writes
        ("CREATING", "fail", "fail", 503),
        ("DELETING", "fail", "fail", 503),
        ("ARCHIVED", "fail", "fail", 503),
    ],
)
def test_a_tables_state_decides_its_check(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, table_status: str, check: str, overall: str, code: int
) -> None:
    stubber = stubbed("dynamodb", monkeypatch)
    stubber.add_response("describe_table", {"Table": {"TableStatus": table_status}}, {"TableName": "pets"})
    use_probe(monkeypatch, probe(HEALTH_DYNAMODB_TABLES="pets"))
    status_code, body = details(invoke)
    assert body["checks"]["dynamodb/pets:responseTime"][0]["status"] == check
    assert (status_code, body["status"]) == (code, overall)
    stubber.assert_no_pending_responses()


def test_a_parameter_is_read_without_decryption(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    stubber = stubbed("ssm", monkeypatch)
    # The Stubber refuses any other parameters: the check would fail.
    stubber.add_response("get_parameter", {"Parameter": {}}, {"Name": "/petsage/flag", "WithDecryption": False})
    use_probe(monkeypatch, probe(HEALTH_SSM_PARAMETERS="/petsage/flag"))
    status_code, body = details(invoke)
    assert (status_code, body["checks"]["ssm//petsage/flag:responseTime"][0]["status"]) == (200, "pass")
    stubber.assert_no_pending_responses()


def test_a_bucket_is_checked_with_head_bucket(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    stubber = stubbed("s3", monkeypatch)
    stubber.add_response("head_bucket", {}, {"Bucket": "petsage-assets"})
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="petsage-assets"))
    status_code, body = details(invoke)
    assert (status_code, body["checks"]["s3/petsage-assets:responseTime"][0]["status"]) == (200, "pass")
    stubber.assert_no_pending_responses()


def test_each_component_has_the_drafts_type(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    stubbers = []
    clients = {}
    for service in ("dynamodb", "s3", "ssm"):
        clients[service] = boto3.client(service, region_name=AWS_REGION)
        stubbers.append(Stubber(clients[service]))
        stubbers[-1].activate()
    monkeypatch.setattr(Clients, "get", lambda self, service: clients[service])
    stubbers[0].add_response("describe_table", {"Table": {"TableStatus": "ACTIVE"}})
    stubbers[1].add_response("head_bucket", {})
    stubbers[2].add_response("get_parameter", {"Parameter": {}})
    readiness_probe = probe(
        HEALTH_DYNAMODB_TABLES="pets",
        HEALTH_S3_BUCKETS="petsage-assets",
        HEALTH_SSM_PARAMETERS="/petsage/flag",
        HEALTH_HTTP_ENDPOINTS="https://api_bad.example/health",
    )
    use_probe(monkeypatch, readiness_probe)
    _, body = details(invoke)
    types = {key: entries[0]["componentType"] for key, entries in body["checks"].items()}
    assert types == {
        "dynamodb/pets:responseTime": "datastore",
        "s3/petsage-assets:responseTime": "datastore",
        "ssm//petsage/flag:responseTime": "component",
        "config/HEALTH_HTTP_ENDPOINTS:validity": "component",
    }
    assert body["checks"]["config/HEALTH_HTTP_ENDPOINTS:validity"][0] | {"time": None} == {
        "componentId": "HEALTH_HTTP_ENDPOINTS",
        "componentType": "component",
        "observedValue": 1.0,
        "observedUnit": "invalid names",
        "status": "fail",
        "time": None,
    }


# --- the SDK clients: made before the deadline starts, short timeouts, one attempt ------------------


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


def test_sdk_clients_time_out_with_the_check_and_try_once() -> None:
    config = Clients(0.7).get("dynamodb").meta.config
    assert {option: getattr(config, option) for option in ("connect_timeout", "read_timeout", "retries")} == {
        "connect_timeout": 0.7,
        "read_timeout": 0.7,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
    }


class _Failing(BaseHTTPRequestHandler):
    """An AWS endpoint that answers every call with a retryable server error."""

    calls: list[str]

    def do_POST(self) -> None:
        self.calls.append(self.headers.get("X-Amz-Target", ""))
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"try again"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the test reads `calls`."""


def test_a_failing_dependency_is_asked_once_not_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Failing,), {"calls": calls}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        report = probe(HEALTH_DYNAMODB_TABLES="pets").report()
    finally:
        server.shutdown()
        server.server_close()
    assert report.checks["dynamodb/pets:responseTime"][0].status is CheckStatus.FAIL
    assert calls == ["DynamoDB_20120810.DescribeTable"]
    assert "InternalServerError" in logged(caplog, "Dependency check failed")["error"]


def test_without_a_region_the_check_fails_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    for variable in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # should a client be made after all
    report = probe(HEALTH_DYNAMODB_TABLES="pets").report()  # making the client raises: still an answer
    assert report.status is CheckStatus.FAIL
    assert logged(caplog, "Dependency check failed")["error"].startswith("NoRegionError")


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


def stand_in(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str], CheckStatus]) -> None:
    """Every SDK check answers through `answer(name)`: the orchestration around it is real."""
    probes = dict.fromkeys(checks.PROBES, lambda client, name: answer(name))
    monkeypatch.setattr(checks, "PROBES", probes)
    monkeypatch.setattr(Clients, "get", lambda self, service: None)


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
    response = invoke(load_event("ready"))  # a warning still takes traffic
    assert (response["statusCode"], json.loads(response["body"])["status"]) == (200, status.value)


def test_a_slow_failure_stays_a_failure(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(monkeypatch, taking(clock, 1.5, CheckStatus.FAIL))
    report = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="2").report()
    assert report.checks["dynamodb/pets:responseTime"][0].status is CheckStatus.FAIL


@pytest.fixture
def hanging(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Checks that answer only after the test: each is past any deadline. Yields the names called."""
    release = threading.Event()
    called: list[str] = []

    def answer(name: str) -> CheckStatus:
        called.append(name)
        release.wait(10)
        return CheckStatus.PASS

    stand_in(monkeypatch, answer)
    yield called
    release.set()


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


class _Context(LocalLambdaContext):
    """A Lambda context with a fixed remaining time."""

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # a staticmethod stub upstream
        return 375


def test_the_route_hands_lambdas_remaining_time_to_the_readiness_probe(
    hanging: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from app import lambda_handler

    use_probe(monkeypatch, probe(HEALTH_DYNAMODB_TABLES="pets"))
    response = lambda_handler(load_event("ready"), _Context("HealthFunction"))
    assert response["statusCode"] == 503
    assert logged(caplog, "Dependency check timed out")["timeout_seconds"] == 0.125  # 0.375 s less 0.25


def test_without_a_lambda_context_the_route_uses_the_configured_timeout(
    hanging: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from petsage_health.routes import app

    # Tools that run the resolver themselves may pass no context at all.
    readiness_probe = probe(HEALTH_DYNAMODB_TABLES="pets", HEALTH_CHECK_TIMEOUT_SECONDS="0.125")
    use_probe(monkeypatch, readiness_probe)
    assert app.resolve(load_event("ready"), None)["statusCode"] == 503  # type: ignore[arg-type]
    assert logged(caplog, "Dependency check timed out")["timeout_seconds"] == 0.125


def test_every_check_gets_a_worker_of_its_own(hanging: list[str]) -> None:
    tables = ",".join(f"table-{n}" for n in range(40))  # more than a default thread pool's 32 workers
    # Half a second is ample for 40 threads to start; a check still queued at the deadline is dropped.
    report = probe(HEALTH_DYNAMODB_TABLES=tables, HEALTH_CHECK_TIMEOUT_SECONDS="0.5").report()
    assert len(report.checks) == 40
    assert sorted(hanging) == sorted(tables.split(","))  # none was left queued and never tried


# --- the cache: a TTL window by the monotonic clock ------------------------------------------------


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


# --- identity: which service and release answered --------------------------------------------------


def test_the_service_and_release_come_from_the_functions_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "petsage-health-canary")
    monkeypatch.setenv("HEALTH_RELEASE_ID", "a1b2c3d")
    monkeypatch.setenv("HEALTH_S3_BUCKETS", "Not A Bucket")
    report = ReadinessProbe.from_environment().report()
    assert (report.service_id, report.release_id) == ("petsage-health-canary", "a1b2c3d")
    assert report.status is CheckStatus.FAIL  # the configuration was read from the environment too


def test_without_a_service_name_the_service_is_petsage_health(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.delenv("HEALTH_RELEASE_ID", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "12")
    report = ReadinessProbe.from_environment().report()
    assert (report.service_id, report.release_id) == ("petsage-health", "12")


@pytest.mark.parametrize(
    ("environ", "release_id"),
    [
        ({"HEALTH_RELEASE_ID": "a1b2c3d", "AWS_LAMBDA_FUNCTION_VERSION": "12"}, "a1b2c3d"),
        ({"HEALTH_RELEASE_ID": "", "AWS_LAMBDA_FUNCTION_VERSION": "12"}, "12"),  # the template's default
        ({"HEALTH_RELEASE_ID": "", "AWS_LAMBDA_FUNCTION_VERSION": ""}, "unknown"),
    ],
)
def test_the_release_is_the_configured_one_then_the_function_version(environ: dict[str, str], release_id: str) -> None:
    assert ReadinessConfig.from_environment(environ).release_id == release_id


# --- the configuration's problems, as on-call reads them ---------------------------------------------


def test_every_configuration_problem_is_named_once_and_each_bad_value_counted() -> None:
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_S3_BUCKETS": "petsage-assets,Bad_Bucket!,x",
            "HEALTH_HTTP_ENDPOINTS": "ftp://127.0.0.1/health,http://localhost/x,http://LOCALHOST/x",
            "HEALTH_OPTIONAL_DEPENDENCIES": "s3/petsage-assets,dynamodb/none,dynamodb/none",
            "HEALTH_CHECK_TIMEOUT_SECONDS": "30",
            "HEALTH_CACHE_TTL_SECONDS": "-1",
        }
    )
    assert config.problems == (
        "HEALTH_S3_BUCKETS: 2 value(s) are not valid s3 names; reported as fail",
        "HEALTH_HTTP_ENDPOINTS: 1 value(s) are not valid http names; reported as fail",
        "HEALTH_HTTP_ENDPOINTS: two URLs give the check key http/localhost/x; reported as fail",
        "HEALTH_OPTIONAL_DEPENDENCIES: 1 key(s) name no configured dependency; reported as fail",
        "HEALTH_CHECK_TIMEOUT_SECONDS=30 is over 25; using that",
        "HEALTH_CACHE_TTL_SECONDS='-1' is not a number of seconds >= 0; using 10",
    )
    assert config.invalid == {"HEALTH_S3_BUCKETS": 2, "HEALTH_HTTP_ENDPOINTS": 2, "HEALTH_OPTIONAL_DEPENDENCIES": 1}
    assert config.dependencies == (
        Dependency("s3", "petsage-assets", optional=True),
        Dependency("http", "http://localhost/x"),
    )
    assert (config.timeout_seconds, config.cache_ttl_seconds) == (25.0, 10.0)


@pytest.mark.parametrize(
    ("raw", "timeout", "problems"),
    [
        ("25", 25.0, ()),  # the maximum itself is accepted as it is
        ("25.5", 25.0, ("HEALTH_CHECK_TIMEOUT_SECONDS=25.5 is over 25; using that",)),
        ("0.001", 0.001, ()),  # the minimum too
        ("0.0009", 2.0, ("HEALTH_CHECK_TIMEOUT_SECONDS='0.0009' is not a number of seconds >= 0.001; using 2",)),
        (" 3 ", 3.0, ()),
    ],
)
def test_the_check_timeout_bounds_are_inclusive(raw: str, timeout: float, problems: tuple[str, ...]) -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CHECK_TIMEOUT_SECONDS": raw})
    assert (config.timeout_seconds, config.problems) == (timeout, problems)


def test_an_echoed_bad_value_is_cut_to_40_characters() -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CACHE_TTL_SECONDS": "x" * 39 + "yz"})
    assert config.problems == (
        f"HEALTH_CACHE_TTL_SECONDS={'x' * 39 + 'y'!r} is not a number of seconds >= 0; using 10",
    )


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://LocalHost:8080/health", True),  # loopback names are not case-sensitive
        ("http://127.0.0.2/health", True),  # all of 127.0.0.0/8 is loopback
        ("http://10.0.0.1/health", False),  # plain http only on loopback
        ("https://api.petsage.example:1/health", True),
        ("https://api.petsage.example:65535/health", True),
        ("https://api.petsage.example:0/health", False),
        ("https://api.petsage.example:65536/health", False),
        ("https://user@api.petsage.example/health", False),  # a user name alone is a credential too
        ("https://api.petsage.example/health?", False),  # an empty query is still a query
        ("https://api.petsage.example/health#", False),
        ("https://api.petsage.example/he alth", False),
        ("https://api.petsage.example", True),  # no path: "/"
        ("https:///health", False),  # no host at all
        ("https://api.petsage.example/v1:health", False),  # a check key holds exactly one colon
        ("https://api.petsage.example/" + "p" * 511, True),  # a path of 512 characters
        ("https://api.petsage.example/" + "p" * 512, False),
    ],
)
def test_which_health_urls_are_accepted(url: str, accepted: bool) -> None:
    config = ReadinessConfig.from_environment({"HEALTH_HTTP_ENDPOINTS": url})
    assert (config.dependencies == (Dependency("http", url),)) is accepted
    assert (config.invalid == {"HEALTH_HTTP_ENDPOINTS": 1}) is not accepted


def test_name_rules_are_the_services_own() -> None:
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_DYNAMODB_TABLES": "ab,abc,Pets_v2.x-y," + "t" * 256,
            "HEALTH_S3_BUCKETS": "ab,abc,-abc,abc-," + "b" * 63 + ",b" + "b" * 63,
            "HEALTH_SSM_PARAMETERS": "/a,/,/a b,/" + "p" * 1010 + ",/" + "p" * 1011,
        }
    )
    assert [d.name for d in config.dependencies] == ["abc", "Pets_v2.x-y", "abc", "b" * 63, "/a", "/" + "p" * 1010]
    assert config.invalid == {"HEALTH_DYNAMODB_TABLES": 2, "HEALTH_S3_BUCKETS": 4, "HEALTH_SSM_PARAMETERS": 3}


def test_the_longest_accepted_names_are_valid_cloudwatch_dimension_values() -> None:
    # Each check key is the `dependency` dimension of its metrics; CloudWatch takes at most 1,024
    # characters and drops a record with a longer one.
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_DYNAMODB_TABLES": "t" * 255,
            "HEALTH_S3_BUCKETS": "b" * 63,
            "HEALTH_SSM_PARAMETERS": "/" + "p" * 1010,
            "HEALTH_HTTP_ENDPOINTS": "https://" + ".".join(["h" * 63] * 4)[:253] + ":65535/" + "p" * 511,
        }
    )
    assert config.invalid == {}
    assert max(len(d.component_name) for d in config.dependencies) <= 1024


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
