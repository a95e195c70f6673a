"""The stack operates the API: a canary, one page per failure on an encrypted topic, and
least-privilege, encrypted, retained resources.

Read as one template (tests/infrastructure/stack.py): the operations live in nested applications
(operations/), and what each refers to is checked as the parent wires it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import pytest

from local_api.template import TEMPLATE_PATH, nested_templates
from scripts import deploy
from scripts.embed_canary import SCRIPT
from tests.conftest import REPO_ROOT
from tests.infrastructure.stack import STACK, evaluate

RESOURCES: dict[str, Any] = STACK["Resources"]
PARAMETERS: dict[str, Any] = STACK["Parameters"]
# The alarms CodeDeploy watches: they gate a deploy and page no one.
GATES = {alarm["Ref"] for alarm in RESOURCES["HealthFunction"]["Properties"]["DeploymentPreference"]["Alarms"]}
PAGE = [
    {"Ref": "AlarmTopic"},
    {"Fn::If": ["HasAlarmNotificationTopic", {"Ref": "AlarmNotificationTopicArn"}, {"Ref": "AWS::NoValue"}]},
]
ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")


def all_resources() -> dict[str, dict[str, Any]]:
    """Every resource, including those an `Fn::ForEach` loop stamps out (by their templated name)."""
    found: dict[str, dict[str, Any]] = {}
    for name, value in RESOURCES.items():
        if name.startswith("Fn::ForEach::"):
            _, _, fragment = value
            found.update(fragment)
        else:
            found[name] = value
    return found


def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in all_resources().items() if resource["Type"] == resource_type}


def properties(name: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[name]["Properties"]
    return props


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement in the template: role policies, resource policies, key policies."""
    for name, resource in all_resources().items():
        props = resource.get("Properties", {})
        documents = [props.get("PolicyDocument"), props.get("KeyPolicy"), props.get("AssumeRolePolicyDocument")]
        # IAM roles name their documents; SAM functions list the documents themselves.
        documents += [policy.get("PolicyDocument", policy) for policy in props.get("Policies", [])]
        for document in filter(None, documents):
            for statement in document["Statement"]:
                yield name, statement


# --- the canary ----------------------------------------------------------------------------


def test_the_canary_runs_the_committed_script_verbatim() -> None:
    code = properties("HealthCanary")["Code"]
    script = SCRIPT.read_text(encoding="utf-8")
    assert code["Script"] == script, "run `make canary` to embed canary/api_canary.py"
    function = code["Handler"].rsplit(".", 1)[1]  # the runtime saves the script as python/<module>.py
    assert function in {node.name for node in ast.parse(script).body if isinstance(node, ast.AsyncFunctionDef)}


def test_the_canary_checks_this_stacks_api_at_least_every_five_minutes() -> None:
    # The canary alarms count a run's result per 5-minute period: a slower schedule leaves periods empty.
    canary = properties("HealthCanary")
    api_url = canary["RunConfig"]["EnvironmentVariables"]["API_URL"]["Fn::Sub"]
    assert api_url + "/" == STACK["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    pattern = PARAMETERS[canary["Schedule"]["Expression"]["Ref"]]["AllowedPattern"]
    accepted = ["rate(1 minute)", "rate(2 minutes)", "rate(5 minutes)"]
    refused = ["rate(10 minutes)", "rate(1 hour)", "cron(0 * * * ? *)", "rate(0 minute)", "rate(1 minutes)"]
    assert [schedule for schedule in accepted + refused if re.fullmatch(pattern, schedule)] == accepted


def test_canary_artifacts_go_encrypted_to_a_private_tls_only_bucket_and_expire() -> None:
    canary = properties("HealthCanary")
    assert canary["ArtifactS3Location"] == {"Fn::Sub": "s3://${CanaryArtifactsBucket}/canary"}
    assert canary["ArtifactConfig"] == {"S3Encryption": {"EncryptionMode": "SSE_S3"}}
    retention = {"Ref": "CanaryArtifactRetentionDays"}
    assert canary["SuccessRetentionPeriod"] == canary["FailureRetentionPeriod"] == retention
    bucket = properties("CanaryArtifactsBucket")
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", retention)
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert list(bucket["PublicAccessBlockConfiguration"].values()) == [True] * 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [deny] = properties("CanaryArtifactsBucketPolicy")["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


# --- least privilege -----------------------------------------------------------------------


def test_the_canary_role_holds_only_what_the_synthetics_runtime_needs() -> None:
    role = properties("CanaryRole")
    assert "ManagedPolicyArns" not in role
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    granted: dict[str, Any] = {}
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                granted[action] = statement["Resource"]
    assert granted == {
        "s3:PutObject": {"Fn::Sub": "${CanaryArtifactsBucket.Arn}/canary/*"},
        "s3:GetObject": {"Fn::Sub": "${CanaryArtifactsBucket.Arn}/canary/*"},
        "s3:GetBucketLocation": {"Fn::GetAtt": ["CanaryArtifactsBucket", "Arn"]},
        "s3:ListAllMyBuckets": "*",
        "logs:CreateLogGroup": granted["logs:CreateLogGroup"],
        "logs:CreateLogStream": granted["logs:CreateLogGroup"],
        "logs:PutLogEvents": granted["logs:CreateLogGroup"],
        "cloudwatch:PutMetricData": "*",
        # The canary reads the readiness details signed with its role: that route, GET, this API only.
        "execute-api:Invoke": {
            "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}"
            "/$default/GET/api/v1/health/ready/details"
        },
    }
    assert granted["logs:CreateLogGroup"]["Fn::Sub"].endswith(":log-group:/aws/lambda/cwsyn-${CanaryName}-*")


def test_unscoped_resources_are_only_those_aws_cannot_scope() -> None:
    unscoped = {
        (name, action)
        for name, statement in statements()
        if statement["Effect"] == "Allow" and statement.get("Resource") == "*" and name != "AlarmTopicKey"
        for action in as_list(statement["Action"])
    }
    assert unscoped == {("CanaryRole", "s3:ListAllMyBuckets"), ("CanaryRole", "cloudwatch:PutMetricData")}
    [metrics] = [s for _, s in statements() if s.get("Action") == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}}


def test_no_statement_allows_a_wildcard_action_beyond_the_documented_one() -> None:
    allowed = [(name, s) for name, s in statements() if s["Effect"] == "Allow"]
    assert allowed
    wildcards = set()
    for name, statement in allowed:
        assert "NotAction" not in statement, name
        wildcards |= {(name, action) for action in as_list(statement["Action"]) if "*" in action}
    # As the SNS key-management docs write it for AWS services publishing to an encrypted topic.
    assert wildcards == {("AlarmTopicKey", "kms:GenerateDataKey*")}


# --- paging: one page per failure, none from a healthy stack -------------------------------


def test_only_the_composite_alarm_pages_and_it_pages_for_every_alarm_but_the_deploy_gate() -> None:
    # However many children one incident sets off, the composite changes state once, and says which.
    [pager] = [alarm["Properties"] for alarm in of_type("AWS::CloudWatch::CompositeAlarm").values()]
    assert {action: pager.get(action) for action in ACTIONS} == {
        "AlarmActions": PAGE,
        "OKActions": None,  # a recovery is no page
        "InsufficientDataActions": None,
    }
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert set(re.findall(r'ALARM\("\$\{(\w+)\}"\)', pager["AlarmRule"]["Fn::Sub"])) == set(alarms) - GATES
    assert {name for name, alarm in alarms.items() if {"AlarmActions", "OKActions"} & set(alarm["Properties"])} == set()


def test_a_canary_that_stops_reporting_pages_and_one_that_has_not_started_does_not() -> None:
    # Actions run on state changes: the alarm starts INSUFFICIENT_DATA and stays there until the
    # canary's first run; once it has reported, silence takes it back there, and that pages.
    alarms = of_type("AWS::CloudWatch::Alarm")
    [silent] = [alarm["Properties"] for alarm in alarms.values() if "InsufficientDataActions" in alarm["Properties"]]
    assert {"Name": "CanaryName", "Value": {"Ref": "HealthCanary"}} in silent["Dimensions"]
    assert (silent["TreatMissingData"], silent["InsufficientDataActions"]) == ("missing", PAGE)
    # Named after the canary: a renamed canary gets a new alarm, which starts INSUFFICIENT_DATA too.
    assert "${CanaryName}" in silent["AlarmName"]["Fn::Sub"]
    # A fresh stack has no data yet: an alarm that reads that as failing would page.
    assert [name for name, alarm in alarms.items() if alarm["Properties"]["TreatMissingData"] == "breaching"] == []


@pytest.mark.parametrize(("parameter", "protocol"), [("AlarmEmail", "email"), ("AlarmHttpsEndpoint", "https")])
def test_the_topic_gets_a_subscription_for_each_endpoint_given_and_only_then(parameter: str, protocol: str) -> None:
    [(name, subscription)] = [
        (name, resource)
        for name, resource in of_type("AWS::SNS::Subscription").items()
        if resource["Properties"]["Protocol"] == protocol
    ]
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": protocol,
        "Endpoint": {"Ref": parameter},
    }
    condition = STACK["Conditions"][subscription["Condition"]]
    assert evaluate(condition, {parameter: "on-call@example.com"}) is True, name
    assert evaluate(condition, {parameter: PARAMETERS[parameter]["Default"]}) is False, name


def test_the_stack_outputs_are_the_ones_pipelines_and_on_call_read() -> None:
    # docs/operations.md and `make deploy` name them; a pipeline reads them by name: renaming one breaks it.
    assert set(STACK["Outputs"]) == {
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
    page = (REPO_ROOT / "docs/operations.md").read_text(encoding="utf-8")
    rows = page.partition("| output |")[2].partition("\n\n")[0].splitlines()[2:]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented <= set(STACK["Outputs"])
    assert {"DashboardUrl", "AlarmTopicArn", "CanaryName"} <= documented


def test_each_metric_math_alarm_returns_one_expression_over_every_metric_it_fetches() -> None:
    for name, alarm in of_type("AWS::CloudWatch::Alarm").items():
        queries = alarm["Properties"].get("Metrics", [])
        if queries:
            [expression] = [query["Expression"] for query in queries if query.get("ReturnData", True)]
            fetched = {query["Id"] for query in queries if "MetricStat" in query}
            assert set(re.findall(r"\b[a-z]\w*\b", expression)) == fetched, name


def test_the_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use() -> None:
    assert properties("AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = properties("AlarmTopicKey")
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [
        s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    # The SNS key-management docs: AWS services publishing to an encrypted topic need both.
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    topic_policy = properties("AlarmTopicPolicy")["PolicyDocument"]["Statement"]
    [publish] = [s for s in topic_policy if s["Effect"] == "Allow"]
    assert (publish["Principal"], publish["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")


# --- logs, lint skips, environments --------------------------------------------------------


def test_every_function_logs_to_a_group_of_its_own_with_a_retention() -> None:
    # What WS1004 would check, had it known LoggingConfig.LogGroup (it is ignored for that).
    functions = of_type("AWS::Serverless::Function")
    groups = [function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for function in functions.values()]
    assert len(set(groups)) == len(functions)
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, name
    assert {RESOURCES[group]["Type"] for group in groups} == {"AWS::Logs::LogGroup"}


def test_every_lint_skip_says_why() -> None:
    skips = [
        (name, skip)
        for name, resource in all_resources().items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), name
        assert len(skip["comment"]) > 40, f"{name} skips {skip['id']} without saying why"
    for path in [TEMPLATE_PATH, *nested_templates().values()]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if re.fullmatch(r"\s+- (W|E|ES|WS)\d{4}", line):  # a cfn-lint ignore_checks entry
                assert lines[index - 1].strip().startswith("#"), f"{path.name}:{index + 1} ignores it unexplained"


def test_each_environment_names_its_own_canary() -> None:
    # Canary names are unique per account and region, and the liveness alarm is named after the canary.
    names = {deploy.samconfig_overrides(env)["CanaryName"] for env in ("dev", "prod")}
    assert all(re.fullmatch(PARAMETERS["CanaryName"]["AllowedPattern"], name) for name in names)
    assert len(names | {PARAMETERS["CanaryName"]["Default"]}) == 3
