"""The stack operates the API: a canary, alarms on one encrypted topic, and hardened resources.

Read as one template (tests/infrastructure/stack.py): the operations live in nested applications
(operations/), and what each refers to is checked as the parent wires it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from local_api.template import TEMPLATE_PATH, nested_templates
from scripts.embed_canary import SCRIPT, embed
from scripts.embed_canary import TEMPLATE as CANARY_TEMPLATE
from tests.conftest import REPO_ROOT
from tests.infrastructure.stack import composed

TEMPLATE = composed()
TEMPLATE_FILES = [TEMPLATE_PATH, *nested_templates().values()]
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]


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
    assert code["Handler"] == "api_canary.handler"  # the runtime saves the script as python/api_canary.py
    assert code["Script"] == SCRIPT.read_text(encoding="utf-8"), "run `make canary` to embed the script"


def test_embedding_the_script_again_changes_nothing() -> None:
    text = CANARY_TEMPLATE.read_text(encoding="utf-8")
    assert embed(text, SCRIPT.read_text(encoding="utf-8")) == text


def test_the_canary_uses_a_current_python_runtime() -> None:
    runtime = properties("HealthCanary")["RuntimeVersion"]
    match = re.fullmatch(r"syn-python-selenium-(\d+)\.(\d+)", runtime)
    assert match, runtime
    assert (int(match[1]), int(match[2])) > (5, 1), "syn-python-selenium-5.1 and older are deprecated"


def test_the_canary_checks_this_stacks_api_on_a_parameterised_schedule() -> None:
    canary = properties("HealthCanary")
    assert canary["Schedule"] == {"Expression": {"Ref": "CanarySchedule"}, "DurationInSeconds": "0"}
    assert PARAMETERS["CanarySchedule"]["Default"] == "rate(5 minutes)"
    api_url = canary["RunConfig"]["EnvironmentVariables"]["API_URL"]["Fn::Sub"]
    assert api_url + "/" == TEMPLATE["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert canary["RunConfig"]["TimeoutInSeconds"] <= 60  # within the shortest allowed schedule
    assert canary["StartCanaryAfterCreation"] is True
    # The dimension of the metric the deploy gate reads (canary/api_canary.py publishes it).
    assert canary["RunConfig"]["EnvironmentVariables"]["CANARY_NAME"] == {"Ref": "CanaryName"}
    assert canary["Name"] == {"Ref": "CanaryName"}


@pytest.mark.parametrize("schedule", ["rate(1 minute)", "rate(2 minutes)", "rate(5 minutes)"])
def test_the_schedule_parameter_accepts_what_the_failure_alarm_can_follow(schedule: str) -> None:
    assert re.fullmatch(PARAMETERS["CanarySchedule"]["AllowedPattern"], schedule)


@pytest.mark.parametrize(
    "schedule",
    # Synthetics refuses the plural/singular mix-ups; the others leave 5-minute periods without data.
    ["rate(10 minutes)", "rate(1 hour)", "cron(0 * * * ? *)", "rate(0 minute)", "rate(1 minutes)", "rate(5 minute)"],
)
def test_the_schedule_parameter_refuses_what_would_leave_the_alarm_without_data(schedule: str) -> None:
    assert not re.fullmatch(PARAMETERS["CanarySchedule"]["AllowedPattern"], schedule)


def test_canary_artifacts_go_encrypted_to_the_stacks_bucket_and_expire() -> None:
    canary = properties("HealthCanary")
    assert canary["ArtifactS3Location"] == {"Fn::Sub": "s3://${CanaryArtifactsBucket}/canary"}
    assert canary["ArtifactConfig"] == {"S3Encryption": {"EncryptionMode": "SSE_S3"}}
    retention = {"Ref": "CanaryArtifactRetentionDays"}
    assert canary["SuccessRetentionPeriod"] == canary["FailureRetentionPeriod"] == retention
    assert canary["ProvisionedResourceCleanup"] == "AUTOMATIC"
    [rule] = properties("CanaryArtifactsBucket")["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == retention


def test_the_artifacts_bucket_is_encrypted_private_and_tls_only() -> None:
    bucket = properties("CanaryArtifactsBucket")
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [deny] = properties("CanaryArtifactsBucketPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


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


# The one wildcard action, as the SNS key-management docs write it for AWS services publishing to
# a topic encrypted with a customer managed key (GenerateDataKey and GenerateDataKeyWithoutPlaintext).
DOCUMENTED_WILDCARDS = {("AlarmTopicKey", "kms:GenerateDataKey*")}


def test_no_statement_allows_a_wildcard_action_beyond_the_documented_one() -> None:
    allowed = [(name, s) for name, s in statements() if s["Effect"] == "Allow"]
    assert allowed
    wildcards = set()
    for name, statement in allowed:
        assert "NotAction" not in statement, name
        wildcards |= {(name, action) for action in as_list(statement["Action"]) if "*" in action}
    assert wildcards == DOCUMENTED_WILDCARDS


# --- alarms --------------------------------------------------------------------------------

EXPECTED_ALARMS = {
    # alarm: (namespace, metric, statistic, the dimensions that tie it to this stack)
    "CanaryFailedAlarm": ("CloudWatchSynthetics", "SuccessPercent", "Average", {"CanaryName": {"Ref": "HealthCanary"}}),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", "Sum", {"FunctionName": {"Ref": "HealthFunction"}}),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", "Sum", {"FunctionName": {"Ref": "HealthFunction"}}),
    "Api5xxAlarm": ("AWS/ApiGateway", "5xx", "Sum", {"ApiId": {"Ref": "HttpApi"}}),
    "ApiLatencyP99Alarm": ("AWS/ApiGateway", "Latency", "p99", {"ApiId": {"Ref": "HttpApi"}}),
    # The deploy gates (tests/infrastructure/test_deploy_gate.py)
    "NewVersionErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        "Sum",
        {
            "FunctionName": {"Ref": "HealthFunction"},
            "Resource": {"Fn::Sub": "${HealthFunction}:live"},
            "ExecutedVersion": {"Fn::GetAtt": ["HealthFunction", "Version.Version"]},
        },
    ),
    "CanaryLivenessFailedAlarm": (
        "CloudWatchSynthetics",
        "CheckSuccessPercent",
        "Minimum",
        # the canary's name parameter: a Ref to the canary itself would close a dependency cycle
        {"CanaryName": {"Ref": "CanaryName"}, "Check": "liveness"},
    ),
}


def test_the_canary_api_and_function_each_have_their_alarm_on_this_stacks_resources() -> None:
    alarms = {}
    for name, alarm in of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        statistic = props.get("Statistic", props.get("ExtendedStatistic"))
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        alarms[name] = (props["Namespace"], props["MetricName"], statistic, dimensions)
    assert alarms == EXPECTED_ALARMS


def test_a_failing_or_silent_canary_alarms_in_two_of_three_periods_and_survives_one_missed_run() -> None:
    alarm = properties("CanaryFailedAlarm")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 100)
    assert (alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (2, 3)
    assert alarm["Period"] == 300
    assert alarm["TreatMissingData"] == "breaching"


ALARM_TARGETS = [
    {"Ref": "AlarmTopic"},
    {"Fn::If": ["HasAlarmNotificationTopic", {"Ref": "AlarmNotificationTopicArn"}, {"Ref": "AWS::NoValue"}]},
]


def test_every_alarm_notifies_the_stacks_topic_and_the_optional_existing_one_on_alarm_and_recovery() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert alarms
    assert len(of_type("AWS::SNS::Topic")) == 1
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == ALARM_TARGETS, name
        assert alarm["Properties"]["OKActions"] == ALARM_TARGETS, name
        assert alarm["Properties"]["AlarmDescription"], name
    assert TEMPLATE["Conditions"]["HasAlarmNotificationTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmNotificationTopicArn"}, ""]}]
    }


def test_the_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use() -> None:
    assert properties("AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = properties("AlarmTopicKey")
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [
        s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    # The SNS key-management docs: AWS services publishing to an encrypted topic need both.
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    topic_policy = properties("AlarmTopicPolicy")["PolicyDocument"]["Statement"]
    [publish] = [s for s in topic_policy if s["Effect"] == "Allow"]
    assert (publish["Principal"], publish["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")


@pytest.mark.parametrize(
    ("resource", "condition", "parameter", "protocol"),
    [
        ("AlarmEmailSubscription", "HasAlarmEmail", "AlarmEmail", "email"),
        ("AlarmHttpsSubscription", "HasAlarmHttpsEndpoint", "AlarmHttpsEndpoint", "https"),
    ],
)
def test_each_subscription_exists_only_when_its_endpoint_is_given(
    resource: str, condition: str, parameter: str, protocol: str
) -> None:
    subscription = RESOURCES[resource]
    assert subscription["Condition"] == condition
    assert TEMPLATE["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}
    assert PARAMETERS[parameter]["Default"] == ""
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": protocol,
        "Endpoint": {"Ref": parameter},
    }


# --- the function and its logs -------------------------------------------------------------


def test_the_function_is_traced() -> None:
    assert properties("HealthFunction")["Tracing"] == "Active"


def test_every_function_logs_to_a_group_with_retention() -> None:
    # What WS1004 would check, had it known LoggingConfig.LogGroup (it is ignored for that).
    functions = of_type("AWS::Serverless::Function")
    assert functions
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup", name
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, name


# --- lint findings -------------------------------------------------------------------------


def test_every_checkov_skip_gives_its_reason() -> None:
    skips = [
        (name, skip)
        for name, resource in all_resources().items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), name
        assert len(skip["comment"]) > 40, f"{name} skips {skip['id']} without saying why"


def test_every_cfn_lint_ignore_is_preceded_by_its_reason() -> None:
    ignored = []
    for path in TEMPLATE_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        ignored += [
            (path.name, lines, i) for i, line in enumerate(lines) if re.fullmatch(r"\s+- (W|E|ES|WS)\d{4}", line)
        ]
    assert ignored
    for name, lines, index in ignored:
        assert lines[index - 1].strip().startswith("#"), f"{name}:{index + 1}: {lines[index].strip()} has no reason"


def test_each_environment_names_its_own_canary() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    names = set()
    for env in ("dev", "prod"):
        overrides = dict(
            pair.split("=", 1) for pair in config[env]["deploy"]["parameters"]["parameter_overrides"].split()
        )
        assert re.fullmatch(PARAMETERS["CanaryName"]["AllowedPattern"], overrides["CanaryName"])
        names.add(overrides["CanaryName"])
    assert len(names | {PARAMETERS["CanaryName"]["Default"]}) == 3


def test_outputs_name_the_canary_the_topic_and_the_artifacts_bucket() -> None:
    assert {"CanaryName", "AlarmTopicArn", "CanaryArtifactsBucketName"} <= set(TEMPLATE["Outputs"])
