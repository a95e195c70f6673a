"""The Logs Insights queries in docs/operations.md ask for fields and messages the function really writes.

The lines come from the handler itself, driven through every kind of line it writes: request
records (cold and warm), a malformed event, a direct invocation, an unexpected error, a failed and
a timed-out dependency check, and a configuration problem logged on the first invocation.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from petsage_api.app import API_VERSION
from petsage_api.health import checks
from petsage_api.health.config import Dependency, ReadinessConfig
from petsage_api.health.models import CheckStatus, HealthCheckResponse
from petsage_api.health.readiness import ReadinessProbe
from tests.conftest import REPO_ROOT, fresh_environment, load_event
from tests.readiness_helpers import use_probe

QUERIES = re.findall(
    r"```logs-insights\n(.*?)```", (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8"), re.S
)
# Logs Insights' own words: commands, operators, functions.
KEYWORDS = {
    "filter", "fields", "stats", "sort", "limit", "by", "as", "and", "or", "not", "in", "desc", "asc",
    "count", "pct", "avg", "sum", "min", "max", "bin", "ispresent", "like",
}  # fmt: skip


@pytest.fixture
def lines(
    invoke: Callable[[Any], Any], written: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Every kind of line the function writes, as it writes them."""
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_DYNAMODB_TABLES": "pets,slow-table",
            "HEALTH_CHECK_TIMEOUT_SECONDS": "0.2",
            "HEALTH_CACHE_TTL_SECONDS": "nonsense",  # a configuration problem, logged on the cold start
        }
    )

    def check(dependency: Dependency, clients: Any, timeout_seconds: float) -> CheckStatus:
        if dependency.name == "slow-table":
            time.sleep(1)  # past its 0.2 s deadline: timed out
        raise RuntimeError("AccessDeniedException: not authorized")

    monkeypatch.setattr(checks.Clients, "prepare", lambda self, services: None)
    monkeypatch.setattr("petsage_api.health.readiness.check", check)
    use_probe(monkeypatch, ReadinessProbe(config, "petsage-health", API_VERSION))
    fresh_environment(monkeypatch)
    for name in ("health", "health", "ready-details", "malformed-http", "direct-invoke", "not-found"):
        invoke(load_event(name))

    def explode() -> HealthCheckResponse:
        raise RuntimeError("boom")

    monkeypatch.setattr("petsage_api.health.router.liveness", explode)
    invoke(load_event("health"))
    return written()


def fields_of(query: str) -> set[str]:
    """The field names a query reads: every identifier outside strings that is not a keyword or alias."""
    code = re.sub(r'"[^"]*"', '""', query)
    aliases = set(re.findall(r"\bas\s+(\w+)", code))
    names = set(re.findall(r"(?<![@\w.])([A-Za-z_][\w.]*)", code))
    return {name for name in names if name.lower() not in KEYWORDS and name not in aliases and not name[0].isdigit()}


def messages_of(query: str) -> set[str]:
    """The messages a query filters on: `message = "..."` and `message in [...]`."""
    found = set(re.findall(r'message\s*=\s*"([^"]+)"', query))
    for listed in re.findall(r"message\s+in\s+\[([^\]]*)\]", query):
        found |= set(re.findall(r'"([^"]+)"', listed))
    return found


def test_the_operations_page_has_queries() -> None:
    assert len(QUERIES) >= 5


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.splitlines()[0][:60])
def test_each_query_reads_fields_and_messages_the_function_writes(query: str, lines: list[dict[str, Any]]) -> None:
    written_fields = {key for line in lines for key in line}
    assert fields_of(query) - written_fields == set()
    written_messages = {line.get("message") for line in lines}
    assert messages_of(query) - written_messages == set()
    levels = set(re.findall(r'level\s*=\s*"([^"]+)"', query))
    assert levels <= {line.get("level") for line in lines}


def test_the_fields_each_kind_of_line_carries(lines: list[dict[str, Any]]) -> None:
    by_message: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_message.setdefault(line["message"], []).append(line)
    assert {"route", "status", "latency_ms", "cold_start", "function_request_id", "deployment"} <= set(
        by_message["Request answered"][0]
    )
    assert [line.get("ColdStart") for line in by_message["Request answered"]][:2] == [[1.0], None]
    assert {"check", "error"} <= set(by_message["Dependency check failed"][0])
    assert {"check", "timeout_seconds"} <= set(by_message["Dependency check timed out"][0])
    assert "problem" in by_message["Readiness configuration problem"][0]
    assert "reason" in by_message["Rejected malformed HTTP API event"][0]
    assert "exception_name" in by_message["Unhandled error while resolving the request"][0]
    assert all("function_request_id" in line for line in lines)
