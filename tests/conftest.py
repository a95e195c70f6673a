"""Shared fixtures: the committed events/ files and a Lambda context, as `sam local invoke` uses them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local_api.lambda_runtime import LocalLambdaContext
from tests import pytest_progress

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"


def load_event(name: str) -> Any:
    """A fresh copy of events/<name>.json, so a test may change it freely."""
    return copy.deepcopy(json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8")))


def pytest_configure(config: pytest.Config) -> None:
    pytest_progress.attach(config)


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="HealthFunction")


@pytest.fixture
def invoke(lambda_context: LocalLambdaContext) -> Callable[[Any], Any]:
    """Call the real handler the way the Lambda runtime does."""
    from app import lambda_handler

    return lambda event: lambda_handler(event, lambda_context)


def logged(caplog: pytest.LogCaptureFixture, message: str) -> dict[str, Any]:
    """The fields of the one record logged with this message (extra keys included).

    Powertools' JSON handler writes to the real stdout, so tests read the log records.
    """
    records = [record for record in caplog.records if record.getMessage() == message]
    assert len(records) == 1, f"expected one {message!r} log record, got {[r.getMessage() for r in caplog.records]}"
    return vars(records[0])
