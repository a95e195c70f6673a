"""The dashboard and the alarms show only metrics that exist: ones the function really emits, or AWS documents.

The function's own metrics come from running the handler over every committed event (and a
readiness request with dependencies configured) and parsing the EMF it prints: namespace, metric
name, dimension set. AWS's come from their documentation, cited per namespace below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws

from petsage_api.app import API_VERSION
from petsage_api.health.config import ReadinessConfig
from petsage_api.health.readiness import ReadinessProbe
from tests.conftest import EVENTS_DIR, fresh_environment, load_event
from tests.infrastructure.stack import composed
from tests.readiness_helpers import use_probe

# The dashboard and the paging alarms live in operations/monitoring.yaml, the deploy gates in
# template.yaml: read as one template, wired as the parent passes them.
TEMPLATE = composed()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
Metric = tuple[str, str, frozenset[str]]  # namespace, name, dimension names

# Metric names and dimension sets AWS documents for the services this stack uses.
DOCUMENTED: dict[str, tuple[set[str], list[frozenset[str]]]] = {
    # Lambda Developer Guide, "Types of metrics for Lambda functions": FunctionName (all versions
    # and aliases), Resource (a version or alias), ExecutedVersion (an alias and version).
    "AWS/Lambda": (
        {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
        [
            frozenset({"FunctionName"}),
            frozenset({"FunctionName", "Resource"}),
            frozenset({"FunctionName", "Resource", "ExecutedVersion"}),
        ],
    ),
    # API Gateway Developer Guide, "Metrics for HTTP APIs": 4xx, 5xx, Count, IntegrationLatency,
    # Latency, DataProcessed by ApiId, or ApiId and Stage.
    "AWS/ApiGateway": (
        {"4xx", "5xx", "Count", "IntegrationLatency", "Latency", "DataProcessed"},
        [frozenset({"ApiId"}), frozenset({"ApiId", "Stage"})],
    ),
    # CloudWatch User Guide, "CloudWatch metrics published by canaries": SuccessPercent, Duration,
    # Failed by CanaryName; canaries using execute_step also publish SuccessPercent and Duration
    # by CanaryName and StepName.
    "CloudWatchSynthetics": (
        {"SuccessPercent", "Duration", "Failed"},
        [frozenset({"CanaryName"}), frozenset({"CanaryName", "StepName"})],
    ),
}
# What canary/api_canary.py publishes itself (tests/integration/test_canary.py reads what it sends
# through botocore's Stubber): the deploy gate's metric.
PUBLISHED_BY_THE_CANARY = {("CloudWatchSynthetics", "CheckSuccessPercent", frozenset({"CanaryName", "Check"}))}
SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<filters>[^']*)'")


def dashboard() -> dict[str, Any]:
    """The dashboard body as CloudWatch receives it (Fn::Sub placeholders filled in)."""
    body = RESOURCES["HealthDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    filled = re.sub(r"\$\{([A-Za-z0-9:]+)(\.Arn)?\}", lambda m: f"{m[1].replace('::', '-')}{m[2] or ''}", body)
    document: dict[str, Any] = json.loads(filled)
    return document


def dashboard_metrics() -> set[Metric]:
    found: set[Metric] = set()
    for widget in dashboard()["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], dict):
                for match in SEARCH.finditer(line[0]["expression"]):
                    namespace, *dimensions = (part.strip() for part in match["schema"].split(","))
                    [metric] = re.findall(r'MetricName="([^"]+)"', match["filters"])
                    filtered = set(re.findall(r'(\w+)="[^"]*"', match["filters"])) - {"MetricName"}
                    assert filtered <= set(dimensions), f"{metric}: filters on {filtered} outside its schema"
                    found.add((namespace, metric, frozenset(dimensions)))
            else:
                namespace, metric, *rest = (item for item in line if not isinstance(item, dict))
                found.add((namespace, metric, frozenset(rest[0::2])))
    return found


def alarm_metrics() -> set[Metric]:
    found: set[Metric] = set()
    for resource in RESOURCES.values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudWatch::Alarm":
            props = resource["Properties"]
            found.add((props["Namespace"], props["MetricName"], frozenset(d["Name"] for d in props["Dimensions"])))
    return found


@pytest.fixture
def emitted(
    invoke: Callable[[Any], Any], written: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> set[Metric]:
    """Every metric the handler writes while answering every committed event and a readiness check."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    fresh_environment(monkeypatch)  # ColdStart too
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="pets",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        config = ReadinessConfig.from_environment({"HEALTH_DYNAMODB_TABLES": "pets,missing"})
        use_probe(monkeypatch, ReadinessProbe(config, "petsage-health", API_VERSION))
        for path in sorted(EVENTS_DIR.glob("*.json")):
            invoke(load_event(path.stem))
    found: set[Metric] = set()
    for line in written():
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], frozenset(dimensions)))
    return found


def documented(metric: Metric) -> bool:
    namespace, name, dimensions = metric
    if namespace not in DOCUMENTED:
        return False
    names, dimension_sets = DOCUMENTED[namespace]
    return name in names and dimensions in dimension_sets


def test_the_function_emits_the_metrics_the_dashboard_expects(emitted: set[Metric]) -> None:
    assert {name for namespace, name, _ in emitted if namespace == "PetSage"} == {
        "Faults",
        "ColdStart",
        "DependencyLatency",
        "DependencyFailures",
    }


def test_every_dashboard_metric_is_emitted_or_documented(emitted: set[Metric]) -> None:
    referenced = dashboard_metrics()
    assert referenced
    published = emitted | PUBLISHED_BY_THE_CANARY
    assert {metric for metric in referenced if metric not in published and not documented(metric)} == set()


def test_every_alarm_metric_is_emitted_or_documented(emitted: set[Metric]) -> None:
    referenced = alarm_metrics()
    assert referenced
    published = emitted | PUBLISHED_BY_THE_CANARY
    assert {metric for metric in referenced if metric not in published and not documented(metric)} == set()


def test_every_metric_the_function_emits_is_on_the_dashboard(emitted: set[Metric]) -> None:
    assert emitted - dashboard_metrics() == set()


def test_the_dashboard_shows_what_on_call_needs() -> None:
    shown = {(namespace, name) for namespace, name, _ in dashboard_metrics()}
    assert {
        ("PetSage", "Faults"),
        ("PetSage", "ColdStart"),
        ("PetSage", "DependencyLatency"),
        ("PetSage", "DependencyFailures"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/ApiGateway", "4xx"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        ("CloudWatchSynthetics", "SuccessPercent"),
        ("CloudWatchSynthetics", "Duration"),
        ("CloudWatchSynthetics", "CheckSuccessPercent"),  # what the liveness gate reads
    } <= shown
    latency = [
        line[-1]["stat"]
        for widget in dashboard()["widgets"]
        for line in widget["properties"].get("metrics", [])
        if line[:2] == ["AWS/ApiGateway", "Latency"]
    ]
    assert {"p50", "p99"} <= set(latency)
    # Requests per route: every request records Faults (0 or 1), so its SampleCount counts them.
    body = RESOURCES["HealthDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert 'MetricName=\\"Faults\\" deployment=\\"${AWS::StackName}\\"\', \'SampleCount\'' in body


def test_the_dashboard_shows_every_alarms_state_and_only_this_deployment() -> None:
    [alarms] = [widget for widget in dashboard()["widgets"] if widget["type"] == "alarm"]
    names = {
        name
        for name, resource in RESOURCES.items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudWatch::Alarm"
    }
    assert {arn.removesuffix(".Arn") for arn in alarms["properties"]["alarms"]} == names
    body = RESOURCES["HealthDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for expression in re.findall(r"SEARCH\('[^']*'", body):
        assert 'deployment=\\"${AWS::StackName}\\"' in expression, expression


def test_the_stack_outputs_the_dashboards_console_url() -> None:
    url = TEMPLATE["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url.startswith("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home")
    assert url.endswith("#dashboards:name=${HealthDashboard}")
