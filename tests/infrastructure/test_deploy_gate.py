"""Every deploy proves itself, as the SAM transform makes template.yaml's DeploymentPreference.

CodeDeploy runs the pre-traffic hook (the new version, invoked directly), moves `live`, runs the
post-traffic hook (the public API, every request on the new version), and rolls back on either
hook's Failed or on the one alarm scoped to the new version, so that an outage of the old version
or of a dependency never blocks the deploy that fixes it. What the hooks check is tested with the
hooks (tests/hooks); here, what the stack lets them do and what gates.
"""

from __future__ import annotations

import json
import re
from typing import Any

import cfnlint.api
import pytest

from deploy_hooks import post_traffic, pre_traffic
from deploy_hooks.codedeploy import REPORT_WORST_CASE_SECONDS
from deploy_hooks.contract import CHECKS
from local_api.template import load_template
from scripts import deploy
from tests.infrastructure.stack import resolve
from tests.sam_transform import of_type, transformed

TEMPLATE = load_template()
PREFERENCE: dict[str, Any] = TEMPLATE["Resources"]["HealthFunction"]["Properties"]["DeploymentPreference"]
HOOKS: dict[str, str] = {hook: reference["Ref"] for hook, reference in PREFERENCE["Hooks"].items()}
ARN, REGION_ACCOUNT = "arn:${AWS::Partition}", "${AWS::Region}:${AWS::AccountId}"
# What each hook may do besides reporting its verdict: what its checks call, on this stack's resources.
GRANTS = {
    "PreTraffic": {("lambda:InvokeFunction", "${HealthFunction.Arn}:*")},  # the new version, whichever it is
    "PostTraffic": {
        ("cloudformation:DescribeStackResource", "AWS::StackId"),  # the API's id...
        ("apigateway:GET", f"{ARN}:apigateway:${{AWS::Region}}::/apis/*"),  # ...and its endpoint
        # The signed checks, on any API of the account: naming this stack's would close a cycle.
        *{
            ("execute-api:Invoke", f"{ARN}:execute-api:{REGION_ACCOUNT}:*/$default/{c.method}{c.path}")
            for c in CHECKS
            if c.signed
        },
    },
}
REPORT = (
    "codedeploy:PutLifecycleEventHookExecutionStatus",
    f"{ARN}:codedeploy:{REGION_ACCOUNT}:deploymentgroup:"
    "${ServerlessDeploymentApplication}/${HealthFunctionDeploymentGroup}",
)


def test_cloudformation_can_order_the_stack(prod_stack: dict[str, Any]) -> None:
    # `live` waits for its deployment group and names both hooks; the API's routes name `live`. A
    # hook naming the API (its URL in the post-traffic hook's environment) would close a "Circular
    # dependency" that fails every create and update. cfn-lint skips cycles through
    # AWS::Serverless resources, so it reads the template SAM produces.
    errors = [match for match in cfnlint.api.lint(json.dumps(prod_stack)) if match.rule.id.startswith("E")]
    assert errors == [], [f"{match.rule.id}: {match.message}" for match in errors]


def test_codedeploy_moves_live_between_the_hooks_and_rolls_back_on_the_new_versions_faults_alone(
    prod_stack: dict[str, Any],
) -> None:
    [alias] = of_type(prod_stack, "AWS::Lambda::Alias").values()
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["BeforeAllowTrafficHook"] == {"Ref": HOOKS["PreTraffic"]}
    assert update["AfterAllowTrafficHook"] == {"Ref": HOOKS["PostTraffic"]}
    group = prod_stack["Resources"][update["DeploymentGroupName"]["Ref"]]["Properties"]
    assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": {"Ref": "NewVersionFaultsAlarm"}}]}
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(group["AutoRollbackConfiguration"]["Events"])


def test_the_gating_alarm_counts_only_the_new_versions_faults_and_notifies_no_one() -> None:
    # Which series are the function's faults is test_dashboard's (the version's own EMF, Lambda's
    # documented ExecutedVersion); here, that every one of them is the new version's.
    [gate] = [TEMPLATE["Resources"][alarm["Ref"]]["Properties"] for alarm in PREFERENCE["Alarms"]]
    new_version = {"Fn::GetAtt": ["HealthFunction", "Version.Version"]}
    fetched = [query["MetricStat"]["Metric"] for query in gate["Metrics"] if "MetricStat" in query]
    assert fetched
    for metric in fetched:
        assert new_version in [dimension["Value"] for dimension in metric["Dimensions"]], metric["MetricName"]
    assert not {"AlarmActions", "OKActions", "InsufficientDataActions"} & set(gate)  # the composite alarm pages


def hook_name(hook: str, stack_name: str, stack_uuid: str = "51af3dc0-da77-11e4-872e-1234567db123") -> str:
    """The hook's FunctionName as CloudFormation resolves it for a stack of that name."""
    stack_id = f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack_name}/{stack_uuid}"
    name: str = resolve(TEMPLATE["Resources"][HOOKS[hook]]["Properties"]["FunctionName"], {"AWS::StackId": stack_id})
    return name


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_each_hook_is_named_for_codedeploys_role_and_fits_lambda_for_any_stack_name(hook: str) -> None:
    # SAM's CodeDeploy role (AWSCodeDeployRoleForLambda) may invoke only CodeDeployHook_* functions.
    # Stack names run to 128 characters (CreateStack), Lambda function names to 64 (CreateFunction).
    for length in (1, 128):
        name = hook_name(hook, "p" * length)
        assert re.fullmatch(r"CodeDeployHook_[A-Za-z0-9_-]+", name)
        assert len(name) <= 64
    # Function names are unique per account and region: dev and prod must not clash.
    assert hook_name(hook, "petsage-health-dev", "1" * 36) != hook_name(hook, "petsage-health-prod", "2" * 36)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_each_hook_may_call_only_what_its_checks_need_and_report_to_its_own_deployment_group(
    hook: str, prod_stack: dict[str, Any]
) -> None:
    role = prod_stack["Resources"][f"{HOOKS[hook]}Role"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert all(s["Effect"] == "Allow" for s in statements)
    granted = {(s["Action"], s["Resource"].get("Ref") or s["Resource"]["Fn::Sub"]) for s in statements}
    assert granted == {*GRANTS[hook], REPORT}


def test_the_hooks_find_the_new_version_and_the_api_without_naming_the_api(prod_stack: dict[str, Any]) -> None:
    resources = prod_stack["Resources"]
    [version] = of_type(prod_stack, "AWS::Lambda::Version")
    pre = resources[HOOKS["PreTraffic"]]["Properties"]["Environment"]["Variables"]
    assert pre == {pre_traffic.TARGET_VERSION_ARN: {"Ref": version}}  # the version itself, never `live`
    post = resources[HOOKS["PostTraffic"]]["Properties"]["Environment"]["Variables"]
    assert post == {post_traffic.STACK_ID: {"Ref": "AWS::StackId"}}  # nothing that names the API
    assert resources[post_traffic.API_LOGICAL_ID]["Type"] == "AWS::ApiGatewayV2::Api"  # what it looks up there


def test_a_new_fingerprint_publishes_a_new_version_and_the_superseded_one_is_deleted() -> None:
    # `make deploy` passes VersionFingerprint (test_deploy_safety: what changes it); SAM names the
    # version after it (AutoPublishCodeSha256), and a new name is a new version behind `live`.
    versions = []
    for stack in transformed({"VersionFingerprint": "a" * 64}, {"VersionFingerprint": "b" * 64}):
        [(name, version)] = of_type(stack, "AWS::Lambda::Version").items()
        [alias] = of_type(stack, "AWS::Lambda::Alias").values()
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [name, "Version"]}
        assert version["DeletionPolicy"] == "Delete"  # once the deploy completes; versions count against storage
        versions.append(name)
    assert versions[0] != versions[1]


@pytest.mark.parametrize(
    ("hook", "longest_answer_seconds"),
    [("PreTraffic", pre_traffic.INVOKE_WORST_CASE_SECONDS), ("PostTraffic", post_traffic.ANSWER_WORST_CASE_SECONDS)],
)
def test_each_hooks_timeout_leaves_a_check_at_its_longest_and_the_report_their_time(
    hook: str, longest_answer_seconds: float
) -> None:
    # A hook that times out reports nothing, and CodeDeploy then waits an hour before it fails the
    # deployment; a hook short of time reports Failed instead (tests/hooks).
    timeout = TEMPLATE["Resources"][HOOKS[hook]]["Properties"]["Timeout"]
    assert timeout >= longest_answer_seconds + REPORT_WORST_CASE_SECONDS


def test_dev_deploys_all_at_once_and_prod_shifts_ten_percent_for_five_minutes_first() -> None:
    assert PREFERENCE["Type"] == {"Ref": "DeploymentStrategy"}
    strategies = {env: deploy.samconfig_overrides(env)["DeploymentStrategy"] for env in ("dev", "prod")}
    assert strategies == {"dev": "AllAtOnce", "prod": "Canary10Percent5Minutes"}
