"""What template.yaml says about the HTTP API: its routes and the functions behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@dataclass(frozen=True)
class FunctionSpec:
    """How to load one function in-process, as the Lambda runtime would."""

    logical_id: str
    code_dir: Path
    handler: str  # "module.function"
    environment: dict[str, str]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    # "AWS_IAM" when API Gateway only lets SigV4-signed requests through (the event's Auth).
    authorizer: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse the template with cfn-lint's loader, which understands !Ref, !Sub and friends."""
    template: dict[str, Any] = cfn_yaml.load(str(path))
    return template


def function_specs(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    """Every function in the template by logical id, whether or not the HTTP API routes to it."""
    parameters = template.get("Parameters", {})
    return {
        logical_id: FunctionSpec(
            logical_id=logical_id,
            code_dir=REPO_ROOT / properties["CodeUri"],
            handler=properties["Handler"],
            environment=_environment(properties, parameters),
        )
        for logical_id, properties in _serverless_functions(template)
    }


def http_api_routes(template: dict[str, Any]) -> dict[Route, FunctionSpec]:
    """Every explicit HttpApi route in the template, with the function it invokes."""
    specs = function_specs(template)
    routes: dict[Route, FunctionSpec] = {}
    for logical_id, properties in _serverless_functions(template):
        for event in properties.get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                authorizer = (props.get("Auth") or {}).get("Authorizer")
                routes[Route(props["Method"].upper(), props["Path"], authorizer)] = specs[logical_id]
    return routes


def _serverless_functions(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(logical id, properties) of each AWS::Serverless::Function."""
    return [
        (logical_id, resource.get("Properties", {}))
        for logical_id, resource in template.get("Resources", {}).items()
        # Fn::ForEach blocks (AWS::LanguageExtensions) hold lists, never functions.
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function"
    ]


def _environment(properties: dict[str, Any], parameters: dict[str, Any]) -> dict[str, str]:
    """Literal variables as written; `!Ref Parameter` as that parameter's default.

    Anything else is left unset, so the function falls back to its own default; variables
    already in the shell win, e.g. `HEALTH_S3_BUCKETS=my-bucket make run`.
    """
    variables = properties.get("Environment", {}).get("Variables", {})
    environment: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, str | int | float):
            environment[name] = str(value)
        elif isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            environment[name] = str(parameters[value["Ref"]].get("Default", ""))
    return environment
