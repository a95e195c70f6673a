"""The benchmark's launcher: its process imports json and nothing else, so the floor is honest.

`make bench` runs every variant through bench/coldstart.py with `python -I -S -B`; the floor is
the bare handler run that way. These tests run the launcher the same way, with the interpreter
`make bench` uses (.venv's), and compare what it imports, from `-X importtime`, with what
`import json` alone imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from typing import Any

from bench import bench
from local_api.template import functions, load_template
from tests.conftest import EVENTS_DIR, REPO_ROOT

LAUNCHER = REPO_ROOT / "bench" / "coldstart.py"
BARE = REPO_ROOT / "bench" / "variants" / "bare"
FLAGS = ["-I", "-S", "-B", "-X", "importtime"]


def imported(argv: list[str]) -> tuple[set[str], str]:
    """The modules a fresh interpreter imports (from -X importtime), and what it printed."""
    result = subprocess.run([sys.executable, *FLAGS, *argv], capture_output=True, text=True, check=True, timeout=60)
    modules = {
        line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    return modules - {"imported package"}, result.stdout


def launch(mode: str, invocations: int) -> tuple[set[str], list[dict[str, Any]]]:
    # The reports go to fd 1 here; the bare handler itself prints nothing.
    argv = [str(LAUNCHER), mode, "1", "handler.lambda_handler", str(EVENTS_DIR / "health.json"), str(invocations)]
    modules, stdout = imported([*argv, str(BARE)])
    return modules, [json.loads(line) for line in stdout.splitlines()]


def test_the_floor_process_imports_only_json_and_the_handler() -> None:
    startup_and_json, _ = imported(["-c", "import json"])
    modules, (answer, _) = launch("cold", 0)
    assert "json" in modules
    assert "handler" in modules
    assert modules - {"handler"} <= startup_and_json, (
        f"the launcher imported more: {modules - startup_and_json - {'handler'}}"
    )
    assert answer["status"] == 200


def test_cold_reports_the_answer_first_then_the_peak_rss() -> None:
    _, reports = launch("cold", 0)
    assert [set(report) for report in reports] == [{"status", "content_encoding", "cpu_ms"}, {"peak_rss_kib"}]
    assert reports[0]["cpu_ms"] > 0
    assert reports[1]["peak_rss_kib"] > 0


def test_warm_reports_the_time_per_invocation_and_the_peak_rss() -> None:
    _, [report] = launch("warm", 100)
    assert report["status"] == 200
    assert report["us_per_invocation"] > 0
    assert report["peak_rss_kib"] > 0


def test_the_bench_installs_groups_uv_lock_has_and_times_functions_the_template_has() -> None:
    # What `make bench` reads before it builds anything: a group or function renamed elsewhere breaks it.
    groups = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["dependency-groups"]
    assert set(bench.GROUPS) <= set(groups)
    timed = {variant.function for variant in bench.VARIANTS if variant.function}
    assert timed <= set(functions(load_template()))
