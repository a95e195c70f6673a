"""Debian's Chromium for the tests that look at pages and pictures (tests/browser, tests/bench).

Outside CI a test skips, saying so, when no Chromium is installed; in CI (CI=true) that fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    candidates = [os.environ.get("PETSAGE_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"]
    return next((path for path in candidates if path and Path(path).is_file()), None)


def require_chromium() -> str:
    path = find_chromium()
    if path is None:
        message = (
            "no Chromium found (PETSAGE_CHROMIUM, `chromium` on PATH, /usr/bin/chromium); `apt-get install chromium`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {message}")
        pytest.skip(message)
    return path
