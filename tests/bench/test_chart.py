"""`make bench`'s chart: drawn from a results file, one bar per variant in each panel, every target line.

The chart is an SVG people read in the README: its text is text, and the same results draw the
same file. It is drawn here from a sample results file, then opened in headless Chromium, as a
person would open it, and the screenshot kept in test-artifacts/.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench.chart import main, render
from tests.chromium import FLAGS, require_chromium
from tests.conftest import REPO_ROOT

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


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return results


@pytest.fixture(scope="module")
def chart(sample: dict[str, Any]) -> Path:
    out = ARTIFACTS / "bench-chart.svg"
    render(sample, out)
    return out


@pytest.fixture(scope="module")
def root(chart: Path) -> ET.Element:
    return ET.parse(chart).getroot()  # noqa: S314 - our own file, just written by matplotlib


@pytest.fixture(scope="module")
def panels(root: ET.Element) -> dict[str, ET.Element]:
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
    """A variant left out of the warm rounds (the hook) has no warm bar, and only there."""
    assert set(panels) == set(PANELS)
    keys = [variant["key"] for variant in sample["variants"]]
    expected = {
        "cold": keys,
        "warm": [variant["key"] for variant in sample["variants"] if variant["warm_us"] is not None],
        "rss": keys,
        "zip": [*keys, "shipped"],
        "docs": [case["key"] for case in sample["warm_docs"]],
    }
    assert len(expected["warm"]) < len(keys), "the sample has a variant without warm rounds"
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


def test_text_is_text_with_no_glyph_outlines_or_metadata(root: ET.Element, sample: dict[str, Any]) -> None:
    texts = {"".join(element.itertext()) for element in root.iter(f"{SVG}text")}
    assert {variant["label"] for variant in sample["variants"]} <= texts
    assert any(text.startswith(f"PetSage API: make bench, {sample['date']}") for text in texts)
    assert not [found for found in ids_in(root, "") if found.startswith("DejaVu")], "glyphs drawn as paths"
    assert root.find(f"{SVG}metadata") is None


def test_the_same_results_draw_the_same_file(chart: Path, sample: dict[str, Any], tmp_path: Path) -> None:
    """No date, random id or creator in the file: a committed chart changes only with its numbers."""
    again = tmp_path / "again.svg"
    render(sample, again)
    assert again.read_bytes() == chart.read_bytes()


def test_a_results_file_that_is_not_benchs_gets_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "results.json"
    broken.write_text(json.dumps({"variants": []}), encoding="utf-8")
    assert main([str(broken), str(tmp_path / "out.svg")]) == 1
    assert "not bench.py's results" in capsys.readouterr().err
    assert not (tmp_path / "out.svg").exists()


@pytest.mark.browser
def test_the_chart_opens_in_chromium(chart: Path, root: ET.Element, tmp_path: Path) -> None:
    chromium = require_chromium()
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
