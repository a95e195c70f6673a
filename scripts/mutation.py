"""`make mutation`: mutmut over functions/api with the fast tests, then the figures per module.

mutmut names a mutant's module after its file's path (less a leading `src/`) and runs pytest in
a copy of the project, `mutants/`. The tests import the function as `handler` and `petsage_api.*`
(pytest's pythonpath), so mutmut runs in `.mutation/` (git-ignored), a layout of links in which
`src/` is functions/api; in its copy, `functions/api` links to the mutated `src/`, so the
tests and their subprocesses import the mutants. Each run starts afresh: a result kept from a
run against other tests would be a stale verdict.

Progress goes to stderr (scripts/progress.py), mutmut's own output to `.mutation/mutmut.log`.
The table goes to stdout; the exit status is 1 when any module kills under `THRESHOLD` percent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess  # runs mutmut from our own environment, fixed argv, no shell  # nosec B404
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from scripts.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / ".mutation"
FUNCTION = Path("functions/api")
# Surviving mutants no test can kill, each with its reason; the table leaves them out of the score.
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"
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
# mutmut's pragma, on a line or opening a region ("block": the statement; "start" ... "end"), with
# the reason after a dash.
PRAGMA = re.compile(r"#\s*pragma:\s*no mutate(?:\s+(?P<scope>block|start|end))?\b\s*-?\s*(?P<reason>.*)$")


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

    function: str  # e.g. "petsage_api.invocation._describe"
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


@dataclass
class Module:
    path: str  # relative to functions/api
    status_by_mutant: dict[str, str] = field(default_factory=dict)
    marked: list[tuple[int, str]] = field(default_factory=list)  # (line, reason) of `# pragma: no mutate`
    equivalent: dict[str, str] = field(default_factory=dict)  # surviving mutant -> reason (EQUIVALENTS)

    def count(self, *statuses: str) -> int:
        return sum(status in statuses for status in self.status_by_mutant.values())

    @property
    def killed(self) -> int:
        return self.count(*KILLED)

    @property
    def score(self) -> float | None:
        """Percent of the non-equivalent mutants killed."""
        counted = len(self.status_by_mutant) - len(self.equivalent)
        return 100.0 * self.killed / counted if counted else None


def marked_equivalent(source: Path) -> list[tuple[int, str]]:
    """The lines and regions marked `# pragma: no mutate - <why the mutants there are equivalent>`."""
    lines = source.read_text(encoding="utf-8").splitlines()
    marked = ((number, PRAGMA.search(line)) for number, line in enumerate(lines, 1))
    return [(number, match["reason"]) for number, match in marked if match and match["scope"] != "end"]


def modules(workspace: Path, equivalents: list[Equivalent]) -> tuple[list[Module], list[Equivalent]]:
    """Each module's mutants by status, the survivors EQUIVALENTS names, and its entries that named none."""
    from mutmut.stats import status_by_exit_code  # the tool's own reading of its exit codes

    found = results(workspace)
    summary = []
    matched: set[Equivalent] = set()
    for source in sorted((ROOT / FUNCTION).rglob("*.py")):
        path = source.relative_to(ROOT / FUNCTION).as_posix()
        statuses = {name: status_by_exit_code[code] for name, code in found.get(path, {}).items()}
        module = Module(path, statuses, marked_equivalent(source))
        for name, status in statuses.items():
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
    """Print the table, the equivalent mutants' reasons and the survivors; True when every module passes."""
    row = "{:<32} {:>7} {:>6} {:>8} {:>5} {:>6} {:>6} {:>7}".format
    header = row("module", "mutants", "killed", "survived", "other", "equiv.", "marked", "kill %")
    print(f"mutmut over {FUNCTION} with tests/unit and tests/adversarial", header, "-" * len(header), sep="\n")
    passed = True
    everything = Module(
        "all",
        {name: status for module in summary for name, status in module.status_by_mutant.items()},
        [marked for module in summary for marked in module.marked],
        {name: reason for module in summary for name, reason in module.equivalent.items()},
    )
    for module in [*summary, everything]:
        if module is everything:
            print("-" * len(header))
        mutants = len(module.status_by_mutant)
        survived = module.count("survived") - len(module.equivalent)
        other = mutants - module.killed - survived - len(module.equivalent)
        score = module.score
        shown = "-" if score is None else f"{score:.1f}"
        if score is not None and score < THRESHOLD and module is not everything:
            passed = False
            shown += " <"
        print(
            row(module.path, mutants, module.killed, survived, other, len(module.equivalent), len(module.marked), shown)
        )
    print()
    print("killed: a test failed, or timed out; other: no test reached it, or it crashed the run;")
    print(f"equiv.: survivors {EQUIVALENTS.relative_to(ROOT)} shows to be equivalent; kill % leaves them out;")
    print("marked: lines and regions marked `# pragma: no mutate - reason`, never mutated;")
    print("-: nothing mutmut can mutate there (module-level code, decorated functions).")
    if everything.marked:
        print()
        print("Marked in the source (# pragma: no mutate):")
        for module in summary:
            for line, reason in module.marked:
                print(f"  {FUNCTION / module.path}:{line}: {reason}")
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
        if status not in KILLED and name not in everything.equivalent
    ]
    if left:
        print()
        print(f"Not killed ({len(left)}); to see one: cd {WORKSPACE.name} && ../.venv/bin/mutmut show NAME")
        for name, status in left:
            print(f"  {name}: {status}")
    print()
    unchecked = everything.count("not checked")
    if unchecked:  # mutmut stopped early (Ctrl-C) and still exits 0
        print(f"mutation: incomplete, {unchecked:,} mutants were not tested")
        return False
    verdict = "every module kills" if passed else "a module kills less than"
    print(f"mutation: {verdict} {THRESHOLD:g} % of its non-equivalent mutants")
    return passed


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
    return 0 if report(*modules(WORKSPACE, load_equivalents())) else 1


if __name__ == "__main__":
    sys.exit(main())
