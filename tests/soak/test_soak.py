"""Soak: many warm invocations and a concurrent load, without growth, leaks or errors.

`make test` runs a scaled-down soak; `make soak` the full one (100,000 invocations,
20,000 requests 32 at a time), through PETSAGE_SOAK_INVOCATIONS and PETSAGE_SOAK_REQUESTS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.conftest import LocalApi
from tests.soak.load import hammer

pytestmark = pytest.mark.soak

INVOCATIONS = int(os.environ.get("PETSAGE_SOAK_INVOCATIONS", "5000"))
REQUESTS = int(os.environ.get("PETSAGE_SOAK_REQUESTS", "2000"))
CONCURRENCY = 32
MAX_RSS_GROWTH = 2 * 1024 * 1024


ARTIFACTS = REPO_ROOT / "test-artifacts"


def test_warm_invocations_neither_grow_nor_leak_between_invocations() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    report_path = ARTIFACTS / "soak-invocations.json"
    subprocess.run(
        [sys.executable, "-m", "tests.soak.inprocess", str(INVOCATIONS), str(report_path)],
        cwd=REPO_ROOT,
        check=True,
        timeout=1800,
    )
    report = json.loads(report_path.read_text())
    assert report["leaks"] == []
    assert report["changed_answers"] == []
    assert report["invocations"] == INVOCATIONS
    assert min(report["kinds"].values()) >= INVOCATIONS // len(report["kinds"])
    assert report["rss_growth"] < MAX_RSS_GROWTH, report


def test_the_local_api_serves_a_concurrent_load_without_an_error(local_api: LocalApi) -> None:
    started = time.monotonic()
    result = hammer(local_api.host, local_api.port, requests=REQUESTS, concurrency=CONCURRENCY)
    elapsed = time.monotonic() - started
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak-load.json").write_text(
        json.dumps({"requests": result.sent, "concurrency": CONCURRENCY, "seconds": round(elapsed, 1),
                    "statuses": result.statuses, "errors": result.errors[:20]}, indent=2)
    )  # fmt: skip
    assert result.errors == []
    assert result.sent == REQUESTS
    assert "error" not in result.statuses
    assert "Traceback" not in local_api.stderr
