"""MiniStack on loopback, for `make rehearse`: a local CloudFormation that `sam deploy` can target.

Runs in its own hash-locked environment (.tools/ministack, tools/requirements-ministack.txt) with
nothing of the repository's on its path. MiniStack 1.5.33 has no provisioner for CodeDeploy or
Synthetics and refuses a template that declares them. This launcher registers a placeholder for
each such type before MiniStack starts: the placeholder creates nothing, and appends the type,
logical ID and the properties as CloudFormation resolved them to a JSON-lines file, so the
rehearsal can say what it skipped and still check what the template handed those resources.
Every listener binds 127.0.0.1 (its IoT MQTT and SFTP listeners, which would take 0.0.0.0, are off).

One correction, so that the rehearsal exercises what real CloudFormation does: MiniStack calls the
SAM translator with no parameter values, so SAM resolves `!Ref` in the properties it reads itself
(AutoPublishCodeSha256, DeploymentPreference Type) to the parameters' defaults, and a deploy's
VersionFingerprint or DeploymentStrategy would never reach the transformed template. CloudFormation
hands a transform the stack's parameter values ("templateParameterValues", AWS CloudFormation user
guide, "Perform custom processing on CloudFormation templates with template macros"); the
launcher passes the values MiniStack resolved for its AWS::LanguageExtensions step on to SAM.

A second, for the operations stacks (nested applications): MiniStack updates a nested stack's
resources without handing its update function their previous attributes, so every unchanged
child resource comes back with none, and the next `Fn::GetAtt` on it fails the parent's update
(UPDATE_ROLLBACK_FAILED). Its top-level update path passes them; the launcher makes the nested
path pass the ones MiniStack stored for that resource.

And a stricter rule, for updates that move named resources (the operations into nested stacks):
CloudFormation creates a resource before it deletes the one it replaces, and a name that is still
taken fails the create ("Name type": "If you specify a name, you cannot perform updates that
require replacement of this resource"; AWS CloudFormation user guide). MiniStack's dashboard
silently overwrites, and a placeholder would accept anything; here a canary or a dashboard whose
name is taken is refused, as Synthetics and CloudWatch refuse it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

# What MiniStack cannot provision: accepted, recorded, not created.
NOT_EMULATED = (
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::Synthetics::Canary",
)


def placeholder(resource_type: str, record: Path) -> dict[str, Any]:
    """A MiniStack resource handler that only writes down what it was asked to create."""
    taken: set[str] = set()  # the names of this type that exist, as the service would know them

    def note(action: str, logical_id: str, physical_id: str, props: dict[str, Any]) -> None:
        line = {
            "action": action,
            "type": resource_type,
            "logicalId": logical_id,
            "physicalId": physical_id,
            "properties": props,
        }
        with record.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")

    def create(logical_id: str, props: dict[str, Any], stack_name: str) -> tuple[str, dict[str, Any]]:
        # What Ref returns on AWS: the canary's name, the application's or group's name.
        name = props.get(
            {
                "AWS::Synthetics::Canary": "Name",
                "AWS::CodeDeploy::Application": "ApplicationName",
                "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
            }[resource_type]
        )
        physical_id = str(name or f"{stack_name}-{logical_id}")
        if physical_id in taken:
            raise ValueError(f"{resource_type} {physical_id} already exists")
        taken.add(physical_id)
        note("create", logical_id, physical_id, props)
        return physical_id, {}

    def update(
        physical_id: str, old: dict[str, Any], new: dict[str, Any], stack_name: str
    ) -> tuple[str, dict[str, Any]]:
        note("update", "", physical_id, new)
        return physical_id, {}

    def delete(physical_id: str, props: dict[str, Any]) -> None:
        taken.discard(physical_id)
        note("delete", "", physical_id, props)

    return {"create": create, "update": update, "delete": delete}


def pass_parameter_values_to_sam() -> None:
    """SAM gets the parameter values the same operation's AWS::LanguageExtensions step got."""
    import samtranslator.translator.transform as sam
    from ministack.services.cloudformation import language_extensions

    current = threading.local()
    expand, translate = language_extensions.apply, sam.transform

    def apply(template: dict[str, Any], parameters: dict[str, Any]) -> Any:
        current.parameters = dict(parameters)
        return expand(template, parameters)

    def transform(template: dict[str, Any], parameter_values: dict[str, Any], *rest: Any, **named: Any) -> Any:
        values = {**getattr(current, "parameters", {}), **(parameter_values or {})}
        return translate(template, values, *rest, **named)

    language_extensions.apply = apply
    sam.transform = transform


def keep_nested_resource_attributes() -> None:
    """A nested stack's update hands each resource its stored attributes, as a top-level update does."""
    from ministack.services.cloudformation import _stacks, provisioners

    update = provisioners._update_resource  # the top-level path bound its own reference at import

    def update_resource(
        resource_type: str,
        physical_id: str,
        old: dict[str, Any],
        new: dict[str, Any],
        stack_name: str,
        logical_id: str | None = None,
        old_attrs: dict[str, Any] | None = None,
    ) -> Any:
        if old_attrs is None and logical_id:
            stored = (_stacks.get(stack_name) or {}).get("_resources", {}).get(logical_id) or {}
            old_attrs = stored.get("Attributes")
        return update(resource_type, physical_id, old, new, stack_name, logical_id, old_attrs)

    provisioners._update_resource = update_resource


def refuse_taken_dashboard_names() -> None:
    """A dashboard resource whose name another dashboard holds fails its create, as on AWS."""
    import ministack.services.cloudwatch as cloudwatch
    from ministack.services.cloudformation import provisioners

    handlers = provisioners._RESOURCE_HANDLERS["AWS::CloudWatch::Dashboard"]
    create = handlers["create"]

    def create_unless_taken(logical_id: str, props: dict[str, Any], stack_name: str) -> Any:
        name = props.get("DashboardName")
        if name and name in cloudwatch._dashboards:
            raise ValueError(f"AWS::CloudWatch::Dashboard {name} already exists")
        return create(logical_id, props, stack_name)

    handlers["create"] = create_unless_taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--record", type=Path, required=True, help="JSON lines: what the placeholders were given")
    parser.add_argument("--state-dir", type=Path, required=True, help="where MiniStack keeps its files")
    args = parser.parse_args()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(args.port),
            "MINISTACK_HOST": "127.0.0.1",
            "MINISTACK_REGION": args.region,
            "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0",
            "S3_PERSIST": "0",
            "S3_DATA_DIR": str(args.state_dir / "s3"),
            "TMPDIR": str(args.state_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    from ministack.services.cloudformation import provisioners  # after the environment: it reads it at import

    for resource_type in NOT_EMULATED:
        provisioners._RESOURCE_HANDLERS[resource_type] = placeholder(resource_type, args.record)
    pass_parameter_values_to_sam()
    keep_nested_resource_attributes()
    refuse_taken_dashboard_names()
    from ministack.app import main as serve

    sys.argv = [sys.argv[0]]
    serve()


if __name__ == "__main__":
    main()
