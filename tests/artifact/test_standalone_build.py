"""`sam build` works as in any SAM project: the build recipe needs nothing but a CPython 3.13 with pip.

SAM's makefile builder runs `make --makefile <repo>/Makefile build-HealthFunction` from a scratch
copy of the function's code, with ARTIFACTS_DIR set. With `sam build --use-container` it does so in
SAM's python3.13 build image: python3.13, pip and make on PATH, the repository mounted read-only,
no `.venv`, HOME possibly unwritable. No container runs here, so this test reproduces that: a clean
copy of the tracked files, PATH reduced to a bare CPython 3.13's bin plus /usr/bin:/bin, the copy and
an empty HOME bind-mounted read-only in a private user and mount namespace (`unshare`; read-only
mounts bind root too, unlike file modes). Like SAM's build, it installs the locked wheels with pip,
from the package index (or the wheel cache pip is configured with): this test needs PyPI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.artifact.test_sam_build import run_in_artifact
from tests.conftest import REPO_ROOT
from tests.contract import LIVENESS

pytestmark = pytest.mark.artifact

# The interpreter behind the dev virtual environment: a bare CPython 3.13 (pip, nothing else).
BARE_PYTHON_BIN = Path(sys.base_prefix) / "bin"


def clean_copy(destination: Path) -> Path:
    """The tracked files as they are in the work tree: what a fresh clone holds, nothing built."""
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def build_like_sam_in_its_image(
    repo: Path, home: Path, artifacts: Path, scratch: Path, arch: str, function: str = "HealthFunction"
) -> str:
    """`make build-<function>` as SAM's container build runs it; returns what it printed."""
    code_uri = {"HealthFunction": "api", "PreTrafficHookFunction": "pre_traffic_hook"}[function]
    shutil.copytree(repo / "functions" / code_uri, scratch)  # SAM builds from a scratch copy of CodeUri
    make = f"make --makefile {repo}/Makefile build-{function} BUILD_ARCH={arch}"
    script = f"mount --bind -o ro {repo} {repo} && mount --bind -o ro {home} {home} && exec {make}"
    result = subprocess.run(
        ["/usr/bin/unshare", "--map-root-user", "--mount", "/bin/sh", "-c", script],  # a user namespace: no root needed
        cwd=scratch,
        env={"PATH": f"{BARE_PYTHON_BIN}:/usr/bin:/bin", "HOME": str(home), "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_bare_interpreter_is_bare() -> None:
    # Otherwise the test below would prove less than it says.
    listed = subprocess.run(
        [str(BARE_PYTHON_BIN / "python3.13"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1"},
    )
    assert {package["name"] for package in json.loads(listed.stdout)} == {"pip"}


def test_the_recipes_build_with_only_cpython_313_pip_and_make_and_a_read_only_repo(tmp_path: Path) -> None:
    repo = clean_copy(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    assert not (repo / ".venv").exists()

    arm64 = tmp_path / "arm64"
    host = tmp_path / "host"
    build_like_sam_in_its_image(repo, home, arm64, tmp_path / "scratch-arm64", "arm64")
    build_like_sam_in_its_image(repo, home, host, tmp_path / "scratch-host", "host")

    # What ships: the handler, its bytecode, the arm64 wheels.
    assert (arm64 / "handler.py").is_file()
    assert (arm64 / "__pycache__" / "handler.cpython-313.pyc").is_file()
    assert (arm64 / "petsage_api" / "__pycache__" / "app.cpython-313.pyc").is_file()
    extensions = list(arm64.rglob("*.so"))
    assert extensions
    assert all("aarch64-linux-gnu" in path.name for path in extensions), extensions
    # Nothing was written into the read-only copy or the empty HOME.
    assert list(home.iterdir()) == []
    assert not (repo / ".venv").exists()

    # The same recipe for this machine answers the liveness event from its own bytecode.
    report = run_in_artifact(host, ["health"])
    assert json.loads(report["responses"]["health"]["body"]) == LIVENESS
    assert report["compiled"] == []

    # sam build builds the pre-traffic hook the same way.
    hook = tmp_path / "hook"
    build_like_sam_in_its_image(repo, home, hook, tmp_path / "scratch-hook", "arm64", "PreTrafficHookFunction")
    assert (hook / "pre_traffic_hook" / "__pycache__" / "handler.cpython-313.pyc").is_file()
    assert (hook / "events" / "health.json").is_file()
    assert list(home.iterdir()) == []


def test_the_recipe_says_what_to_install_when_there_is_no_cpython_313(tmp_path: Path) -> None:
    repo = clean_copy(tmp_path / "repo")
    tools = tmp_path / "bin"  # make and the shell tools the recipe uses, and no Python at all
    tools.mkdir()
    for tool in ("make", "bash", "sh", "ls", "sort", "cat", "dirname"):
        found = shutil.which(tool, path="/usr/bin:/bin")
        assert found, tool
        (tools / tool).symlink_to(found)
    result = subprocess.run(
        [str(tools / "make"), "--makefile", f"{repo}/Makefile", "build-HealthFunction"],
        cwd=tmp_path,
        env={"PATH": str(tools), "HOME": str(tmp_path), "ARTIFACTS_DIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "No CPython 3.13 interpreter found" in result.stderr
    assert "pyenv install 3.13" in result.stderr
    assert not (tmp_path / "out").exists()
