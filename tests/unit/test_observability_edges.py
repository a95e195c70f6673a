"""What the function writes at its edges: which loggers it takes over (the SDK's, even those imported
later, no one else's), and the invocation record's units, precision and cold-start field."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from petsage_health import observability
from tests.conftest import load_event, records, run_in_fresh_interpreter

Invoke = Callable[[Any], Any]
Written = Callable[[], list[dict[str, Any]]]


def test_sdk_loggers_imported_after_the_clients_are_made_write_warnings_as_json() -> None:
    # In this process too, only so that `make mutation` runs this test for the function: mutmut
    # relates tests to the functions they call in its own process, never in a child's.
    observability.quiet_third_party_loggers()
    # A fresh interpreter: urllib3 is not imported yet when readiness quiets the SDK's loggers.
    script = (
        "import logging, sys\n"
        "from petsage_health import observability\n"
        "assert 'urllib3' not in sys.modules\n"
        "observability.quiet_third_party_loggers()\n"
        "import urllib3\n"
        "logging.getLogger('urllib3.connectionpool').info('Starting new HTTPS connection')\n"
        "logging.getLogger('urllib3.connectionpool').warning('Retrying')\n"
    )
    result = run_in_fresh_interpreter(script)
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (line["message"], line["level"], line["service"]) == ("Retrying", "WARNING", "petsage-health")
    assert result.stderr == ""  # nothing reached Python's last-resort handler in plain text


def test_only_the_sdks_loggers_are_taken_over() -> None:
    unrelated = logging.getLogger("petsage_unrelated_library")
    observability.quiet_third_party_loggers()
    assert (unrelated.level, unrelated.handlers, unrelated.propagate) == (logging.NOTSET, [], True)


# --- the invocation's record: its metrics' units, its latency's precision, the cold start on every line ---


def test_every_request_metric_is_a_count(invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "_fresh_environment", True)
    invoke(load_event("health"))
    [record] = records(written())
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]} == {
        "Faults": "Count",
        "ColdStart": "Count",
    }


def test_latency_is_kept_to_the_microsecond(invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch) -> None:
    readings = [100.0, 100.0123456]  # begin, record
    monkeypatch.setattr(observability, "time", SimpleNamespace(perf_counter=lambda: readings.pop(0)))
    invoke(load_event("health"))
    [record] = records(written())
    assert record["latency_ms"] == 12.346


def test_every_logger_line_says_whether_its_invocation_was_a_cold_start(
    invoke: Invoke, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(observability, "_fresh_environment", True)
    invoke(load_event("direct-invoke"))
    invoke(load_event("direct-invoke"))
    lines = [line for line in written() if line["message"] == "Direct invocation answered with liveness"]
    assert [line["cold_start"] for line in lines] == [True, False]
