"""Dependency checks: the cheapest call that proves each dependency is reachable and permitted.

boto3 is imported here, lazily, on the first readiness request: never on the liveness path,
where its ~300 ms import would land on every cold start. Downstream HTTP services are called
with the standard library's http.client: a single GET, no redirects, no credentials, no
cookies, a bounded read; urllib3 (boto3's) would add an import and a pool for one request.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from petsage_api.health.config import Dependency
from petsage_api.health.models import CheckStatus
from petsage_api.observability import quiet_third_party_loggers

if TYPE_CHECKING:
    import http.client

    from boto3.session import Session
    from botocore.client import BaseClient

# What each call proves, and why it is the cheapest: no data is read.
#   dynamodb DescribeTable  - table exists, and we may reach it (metadata only)
#   s3 HeadBucket           - bucket exists, and we may list it (no object read)
#   ssm GetParameter        - parameter exists, and we may read it (no decryption)
Probe = Callable[[Any, str], CheckStatus]


def _describe_table(client: Any, name: str) -> CheckStatus:
    status = client.describe_table(TableName=name)["Table"]["TableStatus"]
    # UPDATING tables still serve traffic; CREATING/DELETING/ARCHIVED ones do not.
    if status == "ACTIVE":
        return CheckStatus.PASS
    return CheckStatus.WARN if status == "UPDATING" else CheckStatus.FAIL


def _head_bucket(client: Any, name: str) -> CheckStatus:
    client.head_bucket(Bucket=name)
    return CheckStatus.PASS


def _get_parameter(client: Any, name: str) -> CheckStatus:
    client.get_parameter(Name=name, WithDecryption=False)
    return CheckStatus.PASS


PROBES: dict[str, Probe] = {"dynamodb": _describe_table, "s3": _head_bucket, "ssm": _get_parameter}
COMPONENT_TYPES = {"dynamodb": "datastore", "s3": "datastore", "ssm": "component", "http": "system"}
# A health endpoint's body is a status document: enough to drain it, never a download.
HTTP_BODY_LIMIT = 4096
USER_AGENT = "petsage-api-readiness"


class HttpCheckError(Exception):
    """A downstream answer that is not 2xx; the message is for the logs only."""


def check(dependency: Dependency, clients: Clients, timeout_seconds: float) -> CheckStatus:
    """Run one dependency's check; raises whatever stopped it (the caller makes that a fail)."""
    if dependency.service == "http":
        return _http_get(dependency.name, timeout_seconds)
    return PROBES[dependency.service](clients.get(dependency.service), dependency.name)


def _http_get(url: str, timeout_seconds: float) -> CheckStatus:
    """GET the URL: 2xx is pass; a redirect, an error status or no answer in time fails."""
    # Here, not at the top: http.client and the email package it imports cost ~7 ms of a cold
    # start (ssl, gzip, ipaddress and concurrent.futures are imported by Powertools anyway).
    import http.client

    parts = urlsplit(url)
    deadline = time.monotonic() + timeout_seconds
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout_seconds, context=_tls_context()
        )
    else:  # plain http only for loopback hosts (config.http_endpoint)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_seconds)
    try:
        connection.request("GET", parts.path or "/", headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        response = connection.getresponse()
        received = 0
        while received < HTTP_BODY_LIMIT and time.monotonic() < deadline:
            chunk = response.read1(HTTP_BODY_LIMIT - received)
            if not chunk:
                break
            received += len(chunk)
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return CheckStatus.PASS
    redirect = " (redirects are not followed)" if 300 <= response.status < 400 else ""
    raise HttpCheckError(f"HTTP {response.status}{redirect}")


@cache
def _tls_context() -> ssl.SSLContext:
    """Certificate and host name verification as the platform's defaults; made once, shared."""
    return ssl.create_default_context()


class Clients:
    """boto3 clients made on first use and kept for warm invocations.

    Short timeouts and a single attempt: a health check must answer within its own
    deadline, and retrying a dependency that is down only hammers it.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._session: Session | None = None
        self._clients: dict[str, BaseClient] = {}
        self._lock = threading.Lock()  # clients are made one at a time: sessions are not thread-safe

    def prepare(self, services: set[str]) -> None:
        """Make the clients before any deadline starts: the first one imports boto3 (~250 ms)."""
        for service in sorted(services):
            # A failure here (no region, no credentials) is reported by the check, which asks again.
            with contextlib.suppress(Exception):
                self.get(service)

    def get(self, service: str) -> BaseClient:
        with self._lock:
            if service not in self._clients:
                from boto3.session import Session
                from botocore.config import Config

                if self._session is None:
                    # Their loggers exist now: below WARNING they would add INFO lines
                    # ("Found credentials in environment variables.") in another layout.
                    quiet_third_party_loggers()
                    # A session of our own: credentials are resolved by this probe, not shared.
                    self._session = Session()
                config = Config(
                    connect_timeout=self._timeout,
                    read_timeout=self._timeout,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                )
                self._clients[service] = self._session.client(service, config=config)  # type: ignore[call-overload]
            return self._clients[service]
