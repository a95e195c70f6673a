"""`make bench`'s chart: drawn from a results file, one bar per variant in each panel, every target line.

The chart is rendered by the bench environment's interpreter (.tools/bench, which `make install`
creates), where matplotlib lives: the dev environment never installs it. The SVG is then opened
in headless Chromium, as a person would open it, and the screenshot kept in test-artifacts/.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import FLAGS, require_chromium
from tests.conftest import REPO_ROOT

BENCH_PYTHON = REPO_ROOT / ".tools" / "bench" / "bin" / "python"
CHART = REPO_ROOT / "bench" / "chart.py"
SAMPLE = Path(__file__).with_name("bench-results-sample.json")
ARTIFACTS = REPO_ROOT / "test-artifacts"
SVG = "{http://www.w3.org/2000/svg}"
PANELS = ("cold", "warm", "docs", "rss", "zip")
TARGET_LINES = {
    "cold": {"floor-line", "target-cold-floor", "target-cold-sam"},
    "warm": {"target-warm-liveness"},
    "docs": {"target-warm-docs"},
    "rss": {"target-rss"},
    "zip": {"target-zip"},
}


def run_chart(*args: str) -> subprocess.CompletedProcess[str]:
    if not BENCH_PYTHON.is_file():
        pytest.fail(f"no {BENCH_PYTHON.relative_to(REPO_ROOT)}: `make install` creates the bench environment")
    return subprocess.run([str(BENCH_PYTHON), str(CHART), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return results


@pytest.fixture(scope="module")
def chart() -> Path:
    out = ARTIFACTS / "bench-chart.svg"
    result = run_chart(str(SAMPLE), str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def panels(chart: Path) -> dict[str, ET.Element]:
    root = ET.parse(chart).getroot()  # noqa: S314 - our own file, just written by matplotlib
    return {panel: element for panel in PANELS for element in root.iter() if element.get("id") == f"panel-{panel}"}


def ids_in(element: ET.Element, prefix: str) -> list[str]:
    return [found for child in element.iter() if (found := child.get("id", "")).startswith(prefix)]


def xs(element: ET.Element) -> list[float]:
    """The x coordinates of the path an element with an id draws (a bar or a vertical line)."""
    path = next(child for child in element.iter(f"{SVG}path"))
    numbers = [float(number) for number in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    return numbers[0::2]


def by_id(element: ET.Element, element_id: str) -> ET.Element:
    return next(child for child in element.iter() if child.get("id") == element_id)


def test_every_panel_has_one_bar_per_variant(panels: dict[str, ET.Element], sample: dict[str, Any]) -> None:
    assert set(panels) == set(PANELS)
    keys = [variant["key"] for variant in sample["variants"]]
    expected = {
        "cold": keys,
        "warm": keys,
        "rss": keys,
        "zip": [*keys, "shipped"],
        "docs": [case["key"] for case in sample["warm_docs"]],
    }
    for panel, bar_keys in expected.items():
        assert sorted(ids_in(panels[panel], f"bar-{panel}-")) == sorted(f"bar-{panel}-{key}" for key in bar_keys)


def test_every_panel_has_its_target_lines(panels: dict[str, ET.Element]) -> None:
    for panel, lines in TARGET_LINES.items():
        found = set(ids_in(panels[panel], "target-")) | set(ids_in(panels[panel], "floor-"))
        assert found == lines, panel


def test_bars_and_lines_are_drawn_to_scale(panels: dict[str, ET.Element], sample: dict[str, Any]) -> None:
    """Bar lengths and line positions in the SVG follow the numbers, measured from the axis."""
    cold = panels["cold"]
    origin = min(xs(by_id(cold, "bar-cold-bare")))

    def length(element_id: str) -> float:
        return max(xs(by_id(cold, element_id))) - origin

    variants = {variant["key"]: variant for variant in sample["variants"]}
    floor_ms = variants["bare"]["cold_ms"]
    for key, variant in variants.items():
        assert length(f"bar-cold-{key}") / length("bar-cold-bare") == pytest.approx(variant["cold_ms"] / floor_ms, 0.01)
    assert length("floor-line") == pytest.approx(length("bar-cold-bare"), 0.01)
    assert length("target-cold-floor") / length("floor-line") == pytest.approx(7, 0.01)
    assert length("target-cold-sam") / length("bar-cold-sam") == pytest.approx(0.40, 0.01)


def test_a_results_file_that_is_not_benchs_gets_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "results.json"
    broken.write_text(json.dumps({"variants": []}), encoding="utf-8")
    result = run_chart(str(broken), str(tmp_path / "out.svg"))
    assert result.returncode == 1
    assert "not bench.py's results" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.svg").exists()


@pytest.mark.browser
def test_the_chart_opens_in_chromium(chart: Path, tmp_path: Path) -> None:
    chromium = require_chromium()
    root = ET.parse(chart).getroot()  # noqa: S314 - our own file
    width, height = (round(float(root.get(side, "0").removesuffix("pt")) * 4 / 3) for side in ("width", "height"))
    screenshot = ARTIFACTS / "bench-chart.png"
    screenshot.unlink(missing_ok=True)
    subprocess.run(
        [chromium, "--headless", *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         f"--window-size={width},{height}", f"--screenshot={screenshot}", chart.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20]), int.from_bytes(png[20:24])) == (width, height)
    assert len(png) > 50_000, "a chart of five panels, not a blank page"
