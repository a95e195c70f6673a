"""`make mutation`'s reading of mutmut's results (scripts/mutation.py): names, marks, the list of
equivalent mutants, and the gate."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from scripts.mutation import (
    Equivalent,
    Module,
    function_of,
    load_equivalents,
    marked_equivalent,
    report,
)


@pytest.mark.parametrize(
    ("mutant", "function"),
    [
        ("handler.x__as_get__mutmut_15", "handler._as_get"),
        ("petsage_api.health.checks.x_check__mutmut_2", "petsage_api.health.checks.check"),
        ("petsage_api.health.checks.xǁClientsǁget__mutmut_20", "petsage_api.health.checks.Clients.get"),
        (
            "petsage_api.health.readiness.xǁReadinessProbeǁ__init____mutmut_4",
            "petsage_api.health.readiness.ReadinessProbe.__init__",
        ),
    ],
)
def test_a_mutant_is_named_after_its_function(mutant: str, function: str) -> None:
    assert function_of(mutant) == function


def test_marks_are_read_with_their_reasons(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "x = 1  # pragma: no mutate - a reason\n"
        "def f() -> None:  # pragma: no mutate block - another\n"
        "    pass\n"
        "# pragma: no mutate start - a region\n"
        "y = 2\n"
        "# pragma: no mutate end\n"
        "z = 3  # an ordinary comment\n",
        encoding="utf-8",
    )
    assert marked_equivalent(source) == [(1, "a reason"), (2, "another"), (4, "a region")]


def resolve(dotted: str) -> object:
    """`pkg.module.Class.method` -> that object: the longest importable prefix, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def test_every_listed_equivalent_names_a_function_of_the_health_function_and_why() -> None:
    entries = load_equivalents()
    assert entries
    for entry in entries:
        assert callable(resolve(entry.function)), entry
        assert entry.mutant, entry
        assert entry.reason, entry


def test_the_gate_fails_a_module_under_90_percent_of_its_non_equivalent_mutants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    passing = Module("a.py", {f"a.x_f__mutmut_{n}": "killed" for n in range(9)} | {"a.x_f__mutmut_9": "survived"})
    assert report([passing], []) is True
    failing = Module("b.py", {"b.x_f__mutmut_1": "killed", "b.x_f__mutmut_2": "survived"})
    failing.equivalent = {}
    assert report([passing, failing], []) is False
    excused = Module("b.py", {"b.x_f__mutmut_1": "killed", "b.x_f__mutmut_2": "survived"})
    excused.equivalent = {"b.x_f__mutmut_2": "no test can tell"}
    assert report([passing, excused], [Equivalent("b.f", "y = 1", "stale")]) is True
    printed = capsys.readouterr().out
    assert "b.py" in printed
    assert "b.f: y = 1" in printed  # a stale entry is shown


def test_a_run_stopped_early_does_not_pass(capsys: pytest.CaptureFixture[str]) -> None:
    stopped = Module("a.py", {"a.x_f__mutmut_1": "killed", "a.x_f__mutmut_2": "not checked"})
    assert report([stopped], []) is False
    assert "incomplete, 1 mutants were not tested" in capsys.readouterr().out
