"""Every deploy proves itself: CodeDeploy runs the pre-traffic hook, shifts the live alias gradually,
and rolls back on the alarms that mean "the new code is broken" — as the SAM transform generates it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import deploy
from tests.infrastructure.stack import composed
from tests.sam_transform import of_type, transformed

TEMPLATE = composed()  # the parent with its nested operations stacks inlined (tests/infrastructure/stack.py)
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
GATING_ALARMS = ["NewVersionErrorsAlarm", "CanaryLivenessFailedAlarm"]


@pytest.fixture(scope="module")
def cloudformation() -> dict[str, Any]:
    """The stack as prod deploys it."""
    return transformed(deploy.samconfig_overrides("prod"))


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][name]
    return found


def test_the_strategy_is_a_parameter_all_at_once_in_dev_and_a_canary_in_prod() -> None:
    strategy = PARAMETERS["DeploymentStrategy"]
    assert strategy["Default"] == "AllAtOnce"
    assert {"AllAtOnce", "Canary10Percent5Minutes", "Linear10PercentEvery1Minute"} <= set(strategy["AllowedValues"])
    assert deploy.samconfig_overrides("dev")["DeploymentStrategy"] == "AllAtOnce"
    assert deploy.samconfig_overrides("prod")["DeploymentStrategy"] == "Canary10Percent5Minutes"


def test_codedeploy_shifts_the_live_alias_with_the_chosen_strategy_and_rolls_back_on_the_gating_alarms(
    cloudformation: dict[str, Any],
) -> None:
    [application] = of_type(cloudformation, "AWS::CodeDeploy::Application").values()
    assert application["Properties"]["ComputePlatform"] == "Lambda"
    group = resource(cloudformation, "HealthFunctionDeploymentGroup")["Properties"]
    assert group["DeploymentConfigName"] == {
        "Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": "Canary10Percent5Minutes"}]
    }
    assert group["AlarmConfiguration"] == {
        "Enabled": True,
        "Alarms": [{"Name": {"Ref": name}} for name in GATING_ALARMS],
    }
    assert set(group["AutoRollbackConfiguration"]["Events"]) >= {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    [alias] = of_type(cloudformation, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live"
    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"] == {
        "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
        "DeploymentGroupName": {"Ref": "HealthFunctionDeploymentGroup"},
        "BeforeAllowTrafficHook": {"Ref": "PreTrafficHookFunction"},
    }


def test_the_new_versions_own_errors_gate_the_deploy(cloudformation: dict[str, Any]) -> None:
    props = resource(cloudformation, "NewVersionErrorsAlarm")["Properties"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    [version] = of_type(cloudformation, "AWS::Lambda::Version")
    assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == {
        "FunctionName": {"Ref": "HealthFunction"},
        "Resource": {"Fn::Sub": "${HealthFunction}:live"},
        "ExecutedVersion": {"Fn::GetAtt": [version, "Version"]},
    }
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    assert props["TreatMissingData"] == "notBreaching"


def test_the_canarys_liveness_step_gates_the_deploy_and_its_readiness_step_does_not() -> None:
    props = TEMPLATE["Resources"]["CanaryLivenessFailedAlarm"]["Properties"]
    # The canary's name through its parameter (a Ref to the canary would be a dependency cycle).
    assert TEMPLATE["Resources"]["HealthCanary"]["Properties"]["Name"] == {"Ref": "CanaryName"}
    assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == {
        "CanaryName": {"Ref": "CanaryName"},
        "Check": "liveness",
    }
    assert (props["MetricName"], props["ComparisonOperator"], props["Threshold"]) == (
        "CheckSuccessPercent",
        "LessThanThreshold",
        100,
    )
    assert props["TreatMissingData"] == "notBreaching"
    gating = TEMPLATE["Resources"]["HealthFunction"]["Properties"]["DeploymentPreference"]["Alarms"]
    # A dependency outage turns readiness to 503: these alarms would fire and must not roll back.
    assert {alarm["Ref"] for alarm in gating} == set(GATING_ALARMS)
    assert not {"Api5xxAlarm", "CanaryFailedAlarm", "ApiLatencyP99Alarm"} & {alarm["Ref"] for alarm in gating}


def test_the_canary_script_publishes_the_metric_the_gate_reads() -> None:
    # Its publishing runs through botocore's Stubber in tests/integration/test_canary.py; the names agree.
    script = TEMPLATE["Resources"]["HealthCanary"]["Properties"]["Code"]["Script"]
    props = TEMPLATE["Resources"]["CanaryLivenessFailedAlarm"]["Properties"]
    assert f'METRIC_NAMESPACE = "{props["Namespace"]}"' in script
    assert f'METRIC_NAME = "{props["MetricName"]}"' in script
    assert '"liveness": lambda: check_liveness(base_url)' in script
    assert "execute_step" not in script.split('"""', 2)[2]  # a UI-canary coroutine: see the script's docstring


def test_the_hook_is_a_python_313_arm64_function_named_for_the_codedeploy_role() -> None:
    props = TEMPLATE["Resources"]["PreTrafficHookFunction"]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "pre_traffic_hook.handler.lambda_handler"
    # AWSCodeDeployRoleForLambda may invoke only arn:aws:lambda:*:*:function:CodeDeployHook_*
    assert hook_name("petsage-health-dev").startswith("CodeDeployHook_")

    assert props["Timeout"] <= 900
    assert props["Environment"]["Variables"] == {
        "TARGET_VERSION_ARN": {"Ref": "HealthFunction.Version"},
        "GATE_ON_READINESS": {"Ref": "GateDeploysOnReadiness"},
    }
    assert PARAMETERS["GateDeploysOnReadiness"]["Default"] == "false"
    assert TEMPLATE["Resources"]["PreTrafficHookFunction"]["Metadata"]["BuildMethod"] == "makefile"


def hook_name(stack_name: str, stack_uuid: str = "51af3dc0-da77-11e4-872e-1234567db123") -> str:
    """The hook's FunctionName as CloudFormation resolves it for a stack of that name."""
    pseudo = {
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack_name}/{stack_uuid}",
    }

    def resolve(node: Any) -> Any:
        if isinstance(node, str | int):
            return node
        if isinstance(node, list):
            return [resolve(item) for item in node]
        [(function, argument)] = node.items()
        if function == "Ref":
            return pseudo[argument]
        if function == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m[1]], argument)
        if function == "Fn::Join":
            return resolve(argument[0]).join(resolve(argument[1]))
        if function == "Fn::Split":
            return resolve(argument[1]).split(resolve(argument[0]))
        if function == "Fn::Select":
            return resolve(argument[1])[int(argument[0])]
        raise AssertionError(f"unexpected {function} in the hook's name")

    name: str = resolve(TEMPLATE["Resources"]["PreTrafficHookFunction"]["Properties"]["FunctionName"])
    return name


@pytest.mark.parametrize("length", [18, 37, 38, 64, 128])
def test_the_hooks_name_fits_lambdas_64_characters_for_any_stack_name(length: int) -> None:
    # CloudFormation allows stack names of 128 characters (CreateStack); Lambda function names stop
    # at 64 (CreateFunction). The name was CodeDeployHook_<stack>-pre-traffic: 38 characters broke it.
    name = hook_name("p" * length)
    assert name.startswith("CodeDeployHook_")
    assert len(name) <= 64
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)


def test_two_stacks_get_two_hooks() -> None:
    # Function names are unique per account and region: dev and prod in one account must not clash.
    assert hook_name("petsage-health-dev", "1" * 36) != hook_name("petsage-health-prod", "2" * 36)


def test_the_hook_invokes_the_new_version_itself(cloudformation: dict[str, Any]) -> None:
    hook = resource(cloudformation, "PreTrafficHookFunction")["Properties"]
    [version] = of_type(cloudformation, "AWS::Lambda::Version")
    assert hook["Environment"]["Variables"]["TARGET_VERSION_ARN"] == {"Ref": version}  # the version, not the alias


def test_the_hook_may_invoke_only_this_stacks_health_function_and_report_only_to_its_deployment_group(
    cloudformation: dict[str, Any],
) -> None:
    role = resource(cloudformation, "PreTrafficHookFunctionRole")["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert {(s["Action"], str(s["Resource"])) for s in statements} == {
        ("lambda:InvokeFunction", str({"Fn::Sub": "${HealthFunction.Arn}:*"})),
        (
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            str(
                {
                    "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
                    "${ServerlessDeploymentApplication}/${HealthFunctionDeploymentGroup}"
                }
            ),
        ),
    }
    assert all(s["Effect"] == "Allow" for s in statements)


def test_codedeploy_uses_the_role_sam_generates_for_lambda_deployments(cloudformation: dict[str, Any]) -> None:
    role = resource(cloudformation, "CodeDeployServiceRole")["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"]
    group = resource(cloudformation, "HealthFunctionDeploymentGroup")["Properties"]
    assert group["ServiceRoleArn"] == {"Fn::GetAtt": ["CodeDeployServiceRole", "Arn"]}


def test_the_hook_logs_json_to_its_own_group_with_retention() -> None:
    props = TEMPLATE["Resources"]["PreTrafficHookFunction"]["Properties"]
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    group = TEMPLATE["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cloudformation_can_order_the_transformed_stack(env: str, tmp_path: Path) -> None:
    # The alias waits for its deployment group, the group names its alarms, and the API's body
    # names the alias: one reference back from that chain (an alarm naming the canary, which
    # names the API) is a "Circular dependency" that fails every create and update. cfn-lint
    # skips cycles through AWS::Serverless resources, so it reads the template SAM produces.
    template = tmp_path / "transformed.json"
    template.write_text(json.dumps(transformed(deploy.samconfig_overrides(env))), encoding="utf-8")
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", str(template)], capture_output=True, text=True, check=False
    )
    errors = [m for m in json.loads(result.stdout) if m["Level"] == "Error"]  # a crash prints no JSON: fails
    assert errors == [], [f"{m['Rule']['Id']}: {m['Message']}" for m in errors]
