"""CloudWatch Synthetics canary: the PetSage API's health contract, checked from outside AWS Lambda.

template.yaml embeds this file verbatim as the canary's inline script (the Synthetics
runtime saves it as python/api_canary.py; tests keep the two identical). The runtime is
Python 3.12, so nothing here needs 3.13. Standard library only: an API check needs no browser.
"""

from __future__ import annotations

import http.client
import json
import os
from urllib.parse import urlsplit

from aws_synthetics.common import synthetics_logger as logger
from aws_synthetics.selenium import synthetics_webdriver as syn_webdriver

LIVENESS_PATH = "/api/v1/health"
READINESS_PATH = "/api/v1/health/ready"
# The exact bytes of the liveness contract: a reworded message or an extra field is a failure.
LIVENESS_BODY = b'{"status":"ok","message":"PetSage API is purring!"}'
LIVENESS_TYPE = "application/json"
READINESS_TYPE = "application/health+json"
READY = ("pass", "warn")
TIMEOUT_SECONDS = 10.0
# Enough of a wrong body to diagnose it from the canary log, never a whole page.
EXCERPT_BYTES = 200


class ContractBroken(AssertionError):  # noqa: N818 - reads as the failure it reports
    """The API answered, but not what the contract promises."""


def get(base_url: str, path: str) -> tuple[int, str, bytes]:
    """GET base_url + path: status, Content-Type and body (no redirects followed, nothing cached)."""
    url = urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"API_URL must be an http(s) URL, got {base_url!r}")
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname, url.port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", url.path.rstrip("/") + path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def check_liveness(base_url: str) -> None:
    """200, Content-Type application/json and exactly the liveness body."""
    status, content_type, body = get(base_url, LIVENESS_PATH)
    _expect(status == 200, f"{LIVENESS_PATH} answered {status}, not 200", body)
    _expect(content_type == LIVENESS_TYPE, f"{LIVENESS_PATH} Content-Type is {content_type!r}", body)
    _expect(body == LIVENESS_BODY, f"{LIVENESS_PATH} body is not the liveness contract", body)
    logger.info(f"{LIVENESS_PATH}: 200, liveness contract intact")


def check_readiness(base_url: str) -> str:
    """200 with an application/health+json body whose status is pass or warn; returns that status."""
    status, content_type, body = get(base_url, READINESS_PATH)
    _expect(status == 200, f"{READINESS_PATH} answered {status}, not 200 (not ready)", body)
    media_type = content_type.split(";")[0].strip().lower()
    _expect(media_type == READINESS_TYPE, f"{READINESS_PATH} Content-Type is {content_type!r}", body)
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    readiness = document.get("status") if isinstance(document, dict) else None
    _expect(readiness in READY, f"{READINESS_PATH} status is {readiness!r}, not pass or warn", body)
    logger.info(f"{READINESS_PATH}: 200, status {readiness}")
    return str(readiness)


def handler(event: object, context: object) -> str:
    """The Synthetics entry point: each check is a step, and any exception fails the run."""
    base_url = os.environ["API_URL"]
    syn_webdriver.execute_step("liveness", lambda: check_liveness(base_url))
    syn_webdriver.execute_step("readiness", lambda: check_readiness(base_url))
    return "PetSage API health contract intact"


def _expect(condition: bool, message: str, body: bytes) -> None:
    if not condition:
        excerpt = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
        raise ContractBroken(f"{message}; body starts {excerpt!r}")
