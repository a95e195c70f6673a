"""Schema-driven tests: Schemathesis reads our own /openapi.json from the local API and attacks it.

Every check runs except those that expect what neither the function nor API Gateway does, each
excluded for its reason (EXCLUDED), and a test shows that they find nothing else.
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
EXCLUDED = {
    # An undeclared method is a path no route serves: a JSON 404 (fewer verbs enabled, OWASP API8),
    # not a 405 with an Allow header.
    "unsupported_method": "ST204 Wrong response to undeclared method",
    "allow_header_conformance": "ST205 Allow header mismatch",
    # API Gateway refuses an unsigned request on an IAM route with 403, never 401.
    "missing_required_header": "ST203 Missing required header accepted",
    # The local API does not verify SigV4 signatures (API Gateway does): any Authorization passes.
    "ignored_auth": "ST401 API accepts invalid authentication",
}
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
            "50",
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
        ",".join(EXCLUDED),
        *SIGNED,
        "--report",
        "junit",
        "--report-dir",
        str(REPORTS),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues found" in result.stdout
    assert "generated" in result.stdout


def test_unsigned_requests_get_the_documented_answers(local_api: LocalApi) -> None:
    # The details route's SigV4 requirement is in the document: its 403 is documented, not a surprise.
    result = schemathesis(local_api, "--exclude-checks", ",".join(EXCLUDED))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues found" in result.stdout


def test_the_excluded_checks_find_only_what_they_are_excluded_for(local_api: LocalApi) -> None:
    result = schemathesis(local_api, "--phases", "coverage,fuzzing", *SIGNED)
    assert result.returncode != 0
    failures = {line.strip()[2:] for line in result.stdout.splitlines() if line.strip().startswith("- ST")}
    assert failures, result.stdout
    assert failures <= set(EXCLUDED.values()), failures
    assert "returned 404, expected 405" in result.stdout
