"""template.yaml reads as a newcomer needs it: shared settings once, parameters grouped, the
operations in nested applications, and the deploy gate beside the function it gates."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest

from local_api.template import APPLICATION, load_template, nested_templates
from tests.conftest import REPO_ROOT
from tests.infrastructure.stack import STACK_PSEUDO_PARAMETERS, composed

PARENT = load_template()
RESOURCES: dict[str, Any] = PARENT["Resources"]
FUNCTIONS = {
    name: r for name, r in RESOURCES.items() if isinstance(r, dict) and r["Type"] == "AWS::Serverless::Function"
}
# What operates the API without gating its deploys: in the nested applications, not the parent.
OPERATIONS = {
    "AWS::Synthetics::Canary",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::IAM::Role",
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Dashboard",
}
# The outputs the stack had before its operations moved into nested stacks: `make deploy` prints
# them and on-call reads them, so none is renamed or lost.
OUTPUTS = {
    "ApiUrl",
    "HealthUrl",
    "ReadinessUrl",
    "HealthFunctionArn",
    "CanaryName",
    "CanaryArtifactsBucketName",
    "AlarmTopicArn",
    "DeploymentApplication",
    "DeploymentGroup",
    "DashboardUrl",
}


def test_what_both_functions_share_is_said_once_in_globals() -> None:
    shared = PARENT["Globals"]["Function"]
    assert shared["Runtime"] == "python3.13"
    assert shared["Architectures"] == ["arm64"]
    assert shared["Tracing"] == "Active"
    assert shared["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
    assert set(FUNCTIONS) == {"HealthFunction", "PreTrafficHookFunction"}
    for name, function in FUNCTIONS.items():
        properties = function["Properties"]
        # A list here would be appended to Globals' (arm64 twice); anything else would hide it.
        assert not {"Runtime", "Architectures", "Tracing"} & set(properties), name
        assert set(properties["LoggingConfig"]) == {"LogGroup"}, name


def test_every_parameter_is_in_exactly_one_console_group() -> None:
    groups = PARENT["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert all(group["Label"]["default"] for group in groups)
    assert sorted(grouped) == sorted(PARENT["Parameters"])
    assert len(grouped) == len(set(grouped))


def test_the_operations_live_in_nested_applications() -> None:
    assert {name: path.relative_to(REPO_ROOT).as_posix() for name, path in nested_templates().items()} == {
        "AlarmTopicStack": "operations/alarm-topic.yaml",
        "MonitoringStack": "operations/monitoring.yaml",
    }
    assert {r["Type"] for r in RESOURCES.values() if isinstance(r, dict)} & OPERATIONS == set()
    nested = {r["Type"] for r in composed()["Resources"].values() if isinstance(r, dict)}
    assert nested >= OPERATIONS


def test_the_alarms_that_gate_deploys_stay_beside_the_deployment_preference_that_names_them() -> None:
    preference = RESOURCES["HealthFunction"]["Properties"]["DeploymentPreference"]
    gates = {alarm["Ref"] for alarm in preference["Alarms"]}
    assert gates == {"NewVersionErrorsAlarm", "CanaryLivenessFailedAlarm"}
    alarms = {name for name, r in RESOURCES.items() if isinstance(r, dict) and r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == gates  # the paging alarms are the monitoring stack's
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHookFunction"}}


@pytest.mark.parametrize("name", sorted(nested_templates()))
def test_each_nested_template_is_plain_cloudformation_given_every_value_it_declares(name: str) -> None:
    child = load_template(nested_templates()[name])
    # No transform: CloudFormation runs none in a nested stack unless told to, and the rehearsal's
    # emulator runs none at all (docs/deploying.md).
    assert "Transform" not in child
    passed = RESOURCES[name]["Properties"].get("Parameters", {})
    assert set(passed) == set(child["Parameters"])
    assert all("Default" not in parameter for parameter in child["Parameters"].values()), "the parent decides"


def test_the_stack_outputs_are_the_ones_it_always_had() -> None:
    assert set(PARENT["Outputs"]) == OUTPUTS
    # Those that come from a nested stack are that stack's output of the same name.
    for name, output in PARENT["Outputs"].items():
        value = output["Value"]
        if (
            isinstance(value, dict)
            and "Fn::GetAtt" in value
            and RESOURCES[value["Fn::GetAtt"][0]]["Type"] == APPLICATION
        ):
            _, attribute = value["Fn::GetAtt"]
            # The topic's stack calls it TopicArn: it knows no other topic.
            assert attribute == ("Outputs.TopicArn" if name == "AlarmTopicArn" else f"Outputs.{name}"), name


def test_every_environment_deploys_nested_applications() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("default", "dev", "prod"):
        assert "CAPABILITY_AUTO_EXPAND" in config[env]["deploy"]["parameters"]["capabilities"].split()


def test_nested_stacks_name_the_deployment_by_the_parents_name_never_their_own() -> None:
    # A nested stack's AWS::StackName is its own generated name ("<parent>-MonitoringStack-<id>"):
    # the dashboard's name and the `deployment` dimension must be the parent's, passed in.
    inlined = json.dumps(composed(), default=str)
    for name in nested_templates():
        for pseudo in STACK_PSEUDO_PARAMETERS:
            assert f"{name}.{pseudo}" not in inlined
