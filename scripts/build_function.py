"""Build a function's Lambda artifact: its code and hash-locked wheels, every module precompiled.

`sam build`'s Python builder ships no bytecode, and SAM's zips date every file 1980-01-01, so
timestamp-checked .pyc never validate on Lambda's read-only /var/task: every cold start compiled
every module it imported (about 60% of the API function's init, `make bench`). Here CPython 3.13
compiles everything the artifact ships into unchecked-hash .pyc, valid whatever the file dates;
the build always writes them from the sources it ships.

It needs only a CPython 3.13 with pip: SAM's makefile builder runs it (`make build-<LogicalId>`)
on the host or, with `sam build --use-container`, in SAM's python3.13 build image, where the
repository is mounted read-only, there is no virtual environment and HOME may be unwritable.

Usage: build_function.py SOURCE_DIR REQUIREMENTS OUT_DIR [--arch arm64|x86_64|host]
(SAM passes $ARTIFACTS_DIR; the tests, `make invoke` and `make bench` build for the host.)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess  # build time only (pip, compileall), never shipped  # nosec B404
import sys
from pathlib import Path

WHEEL_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def host_arch() -> str:
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}[platform.machine().lower()]


def build(source: Path, requirements: Path, out: Path, arch: str) -> None:
    if sys.version_info[:2] != (3, 13):
        sys.exit(f"bytecode must be compiled by CPython 3.13 (Lambda's python3.13), not {sys.version}")
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty: the artifact is built into a fresh directory (sam build clears its own)")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    if not os.access(Path.home(), os.W_OK):  # SAM's build image: pip would warn and disable its cache anyway
        pip.append("--no-cache-dir")
    # The locked wheels for Lambda's CPython 3.13 on `arch`, each checked against its pinned hash.
    subprocess.run(  # argv of sys.executable and our own paths, no shell  # nosec B603
        [
            *pip, "--root-user-action=ignore", "--require-hashes", "--no-deps",
            "--platform", WHEEL_PLATFORMS[arch], "--only-binary=:all:", "--python-version", "3.13",
            "--implementation", "cp", "--target", str(out), "--requirement", str(requirements),
        ],
        check=True,
    )  # fmt: skip
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements*.txt")
    shutil.copytree(source, out, ignore=ignored, dirs_exist_ok=True)
    # Unchecked-hash .pyc without column ranges (~20% smaller: tracebacks keep file, line and
    # source, and lose only the ^^^ markers); `-s` records artifact-relative file names.
    compileall = [sys.executable, "-X", "no_debug_ranges", "-m", "compileall", "-q", "-s", str(out)]
    subprocess.run([*compileall, "--invalidation-mode", "unchecked-hash", str(out)], check=True)  # nosec B603
    print(f"built {out} for {arch}: {sum(1 for _ in out.rglob('*.pyc'))} modules precompiled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the function's code (its CodeUri)")
    parser.add_argument("requirements", type=Path, help="its hash-locked requirements")
    parser.add_argument("out", type=Path)
    parser.add_argument("--arch", choices=[*WHEEL_PLATFORMS, "host"], default="arm64")
    args = parser.parse_args()
    arch = host_arch() if args.arch == "host" else args.arch
    build(args.source.resolve(), args.requirements.resolve(), args.out.resolve(), arch)


if __name__ == "__main__":
    main()
