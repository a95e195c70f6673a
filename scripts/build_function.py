"""Build a function's Lambda artifact: hash-checked pinned wheels, slimmed, with precompiled bytecode.

`sam build`'s Python builder ships no bytecode, and SAM's zips date every file 1980-01-01, so
timestamp-checked .pyc never validate on Lambda's read-only /var/task: every cold start compiled
every module it imported, about 60% of the health function's init (`make bench`). Here CPython 3.13
compiles the modules a function loads into unchecked-hash .pyc (valid whatever the file dates; the
build always rewrites them with their sources).

It needs only a CPython 3.13 with pip: SAM's makefile builder runs it (`make build-<LogicalId>`)
on the host or, with `sam build --use-container`, in SAM's python3.13 build image, where the
repository is mounted read-only, there is no virtual environment and HOME may be unwritable.
Wheels are installed with `--require-hashes` from the function's lock file (`make lock`), so a
changed or substituted wheel fails the build instead of shipping.

Usage: build_function.py [--function api|pre_traffic_hook] [--arch arm64|x86_64|host] OUT_DIR
(SAM passes $ARTIFACTS_DIR; the artifact tests, `make invoke` and `make bench` build for the host.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess  # build time only (pip, compileall, the import trace), never shipped  # nosec B404
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
WHEEL_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}

# Never loaded on Lambda: installer bookkeeping, type stubs, console scripts. METADATA and licences stay.
PRUNED_FILES = ("RECORD", "INSTALLER", "REQUESTED", "*.cyclonedx.json", "*.pyi", "py.typed")

# The health function never loads pydantic's mypy plugin or v1 API (only legacy `__get_validators__`
# types reach it), nor the Powertools utilities that none of its modules import. The build traces
# every committed event after pruning, so a pruned module the function needs fails the build.
UNUSED_UTILITIES = "auth_alpha batch circuit_breaker data_masking feature_flags idempotency metadata parameters parser"
UNUSED_UTILITIES += " streaming validation"

# The hook calls two AWS APIs: botocore's models of every other service (~90% of the unpacked
# artifact) are never read. The end-to-end test runs the built hook against both endpoints.
HOOK_SERVICES = ("lambda", "codedeploy")


@dataclass(frozen=True)
class Recipe:
    """What differs between the functions: where the source is, what to drop, what to precompile."""

    source: Path
    pruned_paths: tuple[str, ...]
    # Precompile every shipped module (the hook: its work needs AWS, so it cannot be traced here),
    # or only those the function loads while answering every committed event (the health function).
    precompile_all: bool
    # Ship the committed events inside the artifact (the hook replays them against the new version).
    ships_events: bool = False
    # Keep only these services' models in botocore/data (empty: botocore is not shipped).
    botocore_services: tuple[str, ...] = ()


RECIPES = {
    "api": Recipe(
        source=ROOT / "functions" / "api",
        pruned_paths=(
            "bin",
            "pydantic/mypy.py",
            "pydantic/v1",
            *(f"aws_lambda_powertools/utilities/{name}" for name in UNUSED_UTILITIES.split()),
        ),
        precompile_all=False,
    ),
    "pre_traffic_hook": Recipe(
        source=ROOT / "functions" / "pre_traffic_hook",
        pruned_paths=("bin",),
        precompile_all=True,
        ships_events=True,
        botocore_services=HOOK_SERVICES,
    ),
}

# Run in a fresh interpreter over a code directory: import the handler, answer every committed
# event, print the source files of the modules that came from that directory.
TRACE = """
import json, sys
from pathlib import Path
code, events = Path(sys.argv[1]).resolve(), sys.argv[2:]
sys.path.insert(0, str(code))
from handler import lambda_handler
class Context:
    function_name = "HealthFunction"; memory_limit_in_mb = 1024; aws_request_id = "build"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:HealthFunction"
    get_remaining_time_in_millis = staticmethod(lambda: 5000)
for event in events:
    lambda_handler(json.loads(Path(event).read_text(encoding="utf-8")), Context())
files = {Path(m.__file__) for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
print(json.dumps(sorted(str(f.relative_to(code)) for f in files if f.is_relative_to(code) and f.suffix == ".py")))
"""


def host_arch() -> str:
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}[platform.machine().lower()]


def pip_install(out: Path, arch: str, requirements: Path) -> None:
    """The locked wheels for Lambda's CPython 3.13 on `arch`, each checked against its pinned hash."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    # In SAM's build image HOME may be unwritable: pip would warn and disable its cache anyway.
    if not os.access(Path.home(), os.W_OK):
        pip.append("--no-cache-dir")
    subprocess.run(  # argv of sys.executable and our own paths, no shell  # nosec B603
        [
            *pip, "--root-user-action=ignore", "--require-hashes", "--no-deps",
            "--platform", WHEEL_PLATFORMS[arch], "--only-binary=:all:", "--python-version", "3.13",
            "--implementation", "cp", "--target", str(out), "--requirement", str(requirements),
        ],
        check=True,
    )  # fmt: skip


def install(recipe: Recipe, out: Path, arch: str) -> None:
    """The function's source and its locked wheels, minus what it never loads."""
    pip_install(out, arch, recipe.source / "requirements.txt")
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt", "requirements.in")
    shutil.copytree(recipe.source, out, ignore=ignored, dirs_exist_ok=True)
    if recipe.ships_events:
        (out / "events").mkdir()
        for event in EVENTS.glob("*.json"):
            shutil.copy2(event, out / "events")
    for pattern in PRUNED_FILES:
        for path in out.rglob(pattern):
            path.unlink()
    for relative in recipe.pruned_paths:
        path = out / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if recipe.botocore_services:
        for model in (out / "botocore" / "data").iterdir():
            if model.is_dir() and model.name not in recipe.botocore_services:
                shutil.rmtree(model)
    for cache in list(out.rglob("__pycache__")):
        shutil.rmtree(cache)


def loaded_sources(code: Path) -> list[str]:
    """The artifact-relative .py files the function imports while answering every committed event."""
    events = [str(path) for path in sorted(EVENTS.glob("*.json"))]
    result = subprocess.run(  # argv of sys.executable and our own paths, no shell  # nosec B603
        [sys.executable, "-I", "-S", "-B", "-c", TRACE, str(code), *events],
        check=True,
        capture_output=True,
        text=True,
    )
    sources: list[str] = json.loads(result.stdout.splitlines()[-1])
    return sources


def compile_sources(out: Path, sources: list[str]) -> None:
    """Unchecked-hash .pyc in __pycache__, where the import system looks for them.

    Without column ranges (`-X no_debug_ranges`) the .pyc are ~20% smaller; tracebacks keep
    file, line, function and source line, and lose only the ^^^ markers under the expression.
    `-s out` records artifact-relative file names (the import system sets the real path on
    load), so the same sources give the same bytes wherever they are built.
    """
    compileall = [sys.executable, "-X", "no_debug_ranges", "-m", "compileall", "-q", "-s", str(out)]
    subprocess.run(  # argv of sys.executable and our own paths, no shell  # nosec B603
        [*compileall, "--invalidation-mode", "unchecked-hash", "-i", "-"],
        input="\n".join(str(out / relative) for relative in sources),
        text=True,
        check=True,
    )


def build(recipe: Recipe, out: Path, arch: str) -> None:
    if sys.version_info[:2] != (3, 13):
        sys.exit(f"bytecode must be compiled by CPython 3.13 (Lambda's python3.13), not {sys.version}")
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty: the artifact is built into a fresh directory (sam build clears its own)")
    out.mkdir(parents=True, exist_ok=True)
    install(recipe, out, arch)
    if recipe.precompile_all:
        sources = sorted(str(path.relative_to(out)) for path in out.rglob("*.py"))
    elif arch == host_arch():
        sources = loaded_sources(out)
    else:  # a foreign .so cannot be imported here: trace a host twin; pure-Python files are the same
        with tempfile.TemporaryDirectory() as twin:
            install(recipe, Path(twin), host_arch())
            sources = loaded_sources(Path(twin))
    compile_sources(out, sources)
    print(f"built {out} for {arch}: {len(sources)} modules precompiled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", choices=sorted(RECIPES), default="api")
    parser.add_argument("--arch", choices=[*WHEEL_PLATFORMS, "host"], default="arm64")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    build(RECIPES[args.function], args.out.resolve(), host_arch() if args.arch == "host" else args.arch)


if __name__ == "__main__":
    main()
