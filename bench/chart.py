"""`make bench`'s results as one SVG: cold start, warm latency, memory and size, each beside its target.

Usage: python -m bench.chart RESULTS.json OUT.svg   (bench.py calls render() after every run;
this redraws a committed chart from its results when only the drawing changes)

An SVG rather than a PNG: text stays text (readable, searchable, diffable, sharp at any zoom) and
a run changes a few numbers in a text file instead of a binary. Compact too: no glyph outlines
(the viewer's sans-serif draws the text), no metadata, path data on one line, two decimals.
Bars, panels and target lines carry stable SVG ids (`bar-<panel>-<variant>`, `panel-<panel>`,
`target-<id>`, `floor-line`) so a test can find them. Output is deterministic for the same
results (fixed hash salt, no date), so a committed chart changes only with its numbers.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("svg")  # before pyplot loads: no GUI backend is looked for
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.typing import RcKeyType

# Okabe-Ito colours (readable with colour blindness); the function's own build stands out.
COLOURS = {"floor": "#999999", "default": "#E69F00", "real": "#0072B2", "peer": "#CC79A7", "other": "#009E73"}
TARGET_COLOUR = "#D55E00"
TIMES = "\N{MULTIPLICATION SIGN}"
LINE_STYLES: dict[str, dict[str, Any]] = {
    "floor": {"color": "black", "linestyle": ":"},
    "target": {"color": TARGET_COLOUR, "linestyle": "--"},
    "target-alt": {"color": TARGET_COLOUR, "linestyle": "-."},
}
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths
    "svg.hashsalt": "petsage-bench",  # the clip paths' ids, stable from run to run
    "font.size": 9.5,
    # Laid out with matplotlib's own DejaVu Sans; where a viewer lacks it, narrower fonts, so no label overflows.
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
}
NO_METADATA = dict.fromkeys(("Creator", "Date", "Format", "Type"))
_ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
_DECIMAL = re.compile(r"-?\d+\.\d{3,}")
_NO_ROTATION = re.compile(r' transform="rotate\(-0 [^"]*\)"')


class ResultsError(ValueError):
    """The results file is not what bench.py writes."""


def _colour(results: dict[str, Any], key: str) -> str:
    role = next((role for role, variant in results["roles"].items() if variant == key), "other")
    return COLOURS.get(role, COLOURS["other"])


def _target(results: dict[str, Any], target_id: str) -> dict[str, Any]:
    for row in results["targets"]:
        if row["id"] == target_id:
            return dict(row)
    raise ResultsError(f"no target {target_id!r} in the results")


def _verdict(row: dict[str, Any]) -> str:
    return "PASS" if row["pass"] else "MISS"


def _bars(
    ax: Axes,
    panel: str,
    rows: list[tuple[str, str, float, str]],
    unit: str,
    fmt: str,
    notes: dict[str, str] | None = None,
) -> None:
    """Horizontal bars, first row on top, each with its value at its end: (key, label, value, colour)."""
    positions = range(len(rows))
    bars = ax.barh(list(positions), [value for _, _, value, _ in rows], color=[colour for *_, colour in rows])
    for bar, (key, _, value, _) in zip(bars, rows, strict=True):
        bar.set_gid(f"bar-{panel}-{key}")
        note = (notes or {}).get(key, "")
        ax.annotate(
            f"{value:{fmt}} {unit}{note}",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=8.5,
            bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    ax.set_yticks(list(positions), [label for _, label, _, _ in rows], fontsize=9)
    ax.invert_yaxis()
    # Every bar says its value and every line is named in the title: no x axis to read off.
    ax.tick_params(axis="y", left=False)
    ax.xaxis.set_visible(False)
    ax.spines[["top", "right", "bottom"]].set_visible(False)
    ax.set_gid(f"panel-{panel}")


def _line(ax: Axes, x: float, gid: str, style: str = "target") -> None:
    line = ax.axvline(x, linewidth=1.6, **LINE_STYLES[style])
    line.set_gid(gid)


def _title(ax: Axes, title: str, *targets: str) -> None:
    ax.set_title("\n".join([title, *targets]), loc="left", fontsize=10, linespacing=1.5)


def _fit(ax: Axes, *values: float) -> None:
    """Room right of the longest bar or line for its value label."""
    ax.set_xlim(0, max(values) * 1.35)


def render(results: dict[str, Any], out: Path) -> None:
    """Draws the five panels into `out` (SVG)."""
    try:
        with plt.rc_context(STYLE):
            svg = _render(results)
    except (KeyError, TypeError, IndexError, ZeroDivisionError) as error:
        raise ResultsError(f"not bench.py's results ({error!r})") from error
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_compact(svg), encoding="utf-8")


def _compact(svg: str) -> str:
    """Each attribute on one line with numbers to 0.01 pt (matplotlib writes a line per path vertex
    and six decimals), and no zero rotations on the text."""

    def attribute(match: re.Match[str]) -> str:
        value = _DECIMAL.sub(lambda number: f"{float(number[0]):.2f}".rstrip("0").rstrip("."), match[2])
        return f'{match[1]}="{" ".join(value.split())}"'

    return _ATTRIBUTE.sub(attribute, _NO_ROTATION.sub("", svg))


def _render(results: dict[str, Any]) -> str:
    variants = results["variants"]
    roles = results["roles"]
    by_key = {variant["key"]: variant for variant in variants}
    floor, default, real = by_key[roles["floor"]], by_key[roles["default"]], by_key[roles["real"]]
    colour = {variant["key"]: _colour(results, variant["key"]) for variant in variants}

    figure = plt.figure(figsize=(10, 10.5), layout="constrained")
    grid = figure.add_gridspec(3, 2, height_ratios=(1.15, 1, 1))
    cold_ax = figure.add_subplot(grid[0, :])
    warm_ax, docs_ax = figure.add_subplot(grid[1, 0]), figure.add_subplot(grid[1, 1])
    rss_ax, zip_ax = figure.add_subplot(grid[2, 0]), figure.add_subplot(grid[2, 1])

    passed = sum(row["pass"] for row in results["targets"])
    title = f"PetSage API: make bench, {results['date']} ({results['machine']}, CPython {results['python']})"
    figure.suptitle(
        f"{title}\ntargets met: {passed} of {len(results['targets'])}; medians of {results['runs']} alternating "
        "cold starts per variant; lower is better everywhere",
        fontsize=12.5,
    )

    # Cold start, with the floor and the two cold-start targets of the real build.
    to_floor, to_sam = _target(results, "cold-floor"), _target(results, "cold-sam")
    rows = [(v["key"], v["label"], v["cold_ms"], colour[v["key"]]) for v in variants]
    notes = {v["key"]: f"  ({v['cold_ms'] / floor['cold_ms']:.1f}{TIMES} floor)" for v in variants if v is not floor}
    _bars(cold_ax, "cold", rows, "ms", ".0f", notes)
    limit_floor, limit_sam = to_floor["limit"] * floor["cold_ms"], to_sam["limit"] * default["cold_ms"]
    _line(cold_ax, floor["cold_ms"], "floor-line", "floor")
    _line(cold_ax, limit_floor, "target-cold-floor")
    _line(cold_ax, limit_sam, "target-cold-sam", "target-alt")
    _title(
        cold_ax,
        "Cold start: process start to first answer, ms",
        f"real build {to_floor['value']:.1f}{TIMES} floor, target ≤ {to_floor['limit']:g}{TIMES} = "
        f"{limit_floor:.0f} ms: {_verdict(to_floor)}",
        f"real build {to_sam['value']:.2f}{TIMES} default SAM build, target ≤ {to_sam['limit']:.2f}{TIMES} = "
        f"{limit_sam:.0f} ms: {_verdict(to_sam)}",
    )
    _fit(cold_ax, *(v["cold_ms"] for v in variants), limit_floor, limit_sam)

    # Warm liveness per variant (a variant left out of the warm rounds has no bar).
    warm_target = _target(results, "warm-liveness")
    rows = [(v["key"], v["label"], v["warm_us"], colour[v["key"]]) for v in variants if v["warm_us"] is not None]
    _bars(warm_ax, "warm", rows, "µs", ".0f")
    _line(warm_ax, warm_target["limit"], "target-warm-liveness")
    _title(
        warm_ax,
        "Warm GET /api/v1/health, µs per invocation",
        f"real build {real['warm_us']:.0f} µs, target ≤ {warm_target['limit']:g} µs: {_verdict(warm_target)}",
    )
    _fit(warm_ax, *(row[2] for row in rows), warm_target["limit"])

    # Warm docs of the real build, gzip-encoded.
    docs_targets = [_target(results, f"warm-{case['key']}") for case in results["warm_docs"]]
    rows = [(case["key"], case["label"], case["ms"], colour[roles["real"]]) for case in results["warm_docs"]]
    verdicts = {case["key"]: f"  {_verdict(row)}" for case, row in zip(results["warm_docs"], docs_targets, strict=True)}
    _bars(docs_ax, "docs", rows, "ms", ".2f", verdicts)
    _line(docs_ax, docs_targets[0]["limit"], "target-warm-docs")
    passed_docs = sum(row["pass"] for row in docs_targets)
    _title(
        docs_ax,
        "Warm docs, real build, ms per invocation",
        f"target ≤ {docs_targets[0]['limit']:g} ms each: {passed_docs} of {len(docs_targets)} PASS",
    )
    _fit(docs_ax, *(row[2] for row in rows), docs_targets[0]["limit"])

    # Peak RSS per variant.
    rss_target = _target(results, "rss")
    rows = [(v["key"], v["label"], v["rss_mib"], colour[v["key"]]) for v in variants]
    _bars(rss_ax, "rss", rows, "MiB", ".1f")
    _line(rss_ax, rss_target["limit"], "target-rss")
    _title(
        rss_ax,
        "Peak memory (RSS) of a cold start, MiB",
        f"real build {real['rss_mib']:.1f} MiB, target ≤ {rss_target['limit']:g} MiB: {_verdict(rss_target)}",
    )
    _fit(rss_ax, *(row[2] for row in rows), rss_target["limit"])

    # Zipped size per variant, and the arm64 artifact that ships (hatched).
    zip_target = _target(results, "zip")
    shipped = results["shipped"]
    rows = [(v["key"], v["label"], v["zipped_mib"], colour[v["key"]]) for v in variants]
    rows.append(("shipped", shipped["label"], shipped["zipped_mib"], colour[roles["real"]]))
    _bars(zip_ax, "zip", rows, "MiB", ".2f")
    zip_ax.patches[-1].set_hatch("///")
    zip_ax.patches[-1].set_edgecolor("white")
    _line(zip_ax, zip_target["limit"], "target-zip")
    _title(
        zip_ax,
        "Zipped artifact (deflate), MiB",
        f"arm64 {shipped['zipped_mib']:.2f} MiB, target ≤ {zip_target['limit']:g} MiB: {_verdict(zip_target)}",
    )
    _fit(zip_ax, *(row[2] for row in rows), zip_target["limit"])

    key = [
        Line2D([], [], linewidth=1.6, label="floor: the bare handler's cold start", **LINE_STYLES["floor"]),
        Line2D([], [], linewidth=1.6, label="target (PASS when the real build's bar ends left of it)",
               **LINE_STYLES["target"]),
        Line2D([], [], linewidth=1.6, label="target relative to the default SAM build", **LINE_STYLES["target-alt"]),
        Patch(facecolor=COLOURS["real"], edgecolor="white", hatch="///",
              label="arm64: the artifact that ships (the rest: this host)"),
    ]  # fmt: skip
    figure.legend(handles=key, loc="outside lower center", ncols=2, frameon=False, fontsize=9)

    svg = io.StringIO()
    figure.savefig(svg, format="svg", metadata=NO_METADATA)
    plt.close(figure)
    return svg.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.chart RESULTS.json OUT.svg", file=sys.stderr)
        return 2
    source, out = Path(argv[0]), Path(argv[1])
    try:
        results = json.loads(source.read_text(encoding="utf-8"))
        render(results, out)
    except (OSError, ValueError) as error:  # ResultsError and JSONDecodeError are ValueErrors
        print(f"chart.py: {source}: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
