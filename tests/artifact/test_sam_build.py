"""What `sam build` produced in .aws-sam/build (make test builds before it runs pytest), for every function
of the template: its code as it is in the repository and exactly the wheels its build names, for arm64
Linux; where the build is ours (`BuildMethod: makefile`), every module as bytecode of its shipped source."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import pytest

from local_api.build import Recipe, recipe
from local_api.template import TEMPLATE_PATH, functions, load_template
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.artifact

BUILD = REPO_ROOT / ".aws-sam" / "build"
FUNCTIONS = functions(load_template())


@cache
def build_recipe(logical_id: str) -> Recipe:
    return recipe(FUNCTIONS[logical_id], TEMPLATE_PATH, BUILD / logical_id)


def content(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@pytest.fixture(params=list(FUNCTIONS))
def artifact(request: pytest.FixtureRequest) -> tuple[str, Path]:
    logical_id: str = request.param
    if not (BUILD / logical_id).is_dir():
        pytest.fail(f"no build artifact at {BUILD / logical_id}: run `make build` (make test does) first")
    return logical_id, BUILD / logical_id


def test_the_code_ships_as_it_is_in_the_repository(artifact: tuple[str, Path]) -> None:
    logical_id, built = artifact
    code = FUNCTIONS[logical_id].code_dir
    sources = [path.relative_to(code) for path in code.rglob("*.py") if "__pycache__" not in path.parts]
    assert sources
    stale = [str(path) for path in sources if content(built / path) != content(code / path)]
    assert stale == [], "the build is older than the code: run `make build`"


def test_exactly_the_wheels_its_build_names_are_installed(artifact: tuple[str, Path]) -> None:
    logical_id, built = artifact
    locks = [path for path in build_recipe(logical_id).inputs if path.name == "requirements.txt"]
    lines = [line for lock in locks for line in lock.read_text().splitlines()]
    pins = dict(line.split(" ", 1)[0].split("==") for line in lines if "==" in line)
    installed = dict(path.name.removesuffix(".dist-info").split("-") for path in built.glob("*.dist-info"))
    assert {name.lower().replace("_", "-"): version for name, version in installed.items()} == pins


def test_every_compiled_extension_is_built_for_arm64_linux() -> None:
    extensions = [path.name for logical_id in FUNCTIONS for path in (BUILD / logical_id).rglob("*.so")]
    assert extensions, "pydantic-core ships one"
    assert [name for name in extensions if "aarch64-linux-gnu" not in name] == []


def test_our_build_precompiles_every_module_into_unchecked_hash_bytecode_of_its_source(
    artifact: tuple[str, Path],
) -> None:
    logical_id, built = artifact
    sources = {Path(importlib.util.cache_from_source(str(path))): path for path in built.rglob("*.py")}
    ours = build_recipe(logical_id).command is not None  # SAM's default build ships no bytecode
    assert set(built.rglob("*.pyc")) == (set(sources) if ours else set())
    for cache_file in built.rglob("*.pyc"):
        header = cache_file.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, f"{cache_file}: not CPython 3.13's, Lambda's python3.13"
        # PEP 552 flags 0b01: hash-based, never checked against the source, so Lambda's 1980 file dates do not matter
        assert int.from_bytes(header[4:8], "little") == 0b01, cache_file
        assert header[8:16] == importlib.util.source_hash(sources[cache_file].read_bytes()), f"{cache_file} is stale"
