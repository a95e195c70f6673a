"""Progress lines of long make targets (scripts/progress.py): live on a terminal, plain otherwise."""

from __future__ import annotations

import io

import pytest

from scripts.progress import Progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_durations_read_at_a_glance() -> None:
    assert [duration(s) for s in (0.4, 42, 185, 3720)] == ["0 s", "42 s", "3 min 05 s", "1 h 02 min"]


def test_a_log_gets_one_line_per_phase_and_the_total_time() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("bench", out, clock=clock)
    progress.phase("cold rounds", 60, "15 rounds x 4 variants")
    for index in range(60):
        progress.step(f"variant {index}")
        clock.now += 1
    progress.phase("sizes", 5)
    progress.finish("results in bench-results")
    assert out.getvalue().splitlines() == [
        "bench: cold rounds: 15 rounds x 4 variants",
        "bench: sizes",
        "bench: results in bench-results in 1 min 00 s",
    ]


def test_long_work_gets_a_line_per_tenth_with_the_time_left() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("soak", out, tenths=True, clock=clock)
    progress.phase("requests", 1000)
    for _ in range(1000):
        clock.now += 0.01
        progress.advance()
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[1] == "soak: requests: 100 of 1,000 done (10%), 1 s elapsed, ~9 s left"
    assert lines[-1] == "soak: requests: 1,000 of 1,000 done (100%), 10 s elapsed"


def test_a_terminal_gets_one_line_rewritten_in_place_and_cleared_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # the line is cut to the terminal's width, whatever runs the tests
    out, clock = Terminal(), Clock()
    progress = Progress("bench", out, clock=clock)
    progress.phase("cold rounds", 4)
    for name in ("bare", "sam", "build", "fastapi"):
        clock.now += 1
        progress.step(f"{name}, round 1/1")
    progress.finish()
    text = out.getvalue()
    assert text.count("\n") == 1, "only the closing line ends with a newline"
    assert "\rbench: cold rounds | build, round 1/1 | 2 of 4 done (50%), 3 s elapsed, ~3 s left" in text
    assert text.endswith("\rbench: done in 4 s\n")
