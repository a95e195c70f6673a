"""template.yaml holds together: each function's handler is in the code its build ships, shared
settings are said once, every parameter has its console group, and the nested operations
templates take exactly what the parent passes them."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from local_api.template import functions, load_template, nested_templates
from tests.conftest import REPO_ROOT
from tests.infrastructure.stack import evaluate

PARENT = load_template()
RESOURCES: dict[str, Any] = PARENT["Resources"]
FUNCTIONS = functions(PARENT)
MAKEFILE = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
MAKEFILE_BUILT = [name for name in FUNCTIONS if RESOURCES[name].get("Metadata", {}).get("BuildMethod") == "makefile"]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_functions_handler_is_a_function_in_its_code(function: str) -> None:
    spec = FUNCTIONS[function]
    module_name, handler = spec.handler.rsplit(".", 1)
    module = importlib.import_module(module_name)
    assert Path(str(module.__file__)).is_relative_to(spec.code_dir)
    assert callable(getattr(module, handler))


@pytest.mark.parametrize("function", sorted(MAKEFILE_BUILT))
def test_sam_build_runs_a_root_makefile_target_that_builds_the_functions_code(function: str) -> None:
    # `sam build` runs `make build-<LogicalId>` from the context path, with ARTIFACTS_DIR set.
    assert RESOURCES[function]["Metadata"]["ContextPath"] == "."
    target = re.search(rf"^[^:\n]*\bbuild-{function}\b[^:\n]*:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert target, f"no build-{function} target in the Makefile"
    code_dir = FUNCTIONS[function].code_dir.relative_to(REPO_ROOT).as_posix().rstrip("/")
    assert f"$(ROOT)/{code_dir} " in target.group(1), f"build-{function} builds another function's code"


def test_no_function_repeats_or_overrides_what_globals_says() -> None:
    # SAM appends a function's list to Globals' (`Architectures: [arm64, arm64]` fails the deploy),
    # and a function's own value would hide the shared one.
    def clashes(shared: dict[str, Any], own: dict[str, Any]) -> set[str]:
        found = set()
        for key in shared.keys() & own.keys():
            both_maps = isinstance(shared[key], dict) and isinstance(own[key], dict)
            found |= {f"{key}.{inner}" for inner in clashes(shared[key], own[key])} if both_maps else {key}
        return found

    shared = PARENT["Globals"]["Function"]
    clashing = {name: clashes(shared, RESOURCES[name]["Properties"]) for name in FUNCTIONS}
    assert {name: keys for name, keys in clashing.items() if keys} == {}


def test_every_parameter_is_in_exactly_one_console_group() -> None:
    groups = PARENT["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert all(group["Label"]["default"] for group in groups)
    assert sorted(grouped) == sorted(PARENT["Parameters"])


@pytest.mark.parametrize("name", sorted(nested_templates()))
def test_each_nested_template_is_plain_cloudformation_given_every_value_it_declares(name: str) -> None:
    child = load_template(nested_templates()[name])
    # No transform: CloudFormation runs none in a nested stack unless told to, and the rehearsal's
    # emulator runs none at all (docs/deploying.md).
    assert "Transform" not in child
    passed = RESOURCES[name]["Properties"].get("Parameters", {})
    assert set(passed) == set(child["Parameters"])
    assert all("Default" not in parameter for parameter in child["Parameters"].values()), "the parent decides"


def test_every_function_runs_the_python_and_architecture_the_build_compiles_for() -> None:
    # scripts/build_function.py compiles bytecode with CPython 3.13 for BUILD_ARCH (arm64 by default):
    # another runtime would ignore every .pyc and compile on each cold start.
    assert {key: PARENT["Globals"]["Function"][key] for key in ("Runtime", "Architectures")} == {
        "Runtime": "python3.13",
        "Architectures": ["arm64"],
    }
    assert re.search(r"^BUILD_ARCH \?= arm64$", MAKEFILE, re.MULTILINE)


@pytest.mark.parametrize(
    ("prop", "asked"), [("SnapStart", "EnableSnapStart"), ("ReservedConcurrentExecutions", "ReservedConcurrency")]
)
def test_snapstart_and_a_reservation_are_off_unless_a_deploy_asks(prop: str, asked: str) -> None:
    # SnapStart bills snapshots and restores; a reservation takes from the account's pool (docs/deploying.md).
    defaults = {
        name: str(parameter.get("Default")) for name, parameter in PARENT["Parameters"].items()
    }  # strings, as CloudFormation passes them
    condition, _, otherwise = RESOURCES["HealthFunction"]["Properties"][prop]["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert evaluate(PARENT["Conditions"][condition], defaults) is False
    assert (
        evaluate(PARENT["Conditions"][condition], {**defaults, asked: "true" if prop == "SnapStart" else "10"}) is True
    )


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_every_environment_may_create_roles_and_nested_stacks(env: str) -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert set(config[env]["deploy"]["parameters"]["capabilities"].split()) == {
        "CAPABILITY_IAM",
        "CAPABILITY_AUTO_EXPAND",
    }
