"""Host-architecture builds for `make invoke`, made again only when what they are built from changes.

`sam build` makes the arm64 artifact that ships; `make invoke` needs one this machine can
import, made with the same recipe. Each build lives in `.aws-sam/invoke/<LogicalId>/`, beside
a digest of its inputs (`<LogicalId>.inputs-sha256`): when the digest still matches, the
build is reused.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess  # the build recipe: our interpreter, fixed argv, no shell  # nosec B404
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from local_api.template import REPO_ROOT, FunctionSpec
from scripts.build_function import EVENTS, RECIPES

BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_function.py"
OUT = "{out}"  # stands for the build's output directory in a recipe's command


class BuildError(Exception):
    """A function this tool cannot build, or a build that failed: the message says which and why."""


@dataclass(frozen=True)
class Recipe:
    command: tuple[str, ...] | None  # argv with OUT in it; None: copy the code directory as it is
    inputs: tuple[Path, ...]  # the files and directories the build is made from


def recipe(function: FunctionSpec) -> Recipe:
    """How `function` is built for this host: the one place that knows each function's recipe.

    A function of scripts/build_function.py's (its source directory is the function's code)
    is built by it, as `sam build` builds it, for this machine: that build installs the locked
    wheels and traces or ships events/. A function without dependencies is its code directory,
    copied (what `sam build` does for it too).
    """
    code = function.code_dir.resolve()
    for name, build in RECIPES.items():
        if build.source.resolve() == code:
            command = (sys.executable, str(BUILD_SCRIPT), "--function", name, "--arch", "host", OUT)
            return Recipe(command, (build.source, BUILD_SCRIPT, EVENTS))
    if (code / "requirements.txt").exists():
        raise BuildError(
            f"{function.logical_id}: no host build recipe for {function.code_dir}, which has dependencies "
            "(requirements.txt): add it to scripts/build_function.py's RECIPES, or one to local_api/build.py's recipe()"
        )
    return Recipe(None, (function.code_dir,))


def ensure_built(function: FunctionSpec, build_root: Path) -> Path:
    """The function's build under `build_root`, made first if it is missing or its inputs changed."""
    how = recipe(function)
    out = build_root / function.logical_id
    stamp = build_root / f"{function.logical_id}.inputs-sha256"
    digest = inputs_digest(how)
    if out.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return out
    print(f"Building {function.logical_id} for this machine ({_why(out, stamp)})...", file=sys.stderr)
    build_root.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=build_root, prefix=f".{function.logical_id}-") as scratch:
        fresh = Path(scratch) / function.logical_id
        _run(how, function, fresh)
        if out.exists():
            shutil.rmtree(out)
        fresh.rename(out)
    stamp.write_text(digest + "\n")
    return out


def inputs_digest(how: Recipe) -> str:
    """SHA-256 over the recipe, the interpreter and every input file's path and content."""
    digest = hashlib.sha256()
    digest.update("\0".join(how.command or ("copy",)).encode())
    digest.update(sys.version.encode())
    for root in how.inputs:
        for path in _files(root):
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _why(out: Path, stamp: Path) -> str:
    return "its inputs changed" if out.is_dir() and stamp.is_file() else "no build yet"


def _run(how: Recipe, function: FunctionSpec, out: Path) -> None:
    if how.command is None:
        shutil.copytree(function.code_dir, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return
    command = [out.as_posix() if part == OUT else part for part in how.command]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)  # nosec B603
    if result.returncode != 0:
        raise BuildError(f"building {function.logical_id} failed:\n{result.stdout}{result.stderr}")
