"""Progress of long `make` targets (bench, fuzz, soak), for the person waiting on them.

On a terminal, one live line is rewritten in place (what runs, i/N, elapsed, estimate left);
anywhere else (a CI log, a file) plain lines keep the log readable: one when a phase starts
and, when asked, one per tenth of its work. Progress is never a result: callers send it to
stderr, or past pytest's capture, never into a table or a JSON file.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import Protocol


class Output(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> None: ...


def duration(seconds: float) -> str:
    """42 s, 3 min 05 s, 1 h 02 min: what a person reads at a glance."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """One job's progress through phases, each a count of steps.

    `live` defaults to whether `out` is a terminal. Without it, a phase gets one line when it
    starts, plus one per tenth of its steps when `tenths` is set (for jobs of minutes per phase).
    """

    REFRESH_S = 0.1

    def __init__(
        self,
        job: str,
        out: Output | None = None,
        *,
        live: bool | None = None,
        tenths: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job = job
        self.out: Output = out if out is not None else sys.stderr
        isatty = getattr(self.out, "isatty", None)
        self.live = live if live is not None else bool(isatty and isatty())
        self.tenths = tenths
        self.clock = clock
        self.started = clock()
        self.phase_name = ""
        self.phase_started = self.started
        self.total = 0
        self.done = 0
        self.detail = ""
        self._tenths_shown = 0
        self._steps_started = 0
        self._drawn_at = -1.0
        self._live_width = 0

    def phase(self, name: str, total: int, what: str = "") -> None:
        """A new phase of `total` steps; `what` says what a step is (shown once, in the plain line)."""
        self.phase_name, self.total, self.done, self.detail = name, max(0, total), 0, ""
        self.phase_started = self.clock()
        self._tenths_shown = 0
        self._steps_started = 0
        if self.live:
            self._draw(force=True)
        else:
            self._line(f"{self.job}: {name}" + (f": {what}" if what else ""))

    def step(self, detail: str) -> None:
        """The next step starts (the ones before it are done); `detail` names it, e.g. a variant and round."""
        self.update(self._steps_started, detail)
        self._steps_started += 1

    def advance(self, steps: int = 1) -> None:
        self.update(self.done + steps)

    def update(self, done: int, detail: str = "") -> None:
        """`done` steps of the phase are finished; `detail` names the one running now."""
        self.done, self.detail = done, detail or self.detail
        if self.live:
            self._draw(force=done >= self.total)
        elif self.tenths and self.total:
            tenth = min(10, done * 10 // self.total)
            if tenth > self._tenths_shown:
                self._tenths_shown = tenth
                self._line(f"{self.job}: {self.phase_name}: {self._counts()}")

    def finish(self, summary: str = "") -> None:
        """Ends the live line; `summary` (default: the time taken) closes the job."""
        if self.live:
            self._clear()
        self._line(f"{self.job}: {summary or 'done'} in {duration(self.clock() - self.started)}")

    def _counts(self) -> str:
        elapsed = self.clock() - self.phase_started
        shown = min(self.done, self.total)
        text = f"{shown:,} of {self.total:,} done ({shown * 100 // max(1, self.total)}%), {duration(elapsed)} elapsed"
        if 0 < shown < self.total:
            text += f", ~{duration(elapsed / shown * (self.total - shown))} left"
        return text

    def _draw(self, *, force: bool) -> None:
        now = self.clock()
        if not force and now - self._drawn_at < self.REFRESH_S:
            return
        self._drawn_at = now
        parts = [f"{self.job}: {self.phase_name}", *([self.detail] if self.detail else []), self._counts()]
        width = shutil.get_terminal_size((100, 24)).columns - 1
        text = " | ".join(parts)[:width]
        self.out.write("\r" + text.ljust(self._live_width))
        self._live_width = len(text)
        self.out.flush()

    def _clear(self) -> None:
        if self._live_width:
            self.out.write("\r" + " " * self._live_width + "\r")
            self._live_width = 0

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
