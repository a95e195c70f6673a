"""The Logs Insights queries on-call is given read fields and messages the function really writes.

The queries: every ```logs-insights block of docs/operations.md, and every log widget of the
dashboard. The lines: the handler's own, driven through every kind of line it writes: request
records (cold and warm), a not-found, a malformed event, a direct invocation, an unexpected error,
a failed and a timed-out dependency check, and a readiness configuration problem.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from petsage_api.health import checks
from petsage_api.health.config import Dependency
from petsage_api.health.models import CheckStatus
from tests.conftest import REPO_ROOT, fresh_environment, request
from tests.infrastructure.stack import DEPLOYED, dashboard
from tests.readiness_helpers import probe, use_probe

SOURCE = re.compile(r"^SOURCE '(?P<group>[^']*)'\s*\|")
DOCUMENTED = re.findall(
    r"```logs-insights\n(.*?)```", (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8"), re.S
)
ON_THE_DASHBOARD = [widget["properties"]["query"] for widget in dashboard()["widgets"] if widget["type"] == "log"]
# Logs Insights' own words: commands, operators, functions.
KEYWORDS = {
    "filter", "fields", "stats", "sort", "limit", "by", "as", "and", "or", "not", "in", "desc", "asc",
    "count", "pct", "avg", "sum", "min", "max", "bin", "ispresent", "like",
}  # fmt: skip
QUOTED = r"\"([^\"]*)\"|'([^']*)'"


@pytest.fixture
def lines(
    invoke: Callable[[Any], Any], written: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Every kind of line the function writes, as it writes them."""
    release = threading.Event()

    def check(dependency: Dependency, clients: Any, timeout_seconds: float) -> CheckStatus:
        if dependency.name == "slow-table":
            release.wait(timeout=10)  # past its deadline: timed out
        raise RuntimeError("AccessDeniedException: not authorized")

    monkeypatch.setattr(checks.Clients, "prepare", lambda self, services: None)
    monkeypatch.setattr("petsage_api.health.readiness.check", check)
    # A table that fails, one that times out, and a setting that is not a number (logged once).
    timeouts = {"HEALTH_CHECK_TIMEOUT_SECONDS": "0.2", "HEALTH_CACHE_TTL_SECONDS": "nonsense"}
    use_probe(monkeypatch, probe(HEALTH_DYNAMODB_TABLES="pets,slow-table", **timeouts))
    fresh_environment(monkeypatch)
    malformed = request()
    del malformed["rawPath"]
    for event in (request(), request(), request("GET", "/api/v1/health/ready/details", signed=True)):
        invoke(event)
    release.set()
    for event in (malformed, {}, request("GET", "/no/such/route")):
        invoke(event)

    def explode() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("petsage_api.health.router.HealthCheckResponse", explode)
    invoke(request())
    return written()


def fields_of(query: str) -> set[str]:
    """The field names a query reads: every identifier outside strings that is not a keyword or alias."""
    code = re.sub(QUOTED, '""', SOURCE.sub("", query))
    aliases = set(re.findall(r"\bas\s+(\w+)", code))
    names = set(re.findall(r"(?<![@\w.])([A-Za-z_][\w.]*)", code))
    return {name for name in names if name.lower() not in KEYWORDS and name not in aliases}


def compared(field: str, query: str) -> set[str]:
    """The values a query compares a field with: `field = "..."` and `field in ["...", ...]`."""
    found = {a or b for a, b in re.findall(rf"\b{field}\s*=\s*(?:{QUOTED})", query)}
    for listed in re.findall(rf"\b{field}\s+in\s+\[([^\]]*)\]", query):
        found |= {a or b for a, b in re.findall(QUOTED, listed)}
    return found


def test_the_operations_page_and_the_dashboard_have_queries() -> None:
    assert DOCUMENTED, "docs/operations.md has no ```logs-insights block"
    assert ON_THE_DASHBOARD


def test_the_dashboard_queries_the_functions_log_group() -> None:
    for query in ON_THE_DASHBOARD:
        source = SOURCE.match(query)
        assert source, query
        assert source["group"] == DEPLOYED["HealthFunctionLogGroup"]


def test_every_query_reads_fields_messages_and_levels_the_function_writes(lines: list[dict[str, Any]]) -> None:
    fields = {key for line in lines for key in line}
    messages = {line.get("message") for line in lines}
    levels = {line.get("level") for line in lines}
    unknown = {
        query.splitlines()[0]: problems
        for query in DOCUMENTED + ON_THE_DASHBOARD
        if (
            problems := {
                "fields": fields_of(query) - fields,
                "messages": compared("message", query) - messages,
                "levels": compared("level", query) - levels,
            }
        )
        != {"fields": set(), "messages": set(), "levels": set()}
    }
    assert unknown == {}
