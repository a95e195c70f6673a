"""What the local tools read from a template, and how make invoke builds each function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local_api.build import Recipe, recipe
from local_api.template import TEMPLATE_PATH, FunctionSpec, functions, load_template
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


# --- how make invoke builds a function ----------------------------------------------------------


def test_make_invoke_builds_each_function_as_sam_build_does_and_again_when_an_input_changes() -> None:
    specs = functions(TEMPLATE)
    out = Path("/artifacts/HealthFunction")
    api = recipe(specs["HealthFunction"], TEMPLATE_PATH, out)
    assert api.command is not None
    assert api.command[-3:] == ["build-HealthFunction", f"ARTIFACTS_DIR={out}", "BUILD_ARCH=host"], "its make target"
    assert set(api.inputs) == {
        REPO_ROOT / "Makefile",
        REPO_ROOT / "scripts" / "build_function.py",
        specs["HealthFunction"].code_dir,
        REPO_ROOT / "requirements.txt",
    }, "what the target's recipe names"
    hook = recipe(specs["PreTrafficHookFunction"], TEMPLATE_PATH, out)
    assert hook == Recipe(None, [specs["PreTrafficHookFunction"].code_dir]), "SAM's default build: the code, copied"
