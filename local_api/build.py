"""Host-architecture builds for `make invoke`, made as `sam build` makes them, again only when their inputs change.

`sam build` makes the arm64 artifacts that ship; `make invoke` needs ones this machine can import,
made the same way. A function whose Metadata says `BuildMethod: makefile` is built by its
Makefile's `build-<LogicalId>` target (the Makefile in its ContextPath, else in its CodeUri) with
BUILD_ARCH=host; any other is its CodeUri, copied (SAM's default build of a function without
dependencies). A build's inputs are the Makefile and the files and folders its recipe names
(`make --dry-run`), or the CodeUri. Each build lives in `<build dir>/<LogicalId>/`, beside a digest
of its inputs (`<LogicalId>.inputs-sha256`): while the digest matches, the build is reused.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess  # make: fixed argv, no shell  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path

from local_api.template import FunctionSpec, load_template


class BuildError(Exception):
    """A build that failed: the message holds what it printed."""


@dataclass(frozen=True)
class Recipe:
    command: list[str] | None  # make's argv; None: copy the CodeUri
    inputs: list[Path]


def recipe(function: FunctionSpec, template: Path, out: Path) -> Recipe:
    """How `sam build` builds `function` of `template`, for this machine, into `out`."""
    metadata = load_template(template)["Resources"][function.logical_id].get("Metadata", {})
    if metadata.get("BuildMethod") != "makefile":
        return Recipe(None, [function.code_dir])
    makefile = (
        template.parent / metadata["ContextPath"] if "ContextPath" in metadata else function.code_dir
    ) / "Makefile"
    target = [f"build-{function.logical_id}", f"ARTIFACTS_DIR={out}", "BUILD_ARCH=host"]
    command = ["make", "--no-print-directory", "--makefile", str(makefile), *target]
    named = [Path(word) for word in shlex.split(_run(function, [*command, "--dry-run"])) if word.startswith("/")]
    return Recipe(command, [makefile, *(path for path in named if path.exists() and path != out)])


def ensure_built(function: FunctionSpec, template: Path, build_root: Path) -> Path:
    """The function's build under `build_root`, made first if it is missing or its inputs changed."""
    out = build_root / function.logical_id
    stamp = build_root / f"{function.logical_id}.inputs-sha256"
    how = recipe(function, template, out)
    digest = inputs_digest(how.inputs)
    if out.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return out
    print(f"Building {function.logical_id} for this machine...", file=sys.stderr)
    stamp.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    build_root.mkdir(parents=True, exist_ok=True)
    if how.command is None:
        shutil.copytree(function.code_dir, out, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        _run(function, how.command)
    stamp.write_text(digest)
    return out


def inputs_digest(inputs: list[Path]) -> str:
    """SHA-256 over every input file's path and content; bytecode a test run left behind is no input."""
    digest = hashlib.sha256()
    for root in inputs:
        for path in [root] if root.is_file() else sorted(path for path in root.rglob("*") if path.is_file()):
            if "__pycache__" not in path.parts:
                digest.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _run(function: FunctionSpec, command: list[str]) -> str:
    # SAM runs the target from (a copy of) the CodeUri.
    result = subprocess.run(command, cwd=function.code_dir, capture_output=True, text=True, check=False)  # nosec B603
    if result.returncode:
        raise BuildError(f"building {function.logical_id} failed:\n{result.stdout}{result.stderr}")
    return result.stdout
