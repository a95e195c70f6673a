"""The whole stack as one template: template.yaml with its nested operations applications inlined.

The parent hands each nested application its values as Parameters, and reads its Outputs with
`Fn::GetAtt <Application>.Outputs.<Name>`. Inlining follows that wiring: in each child, a `Ref`
to a parameter (or `${Parameter}` in an `Fn::Sub`) becomes what the parent passed for it, and in
the parent a `GetAtt` of a child's output becomes the child's own expression for it. The result
reads as if every resource were declared in one template, so the tests that check what refers to
what (alarms to the topic, the dashboard to the function, the canary to the API) say it once,
whichever stack a resource lives in. Each function also gets Globals.Function merged in, as the
SAM transform merges it.

A child's own pseudo parameters are not the parent's: `AWS::StackName` in a nested stack is that
stack's generated name. Inlined, they read `<Application>.AWS::StackName`, so no test mistakes
them for the parent's (the child is handed the parent's name as a parameter where it needs it):
`resolve` knows no value for them.

`DEPLOYED` is what the names resolve to in one deployed stack (prod's parameter values), for the
tests that follow a value from where it is set to where it is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local_api.template import APPLICATION, TEMPLATE_PATH, load_template, with_globals
from scripts import deploy

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:]+)(\.[A-Za-z0-9_.]+)?\}")
# Pseudo parameters whose value differs between a nested stack and its parent.
STACK_PSEUDO_PARAMETERS = ("AWS::StackName", "AWS::StackId")


def composed(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The parent's Parameters, Conditions, Resources and Outputs, with every nested application
    replaced by its resources (and conditions) wired as the parent wires them."""
    parent = load_template(path)
    resources: dict[str, Any] = {}
    conditions: dict[str, Any] = dict(parent.get("Conditions", {}))
    outputs: dict[str, dict[str, Any]] = {}  # application -> output name -> its expression
    function_globals = parent.get("Globals", {}).get("Function", {})
    for name, resource in parent["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function":
            resource = {**resource, "Properties": with_globals(function_globals, resource["Properties"])}
        if not (isinstance(resource, dict) and resource.get("Type") == APPLICATION):
            resources[name] = resource
            continue
        child = load_template(path.parent / resource["Properties"]["Location"])
        passed = resource["Properties"].get("Parameters", {})
        missing = set(child.get("Parameters", {})) - set(passed)
        assert not missing, f"{name}: the parent passes no value for {sorted(missing)}"
        passed = {**passed, **{pseudo: {"Ref": f"{name}.{pseudo}"} for pseudo in STACK_PSEUDO_PARAMETERS}}
        for section, target in (("Resources", resources), ("Conditions", conditions)):
            for key, value in child.get(section, {}).items():
                bound = _bind(value, passed)
                # A condition may be declared in both, the same once bound (HasAlarmNotificationTopic).
                assert target.get(key, bound) == bound, f"{name}: {key} means something else in the parent"
                target[key] = bound
        outputs[name] = {key: _bind(output["Value"], passed) for key, output in child.get("Outputs", {}).items()}
    # A child may be handed another child's output (the topic's ARN): resolve until none is left.
    resolved = _outputs(resources, outputs)
    while (again := _outputs(resolved, outputs)) != resolved:
        resolved = again
    return {
        "Parameters": parent.get("Parameters", {}),
        "Conditions": _outputs(conditions, outputs),
        "Resources": resolved,
        "Outputs": _outputs(parent.get("Outputs", {}), outputs),
    }


def resolve(node: Any, values: Mapping[str, Any]) -> Any:
    """An expression's value in a deployed stack, where each `Ref X`, `GetAtt X.Attribute` and
    `${...}` of an `Fn::Sub` is `values[...]`: a name missing from `values` (another stack's
    pseudo parameter, a resource this stack does not have) fails the test that asked."""
    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return values[node["Ref"]]
    if set(node) == {"Fn::GetAtt"}:
        return values[".".join(node["Fn::GetAtt"])]
    if set(node) == {"Fn::Sub"}:
        return re.sub(r"\$\{(?!!)([^}]+)\}", lambda match: str(values[match[1]]), node["Fn::Sub"])
    if set(node) == {"Fn::Join"}:
        separator, items = node["Fn::Join"]
        return separator.join(str(item) for item in resolve(items, values))
    if set(node) == {"Fn::Split"}:
        separator, text = node["Fn::Split"]
        return str(resolve(text, values)).split(separator)
    if set(node) == {"Fn::Select"}:
        index, items = node["Fn::Select"]
        return resolve(items, values)[int(index)]
    return {key: resolve(value, values) for key, value in node.items()}


def evaluate(condition: Any, values: Mapping[str, Any]) -> Any:
    """A condition, or a rule's assertion, as CloudFormation evaluates it with these values."""
    if isinstance(condition, dict) and len(condition) == 1:
        [(function, argument)] = condition.items()
        if function in _LOGIC:
            return _LOGIC[function]([evaluate(operand, values) for operand in argument])
    return resolve(condition, values)


_LOGIC: dict[str, Callable[[list[Any]], bool]] = {
    "Fn::Equals": lambda operands: bool(operands[0] == operands[1]),
    "Fn::Not": lambda operands: not operands[0],
    "Fn::And": all,
    "Fn::Or": any,
}


def _bind(node: Any, passed: dict[str, Any]) -> Any:
    """A child's fragment with its parameters replaced by what the parent passed for them."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in passed:
            return passed[node["Ref"]]
        if set(node) == {"Fn::Sub"}:
            return {"Fn::Sub": _bind_sub(node["Fn::Sub"], passed)}
        return {key: _bind(value, passed) for key, value in node.items()}
    if isinstance(node, list):
        return [_bind(item, passed) for item in node]
    return node


def _bind_sub(sub: Any, passed: dict[str, Any]) -> Any:
    if isinstance(sub, list):
        text, variables = sub
        return [_bind_sub(text, {k: v for k, v in passed.items() if k not in variables}), _bind(variables, passed)]

    def placeholder(match: re.Match[str]) -> str:
        value = passed.get(match[1])
        if value is None or match[2]:
            return match[0]
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return "${" + str(value["Ref"]) + "}"
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        raise AssertionError(f"${{{match[1]}}} is passed {value!r}, which an Fn::Sub cannot name")

    return _PLACEHOLDER.sub(placeholder, sub)


def _outputs(node: Any, outputs: dict[str, dict[str, Any]]) -> Any:
    """`GetAtt <Application>.Outputs.<Name>` replaced by the child's expression for that output."""
    if isinstance(node, dict):
        if set(node) == {"Fn::GetAtt"}:
            resource, attribute = node["Fn::GetAtt"]
            if resource in outputs:
                output = attribute.removeprefix("Outputs.")
                assert output in outputs[resource], f"{resource} has no output {output}"
                return outputs[resource][output]
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            for resource in outputs:
                assert f"${{{resource}.Outputs." not in node["Fn::Sub"], f"an Fn::Sub names {resource}'s outputs"
        return {key: _outputs(value, outputs) for key, value in node.items()}
    if isinstance(node, list):
        return [_outputs(item, outputs) for item in node]
    return node


STACK = composed()
REGION = "eu-west-1"


def _deployed() -> dict[str, Any]:
    """What the stack's names resolve to once deployed: prod's parameter values (with readiness
    checking one table), the pseudo parameters, and what CloudFormation names the resources."""
    values = deploy.effective_parameters(STACK, {**deploy.samconfig_overrides("prod"), "HealthDynamoDbTables": "pets"})
    parameters: dict[str, Any] = {
        name: value.split(",") if STACK["Parameters"][name]["Type"] == "CommaDelimitedList" else value
        for name, value in values.items()
    }
    deployed = {
        **parameters,
        "AWS::StackName": "petsage-health-prod",
        "AWS::Region": REGION,
        "HealthFunction": "petsage-health-prod-HealthFunction-Ab12Cd34Ef56",
        "HealthFunction.Version.Version": "7",  # the version being deployed
        "HttpApi": "a1b2c3d4e5",
    }
    resources = STACK["Resources"]
    alarms = {"AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"}
    deployed |= {
        f"{name}.Arn": f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"
        for name, resource in resources.items()
        if isinstance(resource, dict) and resource["Type"] in alarms
    }
    # Resources whose Ref is the name the template gives them.
    named = {"HealthCanary": "Name", "HealthFunctionLogGroup": "LogGroupName", "HttpApiAccessLogGroup": "LogGroupName"}
    return deployed | {name: resolve(resources[name]["Properties"][key], deployed) for name, key in named.items()}


DEPLOYED = _deployed()
_DASHBOARD = STACK["Resources"]["HealthDashboard"]["Properties"]


def dashboard() -> dict[str, Any]:
    """The dashboard's body as CloudWatch receives it from the deployed stack."""
    body: dict[str, Any] = json.loads(resolve(_DASHBOARD["DashboardBody"], DEPLOYED))
    return body
