"""Warm invocations in one clean process, as one Lambda execution environment serves them.

Run by tests/soak/test_soak.py in a subprocess of its own: pytest keeps every log record it
captures, which would be the leak this measures. Usage:

    python -m tests.soak.inprocess INVOCATIONS REPORT.json

It writes `progress N` to stderr after every hundredth of the invocations, for the test to show.
"""

from __future__ import annotations

import copy
import gc
import io
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


class LogSink(io.TextIOBase):
    """Stands in for stdout (where Powertools writes JSON logs and metrics): keeps one invocation's text."""

    def __init__(self) -> None:
        self.current: list[str] = []

    def write(self, text: str) -> int:
        self.current.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.current)
        self.current.clear()
        return text


@dataclass
class SoakReport:
    invocations: int = 0
    rss_after_warmup: int = 0
    rss_at_end: int = 0
    leaks: list[str] = field(default_factory=list)
    changed_answers: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def rss_growth(self) -> int:
        return self.rss_at_end - self.rss_after_warmup


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def request_kinds() -> list[tuple[str, Any]]:
    """GET and HEAD of every path the function serves (signed: the IAM route answers), a 404, a
    malformed event, a direct invoke."""
    from tests.adversarial.contract import ROUTE_PATHS
    from tests.conftest import request

    kinds: list[tuple[str, Any]] = [
        (f"{method} {path}", request(method, path, signed=True)) for path in ROUTE_PATHS for method in ("GET", "HEAD")
    ]
    kinds.append(("404", request("GET", "/api/v1/nothing-here")))
    malformed = request()
    del malformed["requestContext"]["http"]
    kinds.append(("malformed", malformed))
    kinds.append(("direct", {}))
    return kinds


def with_marker(event: Any, marker: str) -> Any:
    """The event carrying a value unique to this invocation in every caller-controlled place."""
    if not event:
        return {"soakMarker": marker}
    marked = copy.deepcopy(event)
    marked["headers"][f"x-soak-{marker}"] = marker
    marked["headers"]["x-amzn-trace-id"] = f"Root=1-{marker}"
    marked["cookies"] = [f"soak={marker}"]
    marked["rawQueryString"] = f"soak={marker}"
    marked["queryStringParameters"] = {"soak": marker}
    marked["requestContext"]["requestId"] = marker
    return marked


# Answers that may legitimately differ between invocations (readiness reports live checks).
STATEFUL_PREFIX = "/api/v1/health/ready"


def soak(invocations: int) -> SoakReport:
    sink = LogSink()
    sys.stdout = sink  # before the function is imported: Powertools binds its handler to stdout then
    sys.path[:0] = [str(REPO_ROOT / "functions" / "api"), str(REPO_ROOT)]
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    kinds = request_kinds()
    report = SoakReport(kinds={name: 0 for name, _ in kinds})
    first_answers: dict[str, str] = {}
    previous_marker = ""
    warmup = min(2_000, invocations // 5)
    progress_every = max(1, invocations // 100)
    for index in range(invocations):
        if index and index % progress_every == 0:
            sys.stderr.write(f"progress {index}\n")
            sys.stderr.flush()
        if index == warmup:
            gc.collect()
            report.rss_after_warmup = rss_bytes()
        name, event = kinds[index % len(kinds)]
        marker = f"soak{index:07d}z"
        response = lambda_handler(with_marker(event, marker), LocalLambdaContext("HealthFunction"))
        answer = json.dumps(response, sort_keys=True)
        logged = sink.take()
        report.kinds[name] += 1
        if marker in answer or (previous_marker and previous_marker in answer):
            report.leaks.append(f"{index} {name}: a caller value came back in the answer: {answer[:300]}")
        if previous_marker and previous_marker in logged:
            report.leaks.append(f"{index} {name}: the previous invocation's value was logged: {logged[:300]}")
        expected = first_answers.setdefault(name, answer)
        if answer != expected and STATEFUL_PREFIX not in name:
            report.changed_answers.append(f"{index} {name}: {answer[:300]} != {expected[:300]}")
        if len(report.leaks) + len(report.changed_answers) > 20:
            break
        previous_marker = marker
        report.invocations = index + 1
    gc.collect()
    report.rss_at_end = rss_bytes()
    sys.stdout = sys.__stdout__
    return report


def main() -> int:
    invocations, report_path = int(sys.argv[1]), Path(sys.argv[2])
    report = soak(invocations)
    report_path.write_text(json.dumps({**asdict(report), "rss_growth": report.rss_growth}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
