"""What `sam build` produced (make test builds before it runs pytest), and the same recipe run for this host."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.build_function import UNUSED_UTILITIES
from tests.conftest import REPO_ROOT
from tests.contract import LIVENESS
from tests.event_answers import DIRECT_EVENTS, EXPECTED_STATUS

pytestmark = pytest.mark.artifact

ARTIFACT = REPO_ROOT / ".aws-sam" / "build" / "HealthFunction"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def artifact() -> Path:
    if not (ARTIFACT / "handler.py").is_file():
        pytest.fail(f"no build artifact at {ARTIFACT}: run `make build` (make test does) first")
    return ARTIFACT


def test_artifact_holds_the_handler_and_its_package(artifact: Path) -> None:
    assert (artifact / "handler.py").is_file()
    assert (artifact / "petsage_api" / "app.py").is_file()


def test_compiled_dependencies_are_built_for_arm64_linux(artifact: Path) -> None:
    extensions = list(artifact.rglob("*.so"))
    assert extensions, "pydantic-core ships a compiled extension"
    assert all("aarch64-linux-gnu" in path.name for path in extensions), extensions


def test_runtime_pins_are_what_was_installed(artifact: Path) -> None:
    pins = dict(
        line.split(" ", 1)[0].split("==")
        for line in (REPO_ROOT / "functions/api/requirements.txt").read_text().splitlines()
        if "==" in line
    )
    installed = {}
    for path in artifact.glob("*.dist-info"):
        name, version = path.name.removesuffix(".dist-info").split("-")
        installed[name.lower().replace("_", "-")] = version
    assert {name: installed.get(name) for name in pins} == pins


HOOK_ARTIFACT = REPO_ROOT / ".aws-sam" / "build" / "PreTrafficHookFunction"


def test_the_hook_ships_its_handler_the_committed_events_and_botocore_models_of_lambda_and_codedeploy_only() -> None:
    if not (HOOK_ARTIFACT / "pre_traffic_hook" / "handler.py").is_file():
        pytest.fail(f"no build artifact at {HOOK_ARTIFACT}: run `make build` (make test does) first")
    shipped = {path.name for path in (HOOK_ARTIFACT / "events").iterdir()}
    assert shipped == {path.name for path in (REPO_ROOT / "events").glob("*.json")}
    models = {path.name for path in (HOOK_ARTIFACT / "botocore" / "data").iterdir() if path.is_dir()}
    assert models == {"lambda", "codedeploy"}
    assert (HOOK_ARTIFACT / "botocore" / "data" / "endpoints.json").is_file()
    assert not list(HOOK_ARTIFACT.rglob("*.so")), "the hook's closure is pure Python"
    sources = list(HOOK_ARTIFACT.rglob("*.py"))
    assert all(Path(importlib.util.cache_from_source(str(source))).is_file() for source in sources)
    pins = dict(
        line.split(" ", 1)[0].split("==")
        for line in (REPO_ROOT / "functions/pre_traffic_hook/requirements.txt").read_text().splitlines()
        if "==" in line
    )
    installed = {}
    for path in HOOK_ARTIFACT.glob("*.dist-info"):
        name, version = path.name.removesuffix(".dist-info").split("-")
        installed[name.lower().replace("_", "-")] = version
    assert installed == pins


def test_artifact_carries_no_tests_or_dev_tooling(artifact: Path) -> None:
    assert not (artifact / "tests").exists()
    assert not (artifact / "local_api").exists()
    assert not any(artifact.glob("boto3*")), "the runtime provides boto3; shipping it would bloat the zip"


# --- what the build recipe adds: slim, with bytecode that is really used ---------------------

EVENTS = sorted(path.stem for path in (REPO_ROOT / "events").glob("*.json"))


def test_every_committed_event_has_a_documented_answer() -> None:
    assert set(EVENTS) == set(EXPECTED_STATUS) | DIRECT_EVENTS


def test_artifact_ships_nothing_the_runtime_never_loads(artifact: Path) -> None:
    names = {path.name for path in artifact.rglob("*")}
    assert not names & {"RECORD", "INSTALLER", "REQUESTED", "requirements.txt", "tests", "bin"}
    assert not list(artifact.rglob("*.pyi"))
    assert not (artifact / "pydantic" / "v1").exists()
    swagger = artifact / "aws_lambda_powertools/event_handler/openapi/swagger_ui"
    assert (swagger / "swagger-ui-bundle.min.js").is_file(), "/docs inlines the bundled Swagger UI assets"
    assert (swagger / "swagger-ui.min.css").is_file()


def test_bytecode_is_cpython_313_unchecked_hash_pyc_of_the_shipped_sources(artifact: Path) -> None:
    caches = list(artifact.rglob("*.pyc"))
    assert {path.name.split(".")[-2] for path in caches} == {"cpython-313"}, "only Lambda's interpreter's bytecode"
    for source in [artifact / "handler.py", *(artifact / "petsage_api").rglob("*.py")]:
        assert Path(importlib.util.cache_from_source(str(source))) in caches, f"{source} is not precompiled"
    for cache in caches:
        header = cache.read_bytes()[:16]
        source = cache.parent.parent / (cache.name.split(".")[0] + ".py")
        assert header[:4] == importlib.util.MAGIC_NUMBER, cache
        # PEP 552 flags: 0b01 = hash-based, source not checked, so Lambda's 1980 file dates do not matter
        assert int.from_bytes(header[4:8], "little") == 0b01, cache
        assert header[8:16] == importlib.util.source_hash(source.read_bytes()), f"{cache} is stale"


def run_in_artifact(code: Path, events: list[str], *, site_packages: bool = False) -> dict[str, Any]:
    """A fresh interpreter that may not write bytecode; without site-packages unless asked."""
    flags = ["-I", "-B"] if site_packages else ["-I", "-S", "-B"]
    result = subprocess.run(
        [sys.executable, *flags, str(HERE / "run_in_artifact.py"), str(code), str(REPO_ROOT / "events"), *events],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")},
    )
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return report


def test_the_artifact_answers_every_event_on_its_own_from_its_bytecode(host_artifact: Path) -> None:
    report = run_in_artifact(host_artifact, EVENTS)
    responses = report["responses"]
    assert {name: responses[name]["statusCode"] for name in EXPECTED_STATUS} == EXPECTED_STATUS
    assert json.loads(responses["health"]["body"]) == LIVENESS
    assert responses["health-head"]["body"] == ""
    assert {name: responses[name] for name in DIRECT_EVENTS} == dict.fromkeys(DIRECT_EVENTS, LIVENESS)
    assert report["compiled"] == [], "these modules were compiled at import: their .pyc are missing or unusable"
    outside = {name: path for name, path in report["modules"].items() if path and "site-packages" in path}
    assert outside == {}, "-S: everything the function imports must come from the artifact"


def test_removing_the_bytecode_shows_up_as_compiling(host_artifact: Path, tmp_path: Path) -> None:
    # The check above must be able to fail: the same artifact without its .pyc compiles on import.
    bare = tmp_path / "bare"
    shutil.copytree(host_artifact, bare, ignore=shutil.ignore_patterns("__pycache__"))
    report = run_in_artifact(bare, ["health"])
    assert str(bare / "handler.py") in report["compiled"]


def test_the_liveness_cold_path_loads_no_aws_sdk_client_and_no_xray(host_artifact: Path) -> None:
    # With site-packages, boto3 and botocore are importable, as the Lambda runtime provides them.
    report = run_in_artifact(host_artifact, ["health"], site_packages=True)
    assert report["responses"]["health"]["statusCode"] == 200
    assert report["modules"]["handler"] == str(host_artifact / "handler.py")
    forbidden = ("boto3", "botocore.session", "botocore.client", "aws_xray_sdk")
    touched = {name for name in [*report["attempted"], *report["modules"]] if name.startswith(forbidden)}
    assert touched == set()
    # The docs stay off the cold path too: OpenAPI models and Swagger UI load on the first /docs.
    docs = (
        "aws_lambda_powertools.event_handler.openapi.models",
        "aws_lambda_powertools.event_handler.openapi.swagger_ui",
    )
    assert {name for name in report["modules"] if name.startswith(docs)} == set()


def test_tracebacks_from_precompiled_modules_name_the_shipped_file_and_quote_its_source(host_artifact: Path) -> None:
    # .pyc carry artifact-relative names and no column ranges: the import system must restore the
    # real path, and linecache must find the shipped source to quote.
    code = "import sys; sys.path.insert(0, sys.argv[1]); from petsage_api.invocation import _field_path; _field_path(1)"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(host_artifact)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f'File "{host_artifact / "petsage_api" / "invocation.py"}", line' in result.stderr
    assert "for index, part in enumerate(loc):" in result.stderr, result.stderr


# Shipped modules that name a pruned package, and why that never runs here.
PRUNED_REFERENCES_ALLOWED = {
    "pydantic/_internal/_generate_schema.py",  # pydantic.v1, only for legacy `__get_validators__` types
    "pydantic/_migration.py",  # pydantic.v1, only when a name removed in v2 is asked for
    "aws_lambda_powertools/event_handler/middlewares/schema_validation.py",  # opt-in, needs fastjsonschema
}


def test_no_shipped_module_imports_what_the_build_pruned(artifact: Path) -> None:
    # A dependency upgrade that starts importing a pruned package must fail here, not on a rare path.
    pruned = "|".join(UNUSED_UTILITIES.split())
    reference = re.compile(rf"aws_lambda_powertools\.utilities\.({pruned})\b|pydantic\.v1\b|from \.\.?v1\b")
    referencing = {
        str(path.relative_to(artifact))
        for path in artifact.rglob("*.py")
        if reference.search(path.read_text(encoding="utf-8"))
    }
    assert referencing == PRUNED_REFERENCES_ALLOWED
