"""Downstream HTTP checks at their edges: which statuses pass, what is sent, TLS verification, and
that a check gives up on its own at its timeout, on loopback servers the tests run."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from petsage_health import checks
from petsage_health.checks import Clients
from petsage_health.config import Dependency
from petsage_health.models import CheckStatus
from tests.conftest import logged
from tests.readiness_helpers import Downstream, probe, serving, silent_port


@pytest.fixture
def downstream() -> Iterator[Downstream]:
    with serving() as server:
        yield server


def status_of(url: str, timeout: str = "2") -> CheckStatus:
    readiness_probe = probe(HEALTH_HTTP_ENDPOINTS=url, HEALTH_CHECK_TIMEOUT_SECONDS=timeout)
    [(_, [entry])] = readiness_probe.report().checks.items()
    return entry.status


# --- what passes -------------------------------------------------------------------------------


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
    assert (headers["user-agent"], headers["accept"]) == ("petsage-health-readiness", "*/*")


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
