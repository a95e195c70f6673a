"""Soak: many warm invocations and a concurrent load, without growth, leaks or errors.

`make test` runs a scaled-down soak; `make soak` the full one (100,000 invocations,
20,000 requests 32 at a time), through PETSAGE_SOAK_INVOCATIONS and PETSAGE_SOAK_REQUESTS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tests import pytest_progress
from tests.conftest import REPO_ROOT
from tests.integration.conftest import LocalApi
from tests.soak.load import hammer

pytestmark = pytest.mark.soak

INVOCATIONS = int(os.environ.get("PETSAGE_SOAK_INVOCATIONS", "3000"))
REQUESTS = int(os.environ.get("PETSAGE_SOAK_REQUESTS", "1000"))
# `make soak` raises the counts and gets a progress line per tenth; `make test`'s stay quiet.
LONG_RUN = {"PETSAGE_SOAK_INVOCATIONS", "PETSAGE_SOAK_REQUESTS"} & set(os.environ)
CONCURRENCY = 32
TIMEOUT_S = 1800
MAX_RSS_GROWTH = 2 * 1024 * 1024


ARTIFACTS = REPO_ROOT / "test-artifacts"


def test_warm_invocations_neither_grow_nor_leak_between_invocations() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    report_path = ARTIFACTS / "soak-invocations.json"
    progress = pytest_progress.progress("soak") if LONG_RUN else None
    if progress:
        progress.phase("warm invocations", INVOCATIONS, f"{INVOCATIONS:,} in one process")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.soak.inprocess", str(INVOCATIONS), str(report_path)],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    watchdog = threading.Timer(TIMEOUT_S, process.kill)  # bounded, as every loop here is
    watchdog.start()
    other_lines = []
    try:
        for line in process.stderr:
            done = line.removeprefix("progress ")
            if done != line and done.strip().isdigit():
                if progress:
                    progress.update(int(done))
            else:
                other_lines.append(line)
    finally:
        watchdog.cancel()
    assert process.wait() == 0, f"exit {process.returncode} (killed after {TIMEOUT_S} s?): {''.join(other_lines)}"
    if progress:
        progress.update(INVOCATIONS)
    report = json.loads(report_path.read_text())
    assert report["leaks"] == []
    assert report["changed_answers"] == []
    assert report["invocations"] == INVOCATIONS
    assert min(report["kinds"].values()) >= INVOCATIONS // len(report["kinds"])
    assert report["rss_growth"] < MAX_RSS_GROWTH, report


def test_the_local_api_serves_a_concurrent_load_without_an_error(local_api: LocalApi) -> None:
    progress = pytest_progress.progress("soak") if LONG_RUN else None
    if progress:
        progress.phase("requests", REQUESTS, f"{REQUESTS:,}, {CONCURRENCY} at a time")
    started = time.monotonic()
    result = hammer(
        local_api.host,
        local_api.port,
        requests=REQUESTS,
        concurrency=CONCURRENCY,
        on_sent=progress.update if progress else None,
    )
    elapsed = time.monotonic() - started
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak-load.json").write_text(
        json.dumps({"requests": result.sent, "concurrency": CONCURRENCY, "seconds": round(elapsed, 1),
                    "statuses": result.statuses, "errors": result.errors[:20]}, indent=2)
    )  # fmt: skip
    assert result.errors == []
    assert result.sent == REQUESTS
    assert "error" not in result.statuses
    assert "Traceback" not in local_api.stdout + local_api.stderr
