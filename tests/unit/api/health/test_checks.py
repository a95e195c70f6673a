"""Dependency checks (petsage_api.health.checks): the cheapest call that proves each dependency is
reachable and permitted, and what its answer means.

The SDK checks against moto and botocore's Stubber on real clients: which call each makes, a table's
states, access denied, and clients that time out with the check and try once. Downstream HTTP checks
on loopback servers the tests run: which statuses pass, what is sent, TLS verification, and that a
check gives up on its own at its timeout.
"""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from petsage_api.health import checks
from petsage_api.health.checks import Clients
from petsage_api.health.config import Dependency
from petsage_api.health.models import CheckStatus
from tests.conftest import AWS_REGION, logged, request
from tests.conftest import create_resources as create_resources_named
from tests.readiness_helpers import (
    DRAFT_SCHEMA,
    Downstream,
    Invoke,
    details,
    probe,
    serving,
    silent_port,
    statuses,
    use_probe,
)

# Credentials and region for the SDK, never real ones, and no endpoint but a test's own (conftest.py).
pytestmark = pytest.mark.usefixtures("aws_environment")


# --- the SDK checks against moto: reachable, missing, denied ------------------------------------------


def create_resources() -> None:
    create_resources_named("pets", "petsage-assets", "/petsage/flag", "SecureString")


ALL_PRESENT = {
    "HEALTH_DYNAMODB_TABLES": "pets",
    "HEALTH_S3_BUCKETS": "petsage-assets",
    "HEALTH_SSM_PARAMETERS": "/petsage/flag",
}
KEYS = {"dynamodb/pets:responseTime", "s3/petsage-assets:responseTime", "ssm//petsage/flag:responseTime"}


@mock_aws
def test_every_reachable_dependency_passes(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    create_resources()
    use_probe(monkeypatch, probe(**ALL_PRESENT))
    response = invoke(request("GET", "/api/v1/health/ready/details", signed=True))
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


@mock_aws
def test_a_missing_resource_fails_with_503_and_keeps_the_error_in_the_logs(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    create_resources()
    use_probe(monkeypatch, probe(**{**ALL_PRESENT, "HEALTH_DYNAMODB_TABLES": "pets,vanished"}))
    response = invoke(request("GET", "/api/v1/health/ready/details", signed=True))
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
    response = invoke(request("GET", "/api/v1/health/ready/details", signed=True))
    assert response["statusCode"] == 503
    assert statuses(json.loads(response["body"])) == dict.fromkeys(KEYS, "fail")
    assert "AccessDenied" not in response["body"]
    assert "not authorized" not in response["body"]
    errors = [vars(r)["error"] for r in caplog.records if r.getMessage() == "Dependency check failed"]
    assert len(errors) == 3
    assert all("AccessDenied" in error or "not authorized" in error for error in errors), errors


# --- what each SDK check calls, and what its answer means ---------------------------------------


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


# --- the SDK clients: short timeouts, one attempt, and a check that says why it could not run ------


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


# --- downstream HTTP services: what passes, what is sent, how much is read -----------------------


def status_of(url: str, timeout: str = "2") -> CheckStatus:
    readiness_probe = probe(HEALTH_HTTP_ENDPOINTS=url, HEALTH_CHECK_TIMEOUT_SECONDS=timeout)
    [(_, [entry])] = readiness_probe.report().checks.items()
    return entry.status


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health", "pass"), ("/broken", "fail"), ("/moved", "fail"), ("/hang", "fail")],
    ids=["200", "500", "redirect", "hang"],
)
def test_an_http_dependency_passes_on_2xx_only(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream, path: str, status: str
) -> None:
    # /hang fails when its short deadline passes; the others get a long one, so that a busy machine
    # never makes a quick answer slow enough to warn.
    timeout = "0.5" if path == "/hang" else "8"
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + path, HEALTH_CHECK_TIMEOUT_SECONDS=timeout))
    code, body = details(invoke)
    port = downstream.url.rsplit(":", 1)[1]
    key = f"http/127.0.0.1_{port}{path}:responseTime"
    assert statuses(body) == {key: status}
    assert (code, body["status"]) == ((200, "pass") if status == "pass" else (503, "fail"))
    entry = body["checks"][key][0]
    assert (entry["componentId"], entry["componentType"]) == (downstream.url + path, "system")


def test_redirects_are_not_followed(invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream) -> None:
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + "/moved"))
    invoke(request("GET", "/api/v1/health/ready/details", signed=True))
    assert downstream.paths() == ["/moved"]


def test_no_credentials_or_cookies_are_sent_downstream(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream
) -> None:
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + "/health", HEALTH_CACHE_TTL_SECONDS="0"))
    # The caller's own signature and cookies stay with the caller.
    event = request("GET", "/api/v1/health/ready/details", signed=True)
    event["cookies"] = ["session=caller"]
    invoke(event)
    invoke(event)
    [(_, first), (_, second)] = downstream.requests
    for headers in (first, second):
        assert not {"authorization", "cookie", "x-amz-date"} & set(headers)
        assert headers["user-agent"] == "petsage-api-readiness"


def test_only_the_first_few_kib_of_a_huge_body_are_read(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream
) -> None:
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + "/huge", HEALTH_CHECK_TIMEOUT_SECONDS="5"))
    code, body = details(invoke)
    assert (code, body["status"]) == (200, "pass")
    for _ in range(100):  # the server notices the closed connection on one of its next writes
        if downstream.unfinished_writes:
            break
        time.sleep(0.05)
    assert downstream.unfinished_writes == ["/huge"]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, CheckStatus.PASS), (204, CheckStatus.PASS), (299, CheckStatus.PASS), (300, CheckStatus.FAIL)],
)
def test_only_a_2xx_answer_passes(downstream: Downstream, status: int, outcome: CheckStatus) -> None:
    assert status_of(f"{downstream.url}/status/{status}") is outcome


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, "HTTP 503"),
        (400, "HTTP 400"),
        (300, "HTTP 300 (redirects are not followed)"),
        (302, "HTTP 302 (redirects are not followed)"),
        (399, "HTTP 399 (redirects are not followed)"),
    ],
)
def test_a_non_2xx_answer_is_logged_with_its_status(
    downstream: Downstream, caplog: pytest.LogCaptureFixture, status: int, error: str
) -> None:
    status_of(f"{downstream.url}/status/{status}")
    assert logged(caplog, "Dependency check failed")["error"] == f"HttpCheckError: {error}"


def test_a_url_without_a_path_is_asked_for_the_root(downstream: Downstream) -> None:
    assert status_of(downstream.url) is CheckStatus.PASS
    [(path, headers)] = downstream.requests
    assert path == "/"
    assert (headers["user-agent"], headers["accept"]) == ("petsage-api-readiness", "*/*")


def test_a_body_still_dripping_at_the_deadline_is_not_ready(downstream: Downstream) -> None:
    # Answered at once, then a byte every 20 ms: reading it is bounded by the check's deadline too.
    assert status_of(f"{downstream.url}/drip", timeout="0.2") is not CheckStatus.PASS


# --- a check gives up on its own, so an abandoned one ends soon after the answer ---------------------


@pytest.fixture
def silent() -> Iterator[int]:
    with silent_port() as port:
        yield port


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_check_times_out_by_itself(silent: int, scheme: str) -> None:
    host = "127.0.0.1" if scheme == "http" else "localhost"
    with pytest.raises(TimeoutError):
        checks.check(Dependency("http", f"{scheme}://{host}:{silent}/health"), Clients(0.2), 0.2)


# --- TLS: the platform's verification, certificates and host names ---------------------------------


@dataclass(frozen=True)
class Certificates:
    authority: Path  # the test CA's certificate, PEM
    chain: Path  # the server's certificate, PEM
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA, and a certificate it signed for localhost with what strict verification asks."""
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("petsage test CA"))
        .issuer_name(_name("petsage test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),  # keyCertSign, cRLSign
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    result = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    result.authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    result.chain.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    result.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return result


@pytest.fixture
def tls_downstream(certificates: Certificates) -> Iterator[Downstream]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.chain, certificates.key)
    with serving(context) as server:
        yield server


def trusting(certificates: Certificates) -> Callable[[], ssl.SSLContext]:
    """The platform's default context, with the test CA added to what it trusts."""
    return lambda: ssl.create_default_context(cafile=str(certificates.authority))


def test_an_https_dependency_with_a_trusted_certificate_passes(
    tls_downstream: Downstream, certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "_tls_context", trusting(certificates))
    assert status_of(f"{tls_downstream.url}/health") is CheckStatus.PASS
    assert [path for path, _ in tls_downstream.requests] == ["/health"]


def test_an_https_dependency_whose_certificate_is_not_trusted_fails(
    tls_downstream: Downstream, caplog: pytest.LogCaptureFixture
) -> None:
    assert status_of(f"{tls_downstream.url}/health") is CheckStatus.FAIL
    assert "CERTIFICATE_VERIFY_FAILED" in logged(caplog, "Dependency check failed")["error"]
    assert tls_downstream.requests == []


def test_an_https_certificate_must_name_the_host(
    tls_downstream: Downstream,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(checks, "_tls_context", trusting(certificates))
    by_address = tls_downstream.url.replace("localhost", "127.0.0.1")  # the certificate names localhost only
    assert status_of(f"{by_address}/health") is CheckStatus.FAIL
    assert "IP address mismatch" in logged(caplog, "Dependency check failed")["error"]
