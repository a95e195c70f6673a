"""What `sam build` produced (make test builds before it runs pytest): the handler with arm64 wheels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.artifact

ARTIFACT = REPO_ROOT / ".aws-sam" / "build" / "HealthFunction"


@pytest.fixture(scope="module")
def artifact() -> Path:
    if not (ARTIFACT / "app.py").is_file():
        pytest.fail(f"no build artifact at {ARTIFACT}: run `make build` (make test does) first")
    return ARTIFACT


def test_artifact_holds_the_handler_and_its_package(artifact: Path) -> None:
    assert (artifact / "app.py").is_file()
    assert (artifact / "petsage_health" / "routes.py").is_file()


def test_compiled_dependencies_are_built_for_arm64_linux(artifact: Path) -> None:
    extensions = list(artifact.rglob("*.so"))
    assert extensions, "pydantic-core ships a compiled extension"
    assert all("aarch64-linux-gnu" in path.name for path in extensions), extensions


def test_runtime_pins_are_what_was_installed(artifact: Path) -> None:
    pins = dict(
        line.split("==")
        for line in (REPO_ROOT / "functions/health/requirements.txt").read_text().splitlines()
        if "==" in line
    )
    installed = {}
    for path in artifact.glob("*.dist-info"):
        name, version = path.name.removesuffix(".dist-info").split("-")
        installed[name.lower().replace("_", "-")] = version
    assert {name: installed.get(name) for name in pins} == pins


def test_artifact_carries_no_tests_or_dev_tooling(artifact: Path) -> None:
    assert not (artifact / "tests").exists()
    assert not (artifact / "local_api").exists()
    assert not any(artifact.glob("boto3*")), "the runtime provides boto3; shipping it would bloat the zip"
