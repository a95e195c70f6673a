"""Fixtures of the health feature's tests: a downstream service on loopback, and checks that never answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from petsage_api.health.models import CheckStatus
from tests.readiness_helpers import Downstream, serving, stand_in


@pytest.fixture
def downstream() -> Iterator[Downstream]:
    with serving() as server:
        yield server


@pytest.fixture
def hanging(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Checks that answer only after the test: each is past any deadline. Yields the names called."""
    release = threading.Event()
    called: list[str] = []

    def answer(name: str) -> CheckStatus:
        called.append(name)
        release.wait(10)
        return CheckStatus.PASS

    stand_in(monkeypatch, answer)
    yield called
    release.set()
