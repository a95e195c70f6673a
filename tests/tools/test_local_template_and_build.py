"""What the local tools read from a template, and when make invoke builds a function again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_api.build import BuildError, Recipe, inputs_digest, recipe
from local_api.template import FunctionSpec, functions, load_template
from tests.conftest import REPO_ROOT

TEMPLATE = load_template()


def test_the_health_function_is_read_as_the_template_configures_it() -> None:
    defaults = TEMPLATE.get("Globals", {}).get("Function", {})
    own = TEMPLATE["Resources"]["HealthFunction"]["Properties"]
    # What SAM makes of Globals: the function's own value wins; LoggingConfig merges key by key, and
    # so do the variables of Environment.
    properties = {
        **defaults,
        **own,
        "LoggingConfig": {**defaults.get("LoggingConfig", {}), **own.get("LoggingConfig", {})},
        "Environment": {
            "Variables": {
                **defaults.get("Environment", {}).get("Variables", {}),
                **own.get("Environment", {}).get("Variables", {}),
            }
        },
    }
    spec = functions(TEMPLATE)["HealthFunction"]
    assert spec.code_dir == REPO_ROOT / properties["CodeUri"]
    assert (spec.handler, spec.runtime) == (properties["Handler"], properties["Runtime"])
    assert (spec.memory_size, spec.timeout) == (properties["MemorySize"], properties["Timeout"])
    assert (spec.log_format, spec.application_log_level) == (
        properties["LoggingConfig"]["LogFormat"],
        properties["LoggingConfig"]["ApplicationLogLevel"],
    )
    assert set(spec.environment) == set(properties["Environment"]["Variables"]), "every variable has a local value"


def test_parameters_resolve_to_their_defaults_and_globals_apply() -> None:
    template: dict[str, Any] = {
        "Parameters": {
            "Tables": {"Type": "CommaDelimitedList", "Default": "pets,owners"},
            "Memory": {"Type": "Number", "Default": 512},
            "Stage": {"Type": "String"},
        },
        "Globals": {"Function": {"Timeout": 9, "Environment": {"Variables": {"SHARED": "yes", "LEVEL": "INFO"}}}},
        "Resources": {
            "First": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "first/",
                    "Handler": "app.handler",
                    "MemorySize": {"Ref": "Memory"},
                    "Environment": {
                        "Variables": {
                            "TABLES": {"Fn::Join": ["|", {"Ref": "Tables"}]},
                            "PAIR": {"Fn::Join": ["-", ["a", {"Ref": "Memory"}]]},
                            "STAGE": {"Ref": "Stage"},
                            "STACK": {"Ref": "AWS::StackName"},
                            "ARN": {"Fn::GetAtt": ["Table", "Arn"]},
                            "LEVEL": "DEBUG",
                            "ENABLED": True,
                        }
                    },
                },
            },
            "Second": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "second/", "Handler": "h.h"}},
        },
    }
    specs = functions(template, base_dir=Path("/templates"))
    assert list(specs) == ["First", "Second"], "template order: the first is make invoke's default"
    first = specs["First"]
    assert (first.code_dir, first.memory_size, first.timeout) == (Path("/templates/first/"), 512, 9)
    assert first.environment == {
        "SHARED": "yes",
        "LEVEL": "DEBUG",
        "TABLES": "pets|owners",
        "PAIR": "a-512",
        "STAGE": "",
        "STACK": "local",
        "ENABLED": "true",
    }, "a value only a deployed stack knows (GetAtt) stays unset"
    assert (specs["Second"].memory_size, specs["Second"].log_format) == (FunctionSpec.memory_size, "Text")


# --- when a build is made again -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "handler", "name"),
    [
        ("functions/api", "handler.lambda_handler", "api"),
        ("functions/pre_traffic_hook", "pre_traffic_hook.handler.lambda_handler", "pre_traffic_hook"),
    ],
)
def test_the_build_scripts_functions_are_built_by_it_from_their_code_and_the_events(
    code: str, handler: str, name: str
) -> None:
    how = recipe(FunctionSpec("Function", REPO_ROOT / code, handler, {}))
    assert how.command is not None
    assert how.command[1] == str(REPO_ROOT / "scripts" / "build_function.py")
    assert list(how.command[2:]) == ["--function", name, "--arch", "host", "{out}"]
    assert set(how.inputs) == {REPO_ROOT / code, REPO_ROOT / "scripts/build_function.py", REPO_ROOT / "events"}


def test_a_function_with_dependencies_and_no_recipe_is_refused(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    with pytest.raises(BuildError, match=r"Other: no host build recipe for .* RECIPES, or one to local_api/build.py"):
        recipe(FunctionSpec("Other", tmp_path, "app.handler", {}))


def test_the_digest_changes_with_any_input_file_and_ignores_bytecode(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "app.py").write_text("A = 1\n")
    how = Recipe(None, (tmp_path,))
    before = inputs_digest(how)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-313.pyc").write_bytes(b"\0")
    assert inputs_digest(how) == before, "bytecode left by a test run is not an input"
    (tmp_path / "pkg" / "mod.py").write_text("")
    added = inputs_digest(how)
    (tmp_path / "app.py").write_text("A = 2\n")
    assert len({before, added, inputs_digest(how)}) == 3
