"""CloudWatch Synthetics canary: the PetSage API's health contract, checked from outside AWS Lambda.

operations/monitoring.yaml embeds this file verbatim as the canary's inline script (the Synthetics
runtime saves it as python/api_canary.py; tests keep the two identical). The runtime is
Python 3.12, so nothing here needs 3.13. The standard library for HTTP (an API check needs no
browser), and the runtime's botocore to sign the readiness-details request with the canary's
role (SigV4): that route is IAM-authorized.

No `execute_step`: in the Selenium library it is a coroutine for UI canaries (the AWS page
"Library functions available for Python canary scripts using Selenium" lists it under "UI
canaries only"), which reads the browser's URL after every step, and with no browser launched
there is no step metric to rely on. The alarms need one that is certain to exist, so the
canary publishes its own: `CheckSuccessPercent` (100 or 0) per check, dimensions CanaryName and
Check, in the CloudWatchSynthetics namespace its role may write. The runtime still publishes
the run's own SuccessPercent by CanaryName; any failed check fails the run.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aws_synthetics.common import synthetics_logger as logger

LIVENESS_PATH = "/api/v1/health"
READINESS_PATH = "/api/v1/health/ready"
DETAILS_PATH = "/api/v1/health/ready/details"
# The exact bytes of the liveness contract: a reworded message or an extra field is a failure.
LIVENESS_BODY = b'{"status":"ok","message":"PetSage API is purring!"}'
LIVENESS_TYPE = "application/json"
READINESS_TYPE = "application/health+json"
READY = ("pass", "warn")
TIMEOUT_SECONDS = 10.0
# What the alarms (operations/monitoring.yaml) and the dashboard read.
METRIC_NAMESPACE = "CloudWatchSynthetics"
METRIC_NAME = "CheckSuccessPercent"
# Enough of a wrong body to diagnose it from the canary log, never a whole page.
EXCERPT_BYTES = 200


class ContractBroken(AssertionError):  # noqa: N818 - reads as the failure it reports
    """The API answered, but not what the contract promises."""


def get(base_url: str, path: str, *, signed: bool = False) -> tuple[int, str, bytes]:
    """GET base_url + path: status, Content-Type and body (no redirects followed, nothing cached).

    `signed`: with SigV4 for execute-api, from the canary role's credentials in the environment.
    """
    url = urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"API_URL must be an http(s) URL, got {base_url!r}")
    target = url.path.rstrip("/") + path
    headers = {"Accept": "application/json"}
    if signed:
        headers = _signed_headers(f"{url.scheme}://{url.netloc}{target}", headers)
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname, url.port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def _signed_headers(url: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers with a SigV4 signature for API Gateway (service execute-api) in this region."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.session import Session

    credentials = Session().get_credentials()
    if credentials is None:
        raise ContractBroken("no AWS credentials to sign the readiness details request with")
    request = AWSRequest(method="GET", url=url, headers=headers)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def check_liveness(base_url: str) -> None:
    """200, Content-Type application/json and exactly the liveness body."""
    status, content_type, body = get(base_url, LIVENESS_PATH)
    _expect(status == 200, f"{LIVENESS_PATH} answered {status}, not 200", body)
    _expect(content_type == LIVENESS_TYPE, f"{LIVENESS_PATH} Content-Type is {content_type!r}", body)
    _expect(body == LIVENESS_BODY, f"{LIVENESS_PATH} body is not the liveness contract", body)
    logger.info(f"{LIVENESS_PATH}: 200, liveness contract intact")


def check_readiness_details(base_url: str) -> list[str]:
    """Signed, the details answer (200 or 503, every check listed); returns the checks not passing."""
    status, content_type, body = get(base_url, DETAILS_PATH, signed=True)
    _expect(status in (200, 503), f"{DETAILS_PATH} answered {status}, not 200 or 503", body)
    checks = _health_document(DETAILS_PATH, content_type, body).get("checks")
    if not isinstance(checks, dict):
        raise ContractBroken(f"{DETAILS_PATH} has no checks object; body starts {_excerpt(body)!r}")
    troubled = [
        f"{key} {entries[0].get('status')}"
        for key, entries in sorted(checks.items())
        if isinstance(entries, list) and entries and isinstance(entries[0], dict) and entries[0].get("status") != "pass"
    ]
    logger.info(
        f"{DETAILS_PATH}: {status}, {len(checks)} checks"
        + (f"; not passing: {', '.join(troubled)}" if troubled else "")
    )
    return troubled


def check_readiness(base_url: str, troubled: list[str] | None = None) -> str:
    """200 with an application/health+json body whose status is pass or warn; returns that status.

    `troubled`: the checks the details step saw not passing, named in the failure message.
    """
    status, content_type, body = get(base_url, READINESS_PATH)
    which = f"; checks not passing: {', '.join(troubled)}" if troubled else ""
    _expect(status == 200, f"{READINESS_PATH} answered {status}, not 200 (not ready){which}", body)
    readiness = _health_document(READINESS_PATH, content_type, body).get("status")
    _expect(readiness in READY, f"{READINESS_PATH} status is {readiness!r}, not pass or warn{which}", body)
    logger.info(f"{READINESS_PATH}: 200, status {readiness}")
    return str(readiness)


async def handler(event: object, context: object) -> str:
    """The Synthetics entry point: every check runs and is published; any failure fails the run.

    Each result is published as soon as its check ends, liveness first: a run that times out on a
    later check (each request may take TIMEOUT_SECONDS) has still told the alarms. Later
    checks run after a failed one: on-call sees every broken part of the contract at once.
    """
    import boto3  # the runtime's; imported where used, like botocore above

    cloudwatch = boto3.client("cloudwatch")
    base_url = os.environ["API_URL"]
    troubled: list[str] = []
    checks: dict[str, Callable[[], object]] = {
        "liveness": lambda: check_liveness(base_url),
        "readiness details": lambda: troubled.extend(check_readiness_details(base_url)),
        "readiness": lambda: check_readiness(base_url, troubled),
    }
    failures: list[Exception] = []
    for name, check in checks.items():
        try:
            check()
        except Exception as failure:  # noqa: BLE001 - any failure of a check is that check's result
            logger.error(f"{name}: failed: {failure}")
            failures.append(failure)
            publish(cloudwatch, name, passed=False)
        else:
            publish(cloudwatch, name, passed=True)
    if failures:
        raise failures[0]
    return "PetSage API health contract intact"


def publish(cloudwatch: Any, check: str, *, passed: bool) -> None:
    """The check's CheckSuccessPercent datapoint; raises (failing the run) when CloudWatch refuses."""
    dimensions = [{"Name": "CanaryName", "Value": os.environ["CANARY_NAME"]}, {"Name": "Check", "Value": check}]
    cloudwatch.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {"MetricName": METRIC_NAME, "Dimensions": dimensions, "Value": 100.0 if passed else 0.0, "Unit": "Percent"}
        ],
    )


def _health_document(path: str, content_type: str, body: bytes) -> dict[str, object]:
    """The application/health+json body as an object ({} when it is not one)."""
    media_type = content_type.split(";")[0].strip().lower()
    _expect(media_type == READINESS_TYPE, f"{path} Content-Type is {content_type!r}", body)
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _expect(condition: bool, message: str, body: bytes) -> None:
    if not condition:
        raise ContractBroken(f"{message}; body starts {_excerpt(body)!r}")


def _excerpt(body: bytes) -> str:
    return body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
