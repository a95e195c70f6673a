"""`sam build` works as in any SAM project: the build recipe needs nothing but a CPython 3.13 with pip
(tests/artifact/conftest.py says how the container-like environment is made)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.artifact.conftest import BARE_PYTHON_BIN
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.artifact


def test_the_bare_interpreter_is_bare() -> None:
    # Otherwise the build below would prove less than it says.
    listed = subprocess.run(
        [str(BARE_PYTHON_BIN / "python3.13"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1"},
    )
    assert {package["name"] for package in json.loads(listed.stdout)} == {"pip"}


def test_the_recipe_builds_with_only_cpython_313_pip_and_make_and_a_read_only_repository(host_artifact: Path) -> None:
    # The fixture built it there; the tests of test_runtime_interface_client.py run what it built.
    assert Path(importlib.util.cache_from_source(str(host_artifact / "handler.py"))).is_file()


def test_the_recipe_says_what_to_install_when_there_is_no_cpython_313(tmp_path: Path) -> None:
    tools = tmp_path / "bin"  # make and the shell tools the recipe uses, and no Python at all
    tools.mkdir()
    for tool in ("make", "bash", "sh", "ls", "sort", "cat", "dirname"):
        found = shutil.which(tool, path="/usr/bin:/bin")
        assert found, tool
        (tools / tool).symlink_to(found)
    result = subprocess.run(
        [str(tools / "make"), "--makefile", f"{REPO_ROOT}/Makefile", "build-HealthFunction"],
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


def test_a_traceback_from_the_precompiled_artifact_names_the_shipped_file_and_quotes_its_line(
    host_artifact: Path,
) -> None:
    # The .pyc carry artifact-relative names and no column ranges (`compileall -s`, no_debug_ranges):
    # the import system must restore the real path, and linecache find the shipped source to quote.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from petsage_api.health.config import _matching; _matching('[')"
    )
    result = subprocess.run(
        [str(BARE_PYTHON_BIN / "python3.13"), "-I", "-S", "-B", "-c", code, str(host_artifact)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f'File "{host_artifact / "petsage_api" / "health" / "config.py"}", line' in result.stderr, result.stderr
    assert "compiled = re.compile(pattern)" in result.stderr
