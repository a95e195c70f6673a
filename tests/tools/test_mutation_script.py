"""`make mutation`'s reading of mutmut's results (scripts/mutation.py): names, what mutmut cannot
reach, the list of equivalent mutants, and the gate."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from mutmut.state import state

from scripts import mutation
from scripts.mutation import (
    Equivalent,
    Module,
    decorated,
    function_of,
    load_equivalents,
    pragmas,
    report,
)


@pytest.mark.parametrize(
    ("mutant", "function"),
    [
        ("petsage_api.http_api.x__as_get__mutmut_15", "petsage_api.http_api._as_get"),
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


def test_mutmut_is_said_to_skip_decorated_functions_but_those_under_staticmethod_or_classmethod(
    tmp_path: Path,
) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "@cache\n"
        "def cached() -> None: ...\n"
        "def factory() -> None:\n"
        "    @app.get('/')\n"
        "    def route() -> None: ...\n"
        "class Model:\n"
        "    @property\n"
        "    def derived(self) -> None: ...\n"
        "    @classmethod\n"
        "    def build(cls) -> None: ...\n"
        "    @staticmethod\n"
        "    def helper() -> None: ...\n"
        "    @staticmethod\n"
        "    @cache\n"
        "    def both() -> None: ...\n",
        encoding="utf-8",
    )
    assert decorated(source) == ["cached", "factory.route", "Model.derived", "Model.both"]


def test_mutmuts_pragma_in_the_functions_code_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "module.py"
    source.write_text("x = 1  # pragma: no mutate\ny = 2  # an ordinary comment\n", encoding="utf-8")
    assert pragmas(source) == [1]
    killed = {f"a.x_f__mutmut_{n}": "killed" for n in range(10)}
    assert report([Module("a.py", killed, pragmas=[1])], []) is False
    assert "functions/api/a.py:1" in capsys.readouterr().out


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


def test_the_gate_fails_a_module_under_90_percent_of_the_mutants_a_test_can_run_and_tell_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    passing = Module("a.py", {f"a.x_f__mutmut_{n}": "killed" for n in range(9)} | {"a.x_f__mutmut_9": "survived"})
    assert report([passing], []) is True
    failing = Module("b.py", {"b.x_f__mutmut_1": "killed", "b.x_f__mutmut_2": "survived"})
    assert report([passing, failing], []) is False
    excused = Module("b.py", {"b.x_f__mutmut_1": "killed", "b.x_f__mutmut_2": "survived"})
    excused.equivalent = {"b.x_f__mutmut_2": "no test can tell"}
    assert report([passing, excused], [Equivalent("b.f", "y = 1", "stale")]) is True
    printed = capsys.readouterr().out
    assert "b.py" in printed
    assert "b.f: y = 1" in printed  # a stale entry is shown
    at_import = Module(
        "c.py", {"c.x_f__mutmut_1": "killed", "c.x_g__mutmut_1": "no tests"}, at_import={"c.x_g__mutmut_1"}
    )
    assert report([at_import], []) is True
    assert "c.g: 1 mutants" in capsys.readouterr().out  # run only at import: shown, not counted
    untested = Module("c.py", {"c.x_f__mutmut_1": "killed", "c.x_g__mutmut_1": "no tests"})
    assert report([untested], []) is False


def test_a_run_stopped_early_does_not_pass(capsys: pytest.CaptureFixture[str]) -> None:
    stopped = Module("a.py", {"a.x_f__mutmut_1": "killed", "a.x_f__mutmut_2": "not checked"})
    assert report([stopped], []) is False
    assert "incomplete, 1 mutants were not tested" in capsys.readouterr().out


READINESS_RESPONSES = "petsage_api.health.router.x_readiness_responses"  # mutmut's name for the function


def collection_reached(
    run: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: pytest.Session
) -> tuple[set[str], Path]:
    """mutmut's record of what it reached, and the report's, once the plugin saw `run` collected."""
    monkeypatch.setattr(state(), "_stats", {READINESS_RESPONSES})
    monkeypatch.setattr(mutation, "REACHED_AT_IMPORT", tmp_path / "reached-at-import.json")
    monkeypatch.setenv("MUTANT_UNDER_TEST", run)
    mutation.pytest_collection_finish(session)
    return state()._stats, mutation.REACHED_AT_IMPORT


def test_the_stats_run_credits_no_test_with_what_collection_reached_and_writes_it_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    credited, written = collection_reached("stats", tmp_path, monkeypatch, request.session)
    assert (credited, json.loads(written.read_text(encoding="utf-8"))) == (set(), [READINESS_RESPONSES])


def test_a_mutants_run_leaves_mutmuts_record_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    run = "petsage_api.http_api.x_malformed__mutmut_1"
    credited, written = collection_reached(run, tmp_path, monkeypatch, request.session)
    assert (credited, written.exists()) == ({READINESS_RESPONSES}, False)
