"""A deployment on loopback for each hook test, and this process's environment as the hooks' Lambda one."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.hooks.fakes import Deployment


@pytest.fixture
def deployment(
    unreachable_endpoint: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Deployment]:
    """No AWS setting of this machine's survives: only the deployment's endpoints and dummy credentials."""
    running = Deployment()
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in running.environment(unreachable_endpoint).items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.INFO, logger="deploy_hooks")
    yield running
    running.close()
