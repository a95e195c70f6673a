"""`make mutation`: mutmut over functions/api with the fast tests, then the figures per module.

mutmut names a mutant's module after its file's path (less a leading `src/`) and runs pytest in
a copy of the project, `mutants/`. The tests import the function as `handler` and `petsage_api.*`
(pytest's pythonpath), so mutmut runs in `.mutation/` (git-ignored), a layout of links in which
`src/` is functions/api; in its copy, `functions/api` links to the mutated `src/`, so the
tests and their subprocesses import the mutants. Each run starts afresh: a result kept from a
run against other tests would be a stale verdict.

What mutmut cannot test is shown apart, never marked away in the function's code:
- it mutates no decorated function (bar one decorated by @staticmethod or @classmethod alone) and
  no module-level code; the report lists the decorated functions of each module;
- it tests each mutant in a worker forked once the tests' modules are imported, so a function
  that runs only while they are imported (a route's documented responses, a name rule compiled
  into a constant) never runs with its mutant. mutmut's stats run would credit such a function
  to the first test; this module, a pytest plugin in mutmut's runs ([tool.mutmut]
  pytest_add_cli_args), writes down and forgets what collection reached, so mutmut finds no test
  for those functions, and the table counts their mutants as "import", out of the kill %.

Progress goes to stderr (scripts/progress.py), mutmut's own output to `.mutation/mutmut.log`.
The table goes to stdout; the exit status is 1 when any module kills under `THRESHOLD` percent.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess  # runs mutmut from our own environment, fixed argv, no shell  # nosec B404
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.progress import Progress

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / ".mutation"
FUNCTION = Path("functions/api")
# Surviving mutants no test can kill, each with its reason; the table leaves them out of the score.
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"
# The functions mutmut's stats run reached while the tests were being collected (imported).
REACHED_AT_IMPORT = WORKSPACE / "reached-at-import.json"
CLASS_SEPARATOR = "ǁ"  # mutmut's, in a method's mangled name
THRESHOLD = 90.0  # percent of a module's mutants the tests must kill
# The fuzz tests run a twentieth of their examples (tests/adversarial/conftest.py): each
# mutant on the handler's path runs them again.
HYPOTHESIS_PROFILE = "mutation"
# Never linked into the copy: version control, environments, caches, build output, this workspace.
UNLINKED = frozenset(
    {".git", ".venv", ".mutation", ".aws-sam", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
    | {"bench-results", "test-artifacts", "mutants"}
)
# mutmut's steps, as its output names them, in order; the last one is counted in mutants.
STEPS = {
    "Generating mutants": "making the mutants",
    "Running stats": "running the fast tests once, to learn which tests reach which function",
    "Running clean tests": "running them without a mutant: they must pass",
    "Running forced fail test": "running them with a forced failure: they must fail",
}
TESTING = "Running mutation testing"
KILLED = frozenset({"killed", "timeout", "caught by type check"})
NO_TESTS = "no tests"
PRAGMA = re.compile(r"#\s*pragma:\s*no mutate")  # mutmut's: the function's code carries none
TRAMPOLINED = frozenset({"staticmethod", "classmethod"})  # the only decorators mutmut mutates under


def pytest_collection_finish(session: pytest.Session) -> None:
    """Plugin hook, in mutmut's stats run only: what collection reached is written down, then
    forgotten, so that mutmut credits no test with a function that runs only at import."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    from mutmut.state import state  # mutmut's record of the functions reached since the last test

    reached = state()._stats  # mutmut 3.8.1 keeps it there, and has no hook for it
    REACHED_AT_IMPORT.write_text(json.dumps(sorted(reached)), encoding="utf-8")
    reached.clear()


def prepare(workspace: Path) -> None:
    """A fresh workspace, and links in mutmut's copy to what the tests read but mutmut does not copy.

    mutmut copies tests/, pyproject.toml and [tool.mutmut] also_copy (what finds its way by its own
    path, like local_api's REPO_ROOT) into mutants/; everything else the tests read is linked there.
    """
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir()
    copied = {
        "tests",
        "pyproject.toml",
        *tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["also_copy"],
    }
    (workspace / "src").symlink_to(ROOT / FUNCTION, target_is_directory=True)
    for name in sorted(copied):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).symlink_to(ROOT / name)
    copy = workspace / "mutants"
    (copy / FUNCTION).parent.mkdir(parents=True)
    (copy / FUNCTION).symlink_to(Path("../src"), target_is_directory=True)  # tests import the mutants there
    linked = [path for path in ROOT.iterdir() if path.name not in UNLINKED | copied and path.name != "functions"]
    linked += [path for path in (ROOT / "functions").iterdir() if path.relative_to(ROOT).as_posix() not in copied]
    for path in linked:
        if path.relative_to(ROOT) != FUNCTION:
            (copy / path.relative_to(ROOT)).symlink_to(path, target_is_directory=path.is_dir())
    # Tests that start Python in functions/api import the mutants there, and mutmut's
    # trampoline reads its configuration from the working directory.
    (copy / "src").mkdir()
    (copy / "src" / "setup.cfg").write_text("[mutmut]\nsource_paths = .\n", encoding="utf-8")


def mutmut_command(jobs: int) -> list[str]:
    return [str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(jobs)]


def results(workspace: Path) -> dict[str, dict[str, int | None]]:
    """Exit code per mutant, by module file (relative to functions/api), from mutmut's .meta files."""
    found: dict[str, dict[str, int | None]] = {}
    for meta in sorted((workspace / "mutants" / "src").rglob("*.py.meta")):
        try:
            exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        except (OSError, ValueError, KeyError):
            continue  # being written; the next poll reads it
        found[meta.relative_to(workspace / "mutants" / "src").as_posix().removesuffix(".meta")] = exit_codes
    return found


def tested(found: dict[str, dict[str, int | None]]) -> int:
    return sum(code is not None for codes in found.values() for code in codes.values())


def run(workspace: Path, jobs: int, progress: Progress) -> int:
    """mutmut run, its output in mutmut.log; progress from that log, then from its results."""
    environment = {
        **os.environ,
        "PETSAGE_HYPOTHESIS_PROFILE": HYPOTHESIS_PROFILE,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    log_path = workspace / "mutmut.log"
    with log_path.open("w", encoding="utf-8") as log, log_path.open(encoding="utf-8", errors="replace") as tail:
        process = subprocess.Popen(  # our environment's mutmut, fixed argv, no shell  # nosec B603
            mutmut_command(jobs), cwd=workspace, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
        announced: set[str] = set()
        testing = False
        try:
            while process.poll() is None:
                time.sleep(1)
                if not testing:
                    new = tail.read()  # the log from where it was last read
                    for marker, what in STEPS.items():
                        if marker in new and marker not in announced:
                            announced.add(marker)
                            progress.phase(what, 0)
                    if TESTING in new:
                        testing = True
                        total = sum(len(codes) for codes in results(workspace).values())
                        progress.phase("testing mutants", total, f"{total:,} mutants, {jobs} at a time")
                if testing:
                    progress.update(tested(results(workspace)))
        except KeyboardInterrupt:
            return process.wait()  # mutmut got the same Ctrl-C: it stops its workers and exits
    return process.returncode


@dataclass(frozen=True)
class Equivalent:
    """A mutant no test can tell from the code, listed in EQUIVALENTS: its function, its line, why."""

    function: str  # e.g. "petsage_api.http_api.malformed"
    mutant: str  # the mutated line, as `mutmut show` prints it (without its indentation)
    reason: str


def load_equivalents() -> list[Equivalent]:
    entries = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8")).get("equivalent", [])
    return [
        Equivalent(entry["function"], mutant.strip(), entry["reason"])
        for entry in entries
        for mutant in entry["mutants"]
    ]


def function_of(mutant_name: str) -> str:
    """`pkg.mod.xǁClassǁmethod__mutmut_3` -> `pkg.mod.Class.method`; `pkg.mod.x_name__mutmut_3` -> `pkg.mod.name`."""
    module, _, mangled = mutant_name.partition("__mutmut_")[0].rpartition(".")
    name = mangled.removeprefix("x_") if mangled.startswith("x_") else ".".join(mangled.split(CLASS_SEPARATOR)[1:])
    return f"{module}.{name}"


def mutated_lines(workspace: Path, mutant_name: str) -> str:
    """The lines a mutant changed, as `mutmut show` prints them, without indentation."""
    shown = subprocess.run(  # our environment's mutmut, fixed argv, no shell  # nosec B603
        [str(Path(sys.executable).parent / "mutmut"), "show", mutant_name],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line[1:].strip() for line in shown.splitlines() if line.startswith("+") and line[1:2] != "+")


def pragmas(source: Path) -> list[int]:
    """The lines carrying mutmut's `# pragma: no mutate`, which the function's code must not."""
    return [
        number for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1) if PRAGMA.search(line)
    ]


def decorated(source: Path) -> list[str]:
    """The functions mutmut never mutates: the decorated ones, bar @staticmethod or @classmethod alone."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, prefix)
                continue
            name = f"{prefix}{child.name}"
            decorators = child.decorator_list
            trampolined = (
                len(decorators) == 1 and isinstance(decorators[0], ast.Name) and decorators[0].id in TRAMPOLINED
            )
            if isinstance(child, ast.ClassDef) or not decorators or trampolined:
                visit(child, f"{name}.")
            else:
                found.append(name)  # and whatever it holds

    visit(ast.parse(source.read_text(encoding="utf-8")), "")
    return found


@dataclass
class Module:
    path: str  # relative to functions/api
    status_by_mutant: dict[str, str] = field(default_factory=dict)
    equivalent: dict[str, str] = field(default_factory=dict)  # surviving mutant -> reason (EQUIVALENTS)
    at_import: set[str] = field(default_factory=set)  # mutants of functions that run only at import
    decorated: list[str] = field(default_factory=list)  # functions mutmut never mutates
    pragmas: list[int] = field(default_factory=list)  # lines carrying `# pragma: no mutate`

    def count(self, *statuses: str) -> int:
        return sum(status in statuses for status in self.status_by_mutant.values())

    @property
    def killed(self) -> int:
        return self.count(*KILLED)

    @property
    def score(self) -> float | None:
        """Percent of the mutants killed, of those a test can run and tell apart."""
        counted = len(self.status_by_mutant) - len(self.equivalent) - len(self.at_import)
        return 100.0 * self.killed / counted if counted else None


def modules(
    workspace: Path, equivalents: list[Equivalent], reached_at_import: set[str]
) -> tuple[list[Module], list[Equivalent]]:
    """Each module's mutants by status, the survivors EQUIVALENTS names, and its entries that named none."""
    from mutmut.stats import status_by_exit_code  # the tool's own reading of its exit codes
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    found = results(workspace)
    summary = []
    matched: set[Equivalent] = set()
    for source in sorted((ROOT / FUNCTION).rglob("*.py")):
        path = source.relative_to(ROOT / FUNCTION).as_posix()
        statuses = {name: status_by_exit_code[code] for name, code in found.get(path, {}).items()}
        module = Module(path, statuses, decorated=decorated(source), pragmas=pragmas(source))
        for name, status in statuses.items():
            if status == NO_TESTS and mangled_name_from_mutant_name(name) in reached_at_import:
                module.at_import.add(name)
            candidates = [entry for entry in equivalents if entry.function == function_of(name)]
            if status != "survived" or not candidates:
                continue
            changed = mutated_lines(workspace, name)
            for entry in candidates:
                if entry.mutant == changed:
                    module.equivalent[name] = entry.reason
                    matched.add(entry)
        summary.append(module)
    return summary, [entry for entry in equivalents if entry not in matched]


def report(summary: list[Module], stale: list[Equivalent]) -> bool:
    """Print the table, what mutmut cannot reach, the equivalent mutants' reasons and the survivors;
    True when every module passes."""
    row = "{:<32} {:>7} {:>6} {:>8} {:>5} {:>6} {:>6} {:>7}".format
    header = row("module", "mutants", "killed", "survived", "other", "equiv.", "import", "kill %")
    print(f"mutmut over {FUNCTION} with tests/unit and tests/adversarial", header, "-" * len(header), sep="\n")
    passed = True
    everything = Module(
        "all",
        {name: status for module in summary for name, status in module.status_by_mutant.items()},
        {name: reason for module in summary for name, reason in module.equivalent.items()},
        {name for module in summary for name in module.at_import},
    )
    for module in [*summary, everything]:
        if module is everything:
            print("-" * len(header))
        mutants = len(module.status_by_mutant)
        survived = module.count("survived") - len(module.equivalent)
        other = mutants - module.killed - survived - len(module.equivalent) - len(module.at_import)
        score = module.score
        shown = "-" if score is None else f"{score:.1f}"
        if score is not None and score < THRESHOLD and module is not everything:
            passed = False
            shown += " <"
        print(
            row(
                module.path,
                mutants,
                module.killed,
                survived,
                other,
                len(module.equivalent),
                len(module.at_import),
                shown,
            )
        )
    print()
    print("killed: a test failed, or timed out; other: no test reached it, or it crashed the run;")
    print(f"equiv.: survivors {EQUIVALENTS.relative_to(ROOT)} shows to be equivalent;")
    print("import: mutants of functions that run only while the tests are imported, never with their mutant;")
    print("kill %: of the mutants neither equivalent nor run only at import;")
    print("-: nothing mutmut can mutate there (module-level code, decorated functions).")
    print()
    print("Decorated, so never mutated:")
    for module in summary:
        if module.decorated:
            print(f"  {module.path}: {', '.join(module.decorated)}")
    if everything.at_import:
        print()
        print("Run only at import, so never with their mutants:")
        for function, count in sorted(Counter(map(function_of, everything.at_import)).items()):
            print(f"  {function}: {count} mutants")
    if everything.equivalent:
        print()
        print(f"Equivalent survivors ({EQUIVALENTS.relative_to(ROOT)}):")
        for name, reason in everything.equivalent.items():
            print(f"  {name}: {reason}")
    if stale:
        print()
        print(f"Entries of {EQUIVALENTS.relative_to(ROOT)} that match no survivor (killed, or the code changed):")
        for entry in stale:
            print(f"  {entry.function}: {entry.mutant}")
    left = [
        (name, status)
        for name, status in everything.status_by_mutant.items()
        if status not in KILLED and name not in everything.equivalent and name not in everything.at_import
    ]
    if left:
        print()
        print(f"Not killed ({len(left)}); to see one: cd {WORKSPACE.name} && ../.venv/bin/mutmut show NAME")
        for name, status in left:
            print(f"  {name}: {status}")
    marked = [f"{FUNCTION / module.path}:{line}" for module in summary for line in module.pragmas]
    if marked:
        passed = False
        print()
        print("`# pragma: no mutate` in the function's code: list an equivalent mutant in")
        print(f"{EQUIVALENTS.relative_to(ROOT)} instead, with its reason: {', '.join(marked)}")
    print()
    unchecked = everything.count("not checked")
    if unchecked:  # mutmut stopped early (Ctrl-C) and still exits 0
        print(f"mutation: incomplete, {unchecked:,} mutants were not tested")
        return False
    verdict = "every module kills" if passed else "a module kills less than"
    print(f"mutation: {verdict} {THRESHOLD:g} % of the mutants its tests can run and tell apart")
    return passed


def reached_at_import() -> set[str]:
    """What the last run's stats run reached while collecting the tests (pytest_collection_finish)."""
    exists = REACHED_AT_IMPORT.exists()
    return set(json.loads(REACHED_AT_IMPORT.read_text(encoding="utf-8"))) if exists else set()


def main() -> int:
    parser = argparse.ArgumentParser(description="mutmut over functions/api with the fast tests")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at a time")
    parser.add_argument("--report-only", action="store_true", help="print the figures of the last run again")
    args = parser.parse_args()
    if not args.report_only:
        progress = Progress("mutation", tenths=True)
        prepare(WORKSPACE)
        returncode = run(WORKSPACE, args.jobs, progress)
        if returncode != 0:
            progress.finish(f"mutmut failed (exit {returncode}); its log: {WORKSPACE / 'mutmut.log'}")
            return returncode
        progress.finish("mutants tested")
    return 0 if report(*modules(WORKSPACE, load_equivalents(), reached_at_import())) else 1


if __name__ == "__main__":
    sys.exit(main())
