"""Build the health function's Lambda artifact: pinned wheels, slimmed, with the bytecode it loads.

`sam build`'s Python builder ships no bytecode, and SAM's zips date every file 1980-01-01, so
timestamp-checked .pyc never validate on Lambda's read-only /var/task: every cold start compiled
every module it imported, about 60% of the function's init (`make bench`). Here CPython 3.13 compiles the
modules the function loads into unchecked-hash .pyc (valid whatever the file dates; the build
always rewrites them with their sources). The rest ship as source only, to keep the zip small,
and compile on the rare path that imports them.

Usage: build_function.py [--arch arm64|x86_64|host] OUT_DIR   (SAM's makefile builder passes
$ARTIFACTS_DIR; the artifact tests and `make bench` build for the host architecture.)
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess  # build time only (pip, compileall, the import trace), never shipped  # nosec B404
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "functions" / "health"
EVENTS = ROOT / "events"
WHEEL_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}

# Never loaded by this function: installer bookkeeping, type stubs, console scripts, mypy's
# plugin, pydantic's v1 API (only legacy `__get_validators__` types reach it) and the Powertools
# utilities that no module the function loads imports. METADATA and licences stay. The build
# traces every committed event after pruning, so a pruned module the function needs fails it.
PRUNED_FILES = ("RECORD", "INSTALLER", "REQUESTED", "*.cyclonedx.json", "*.pyi", "py.typed")
UNUSED_UTILITIES = "auth_alpha batch circuit_breaker data_masking feature_flags idempotency metadata parameters parser"
UNUSED_UTILITIES += " streaming validation"
PRUNED_PATHS = (
    "bin",
    "pydantic/mypy.py",
    "pydantic/v1",
    *(f"aws_lambda_powertools/utilities/{name}" for name in UNUSED_UTILITIES.split()),
)

# Run in a fresh interpreter over a code directory: import the handler, answer every committed
# event, print the source files of the modules that came from that directory.
TRACE = """
import json, sys
from pathlib import Path
code, events = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
sys.path.insert(0, str(code))
from app import lambda_handler
class Context:
    function_name = "HealthFunction"; memory_limit_in_mb = 1024; aws_request_id = "build"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:HealthFunction"
    get_remaining_time_in_millis = staticmethod(lambda: 5000)
for event in sorted(events.glob("*.json")):
    lambda_handler(json.loads(event.read_text(encoding="utf-8")), Context())
files = {Path(m.__file__) for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
print(json.dumps(sorted(str(f.relative_to(code)) for f in files if f.is_relative_to(code) and f.suffix == ".py")))
"""


def host_arch() -> str:
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}[platform.machine().lower()]


def install(out: Path, arch: str) -> None:
    """The function's source and its pinned wheels for Lambda's CPython 3.13 on `arch`."""
    subprocess.run(  # argv of sys.executable and our own paths, no shell  # nosec B603
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--platform", WHEEL_PLATFORMS[arch], "--only-binary=:all:", "--python-version", "3.13",
            "--implementation", "cp", "--target", str(out), "--requirement", str(SOURCE / "requirements.txt"),
        ],
        check=True,
    )  # fmt: skip
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt")
    shutil.copytree(SOURCE, out, ignore=ignored, dirs_exist_ok=True)
    for pattern in PRUNED_FILES:
        for path in out.rglob(pattern):
            path.unlink()
    for relative in PRUNED_PATHS:
        path = out / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for cache in list(out.rglob("__pycache__")):
        shutil.rmtree(cache)


def loaded_sources(code: Path) -> list[str]:
    """The artifact-relative .py files the function imports while answering every event."""
    result = subprocess.run(  # argv of sys.executable and our own paths, no shell  # nosec B603
        [sys.executable, "-I", "-S", "-B", "-c", TRACE, str(code), str(EVENTS)],
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


def build(out: Path, arch: str) -> None:
    if sys.version_info[:2] != (3, 13):
        sys.exit(f"bytecode must be compiled by CPython 3.13 (Lambda's python3.13), not {sys.version}")
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty: the artifact is built into a fresh directory (sam build clears its own)")
    out.mkdir(parents=True, exist_ok=True)
    install(out, arch)
    if arch == host_arch():
        sources = loaded_sources(out)
    else:  # a foreign .so cannot be imported here: trace a host twin; pure-Python files are the same
        with tempfile.TemporaryDirectory() as twin:
            install(Path(twin), host_arch())
            sources = loaded_sources(Path(twin))
    compile_sources(out, sources)
    print(f"built {out} for {arch}: {len(sources)} modules precompiled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=[*WHEEL_PLATFORMS, "host"], default="arm64")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    build(args.out.resolve(), host_arch() if args.arch == "host" else args.arch)


if __name__ == "__main__":
    main()
