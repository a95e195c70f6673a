"""The build recipe run for this machine's architecture, shared by the artifact tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="session")
def host_artifact(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same recipe for this machine's architecture, read-only like Lambda's /var/task."""
    out = tmp_path_factory.mktemp("host-build") / "HealthFunction"
    subprocess.run([sys.executable, "scripts/build_function.py", "--arch", "host", str(out)], cwd=REPO_ROOT, check=True)
    paths = [out, *out.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    yield out
    for path in paths:
        path.chmod(path.stat().st_mode | 0o200)
