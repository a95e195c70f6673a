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
them for the parent's (the child is handed the parent's name as a parameter where it needs it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from local_api.template import APPLICATION, TEMPLATE_PATH, load_template, with_globals

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
