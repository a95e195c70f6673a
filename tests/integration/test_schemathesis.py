"""Schema-driven tests: Schemathesis reads our own /openapi.json from the local API and attacks it.

Every check runs except two that assume a framework answering unrouted verbs itself:
API Gateway's explicit routes answer an undeclared method with 404 before the function runs
(fewer verbs enabled, OWASP API8), where `unsupported_method` expects 405 and
`allow_header_conformance` an Allow header.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.conftest import LocalApi

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
API_GATEWAY_404_NOT_405 = "unsupported_method,allow_header_conformance"
REPORTS = REPO_ROOT / "test-artifacts" / "schemathesis"


def schemathesis(api: LocalApi, *options: str) -> subprocess.CompletedProcess[str]:
    # A fresh directory per run: Schemathesis keeps a crash cache (.schemathesis/) in its cwd
    # and replays it, which would make one run depend on the last.
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as scratch:
        return _run(api, scratch, *options)


def _run(api: LocalApi, scratch: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{api.url}/openapi.json",
            "--checks",
            "all",
            "--seed",
            "20261125",
            "--workers",
            "1",
            "--max-examples",
            "200",
            "--request-timeout",
            "10",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=scratch,
        env={"SCHEMATHESIS_TELEMETRY": "false", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


# The local API lets any Authorization header through to the IAM-authorized details route
# (it does not verify signatures), as API Gateway lets a valid SigV4 signature through.
SIGNED = ("-H", "Authorization: AWS4-HMAC-SHA256 Credential=local/20261126/us-east-1/execute-api/aws4_request")


def test_every_operation_passes_every_check(local_api: LocalApi) -> None:
    result = schemathesis(
        local_api,
        "--exclude-checks",
        API_GATEWAY_404_NOT_405,
        *SIGNED,
        "--report",
        "junit",
        "--report-dir",
        str(REPORTS),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues found" in result.stdout
    assert "generated" in result.stdout


def test_unsigned_requests_get_the_documented_403_from_the_details_route_only(local_api: LocalApi) -> None:
    result = schemathesis(local_api, "--exclude-checks", API_GATEWAY_404_NOT_405)
    # Every response, the 403s included, conforms to the document: nothing fails.
    assert result.returncode == 0, result.stdout + result.stderr
    warned = result.stdout.split("403 Forbidden (1 operation):", 1)[1].split("\n\n", 1)[0]
    assert warned.strip() == "- GET /api/v1/health/ready/details"


def test_the_excluded_checks_find_only_api_gateways_404_for_undeclared_verbs(local_api: LocalApi) -> None:
    result = schemathesis(local_api, "--phases", "coverage")
    assert result.returncode != 0
    failures = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("- ST")]
    assert failures, result.stdout
    assert all(line == "- ST204 Wrong response to undeclared method" for line in failures), failures
    assert "returned 404, expected 405" in result.stdout
