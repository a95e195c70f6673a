"""Progress lines from inside long test runs (`make fuzz`, `make soak`), past pytest's output capture.

pytest captures what a test writes; these lines go to its terminal between test results, the
way its own live logging does (capture suspended for the write). They are plain lines, one per
tenth of a test's work (scripts/progress.py), so a terminal and a CI log read the same. The
small counts of `make test` ask for none.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pytest

from scripts.progress import Progress

_config: pytest.Config | None = None


def attach(config: pytest.Config) -> None:
    """Called once from tests/conftest.py's pytest_configure."""
    global _config  # one terminal per pytest run
    _config = config


class _Terminal:
    """A text stream onto pytest's terminal reporter, which writes whole lines after any test result."""

    def __init__(self, config: pytest.Config) -> None:
        self.capture = config.pluginmanager.getplugin("capturemanager")
        self.reporter: pytest.TerminalReporter | None = config.pluginmanager.getplugin("terminalreporter")

    def write(self, text: str) -> int:
        if self.reporter is None:
            return 0
        suspended = self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext()
        with suspended:
            for line in text.splitlines():
                self.reporter.write_line(line)
        return len(text)

    def flush(self) -> None:
        """write_line flushes."""


def progress(job: str) -> Progress | None:
    """A Progress for one test, on pytest's terminal; None outside a pytest run."""
    if _config is None:
        return None
    return Progress(job, _Terminal(_config), live=False, tenths=True)


def count_examples(test: Any, job: str, total: int) -> None:
    """Count the examples Hypothesis runs through `test` (a @given test) on a progress line.

    Wraps `test.hypothesis.inner_test`, which Hypothesis lets plugins replace; the wrapper keeps
    the test's name, signature and source (functools.wraps), so its example database key stays.
    """
    inner = test.hypothesis.inner_test
    line: list[Progress] = []

    @functools.wraps(inner)
    def counted(*args: Any, **kwargs: Any) -> Any:
        if not line and (started := progress(job)) is not None:
            started.phase(inner.__name__, total, f"{total:,} examples")
            line.append(started)
        if line:
            line[0].advance()
        return inner(*args, **kwargs)

    test.hypothesis.inner_test = counted
