"""What template.yaml says about the functions and the HTTP API routes in front of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
APPLICATION = "AWS::Serverless::Application"
DEFAULT_ROUTE = "$default"
# What `sam local` substitutes for the pseudo parameters (samcli's IntrinsicsSymbolTable).
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "local",
    "AWS::URLSuffix": "localhost",
}


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the template configures it; unset properties take Lambda's defaults."""

    logical_id: str
    code_dir: Path
    handler: str  # "module.function"
    environment: dict[str, str]
    runtime: str = "python3.13"
    memory_size: int = 128  # MB
    timeout: float = 3  # seconds
    log_format: str = "Text"  # LoggingConfig.LogFormat
    application_log_level: str | None = None  # LoggingConfig.ApplicationLogLevel


@dataclass(frozen=True)
class Route:
    """An HTTP API route: `GET /path`, `ANY /path`, or the `$default` route that takes what no other matches."""

    method: str  # "ANY" for ANY and for $default
    path: str  # "$default" for the $default route
    # "AWS_IAM" when API Gateway only lets SigV4-signed requests through (the event's Auth).
    authorizer: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.path if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: `!Ref X` reads as {"Ref": "X"}, `!Sub s` as {"Fn::Sub": s}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else "Condition" if suffix == "Condition" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)  # !GetAtt A.B is {"Fn::GetAtt": ["A", "B"]}
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as CloudFormation reads it, intrinsic functions as their long forms."""
    template: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_TemplateLoader)  # noqa: S506  # nosec B506
    return template


def nested_templates(path: Path = TEMPLATE_PATH) -> dict[str, Path]:
    """Logical ID of each nested application (AWS::Serverless::Application) -> its local template file."""
    return {
        name: path.parent / resource["Properties"]["Location"]
        for name, resource in load_template(path)["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == APPLICATION
    }


def functions(template: dict[str, Any], base_dir: Path = REPO_ROOT) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function, in template order, with Globals.Function applied.

    `base_dir` is the template's directory, which CodeUri is relative to.
    """
    parameters = template.get("Parameters", {})
    defaults = template.get("Globals", {}).get("Function", {})
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        # Fn::ForEach blocks (AWS::LanguageExtensions) hold lists, never functions.
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = with_globals(defaults, resource.get("Properties", {}))
        variables = properties.get("Environment", {}).get("Variables", {})
        logging_config = properties.get("LoggingConfig", {})
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=base_dir / properties["CodeUri"],
            handler=properties["Handler"],
            environment=_environment(variables, parameters),
            runtime=str(properties.get("Runtime", FunctionSpec.runtime)),
            memory_size=int(_resolve(properties.get("MemorySize"), parameters) or FunctionSpec.memory_size),
            timeout=float(_resolve(properties.get("Timeout"), parameters) or FunctionSpec.timeout),
            log_format=_resolve(logging_config.get("LogFormat"), parameters) or FunctionSpec.log_format,
            application_log_level=_resolve(logging_config.get("ApplicationLogLevel"), parameters),
        )
    return specs


def with_globals(globals_: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's merge of Globals into a resource: maps merge key by key, lists add up, and for anything
    else the resource's own value wins ("Globals section of the AWS SAM template", Overridable)."""
    merged = dict(globals_)
    for name, value in properties.items():
        default = merged.get(name)
        if isinstance(default, dict) and isinstance(value, dict):
            merged[name] = with_globals(default, value)
        elif isinstance(default, list) and isinstance(value, list):
            merged[name] = default + value
        else:
            merged[name] = value
    return merged


def http_api_routes(template: dict[str, Any]) -> dict[Route, FunctionSpec]:
    """Every HttpApi route in the template, with the function it invokes; an event without a
    Path is the $default route (AWS SAM's HttpApi event)."""
    specs = functions(template)
    routes: dict[Route, FunctionSpec] = {}
    for logical_id, spec in specs.items():
        for event in template["Resources"][logical_id].get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                props = event.get("Properties") or {}
                authorizer = (props.get("Auth") or {}).get("Authorizer")
                route = Route(props.get("Method", "ANY").upper(), props.get("Path", DEFAULT_ROUTE), authorizer)
                routes[route] = spec
    return routes


def matching_route(routes: Mapping[Route, Any], method: str, path: str) -> Route | None:
    """The route API Gateway picks: the method's own, then ANY, for this exact path; else $default."""
    for route in (Route(method, path), Route("ANY", path), Route("ANY", DEFAULT_ROUTE)):
        if route in routes:
            return next(declared for declared in routes if declared == route)
    return None


def _environment(variables: dict[str, Any], parameters: dict[str, Any]) -> dict[str, str]:
    """Literal variables as written; parameters (`!Ref`, `!Join` of a list) as their defaults,
    pseudo parameters (`!Ref AWS::StackName`) as `sam local` has them.

    Anything else is left unset, so the function falls back to its own default; variables
    already in the shell win, e.g. `HEALTH_S3_BUCKETS=my-bucket make run`.
    """
    environment: dict[str, str] = {}
    for name, value in variables.items():
        resolved = _resolve(value, parameters)
        if resolved is not None:
            environment[name] = resolved
    return environment


def _resolve(value: Any, parameters: dict[str, Any]) -> str | None:
    """A property's value with the parameters at their defaults; None when it needs a deployed stack."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return str(parameters[value["Ref"]].get("Default", ""))
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, items = value["Fn::Join"]
        if isinstance(items, dict):  # !Join [",", !Ref SomeCommaDelimitedList]
            joined = _resolve(items, parameters)
            return None if joined is None else separator.join(joined.split(","))
        parts = [_resolve(item, parameters) for item in items]
        return None if None in parts else separator.join(str(part) for part in parts)
    return None
