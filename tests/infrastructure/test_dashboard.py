"""The alarms and the dashboard read series that exist: ones the function really writes, the
canary publishes, or AWS documents.

The function's series come from running it as Lambda runs a published version of a deployed stack:
a fresh interpreter with the environment template.yaml gives it (resolved for that stack, with one
table for readiness to check, in moto) and the version Lambda sets, answering liveness and
readiness; the EMF it prints says namespace, metric, dimensions and their values. The alarms and
the dashboard are resolved for the same stack, so a dimension value the function does not write
(another stack's name, a stale service name, a version that is not the new one) is a series no
one writes, and fails here.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from scripts.embed_canary import SCRIPT
from tests.conftest import request, run_in_fresh_interpreter
from tests.infrastructure.stack import DEPLOYED, REGION, STACK, dashboard, resolve

RESOURCES: dict[str, Any] = STACK["Resources"]  # the alarms and the dashboard, wherever they live
Series = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric, (dimension, value) pairs

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
    # Failed by CanaryName.
    "CloudWatchSynthetics": ({"SuccessPercent", "Duration", "Failed"}, [frozenset({"CanaryName"})]),
}
SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<filters>[^']*)'")
FILTER = re.compile(r'(\w+)="([^"]*)"')
RUN_AS_LAMBDA = """
import json, sys
from types import SimpleNamespace
import boto3
from moto import mock_aws
with mock_aws():
    boto3.client("dynamodb").create_table(TableName="pets", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    from handler import lambda_handler
    for event in json.loads(sys.argv[1]):
        lambda_handler(event, SimpleNamespace(function_name="HealthFunction", memory_limit_in_mb=1769,
            aws_request_id="c0ffee", get_remaining_time_in_millis=lambda: 5000,
            invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:HealthFunction"))
"""


@pytest.fixture(scope="module")
def function_series() -> set[Series]:
    """Every series the function writes answering liveness and readiness, deployed as DEPLOYED."""
    variables = RESOURCES["HealthFunction"]["Properties"]["Environment"]["Variables"]
    environment = {name: str(resolve(value, DEPLOYED)) for name, value in variables.items()}
    lambda_sets = {"AWS_LAMBDA_FUNCTION_VERSION": DEPLOYED["HealthFunction.Version.Version"], "AWS_REGION": REGION}
    moto = {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    events = [request("GET", "/api/v1/health"), request("GET", "/api/v1/health/ready")]
    result = run_in_fresh_interpreter(RUN_AS_LAMBDA, json.dumps(events), env=environment | lambda_sets | moto)
    series: set[Series] = set()
    for line in map(json.loads, result.stdout.splitlines()):
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                values = frozenset((name, line[name]) for name in dimensions)
                series |= {(directive["Namespace"], metric["Name"], values) for metric in directive["Metrics"]}
    return series


def published_by_the_canary() -> tuple[str, str, frozenset[str], set[str]]:
    """What canary/api_canary.py publishes (tests/integration/test_canary.py runs it): namespace,
    metric, dimension names, and its checks, the values of its Check dimension."""
    script = SCRIPT.read_text(encoding="utf-8")
    constants = {
        target.id: str(node.value.value)
        for node in ast.parse(script).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    dimensions = frozenset(re.findall(r'"Name": "(\w+)"', script))
    checks = set(re.findall(r'"([\w ]+)": lambda', script))
    return constants["METRIC_NAMESPACE"], constants["METRIC_NAME"], dimensions, checks


def exists(namespace: str, metric: str, dimensions: dict[str, str], function_series: set[Series]) -> bool:
    """Whether anyone publishes the series: the function, the canary, or an AWS service as documented."""
    if namespace in {series[0] for series in function_series}:
        return (namespace, metric, frozenset(dimensions.items())) in function_series
    canary_namespace, canary_metric, canary_dimensions, checks = published_by_the_canary()
    if (namespace, metric, frozenset(dimensions)) == (canary_namespace, canary_metric, canary_dimensions):
        return dimensions["Check"] in checks
    names, dimension_sets = DOCUMENTED.get(namespace, (set(), []))
    return metric in names and frozenset(dimensions) in dimension_sets


def alarm_metrics() -> list[tuple[str, str, str, dict[str, str]]]:
    """(alarm, namespace, metric, dimensions resolved) for every metric an alarm reads."""
    found = []
    for name, resource in RESOURCES.items():
        if isinstance(resource, dict) and resource["Type"] == "AWS::CloudWatch::Alarm":
            props = resource["Properties"]
            metrics = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q] or [props]
            for metric in metrics:
                dimensions = {d["Name"]: resolve(d["Value"], DEPLOYED) for d in metric["Dimensions"]}
                found.append((name, metric["Namespace"], metric["MetricName"], dimensions))
    return found


def dashboard_metrics(function_series: set[Series]) -> list[tuple[str, str, dict[str, str], bool]]:
    """(namespace, metric, dimensions, whether anyone publishes it) for every graph line; a SEARCH
    line by the series it would find among those the function writes."""
    found = []
    for widget in dashboard()["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if not isinstance(line[0], dict):
                namespace, metric, *pairs = (item for item in line if not isinstance(item, dict))
                dimensions = dict(zip(pairs[0::2], pairs[1::2], strict=True))
                found.append((namespace, metric, dimensions, exists(namespace, metric, dimensions, function_series)))
                continue
            for search in SEARCH.finditer(line[0]["expression"]):
                namespace, *schema = (part.strip() for part in search["schema"].split(","))
                filters = dict(FILTER.findall(search["filters"]))
                metric = filters.pop("MetricName")
                matches = [
                    dict(values)
                    for series_namespace, name, values in function_series
                    if (series_namespace, name) == (namespace, metric)
                    and {dimension for dimension, _ in values} == set(schema)
                    and filters.items() <= dict(values).items()
                ]
                found += [(namespace, metric, values, True) for values in matches]
                found += [] if matches else [(namespace, metric, filters, False)]
    return found


def test_every_metric_an_alarm_reads_is_published(function_series: set[Series]) -> None:
    # The deploy gate's among them: its `version` is the new version, as that version writes it.
    metrics = alarm_metrics()
    assert {namespace for _, namespace, _, _ in metrics} >= {"PetSage", "AWS/Lambda"}
    assert [m for m in metrics if not exists(*m[1:], function_series)] == []


def test_every_series_the_dashboard_graphs_is_published(function_series: set[Series]) -> None:
    shown = dashboard_metrics(function_series)
    assert shown
    assert [line[:3] for line in shown if not line[3]] == []


def test_every_search_on_the_dashboard_finds_this_deployments_series_only() -> None:
    # An account may hold dev and prod: a SEARCH without the filter would graph both as one.
    lines = [line for widget in dashboard()["widgets"] for line in widget["properties"].get("metrics", [])]
    searches = [
        search for line in lines if isinstance(line[0], dict) for search in SEARCH.finditer(line[0]["expression"])
    ]
    assert searches
    for search in searches:
        assert dict(FILTER.findall(search["filters"])).get("deployment") == DEPLOYED["AWS::StackName"], search[0]


def test_the_dashboard_graphs_every_metric_the_function_writes(function_series: set[Series]) -> None:
    shown = {(namespace, metric) for namespace, metric, _, _ in dashboard_metrics(function_series)}
    assert {(namespace, metric) for namespace, metric, _ in function_series} - shown == set()


def test_the_dashboard_shows_every_alarms_state() -> None:
    [alarms] = [widget["properties"]["alarms"] for widget in dashboard()["widgets"] if widget["type"] == "alarm"]
    kinds = {"AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"}
    every = {DEPLOYED[f"{name}.Arn"] for name, r in RESOURCES.items() if isinstance(r, dict) and r["Type"] in kinds}
    assert set(alarms) == every


def test_the_dashboards_name_is_its_stacks_and_its_regions() -> None:
    # Dashboards are global to an account: the same stack in two regions needs two names.
    name = RESOURCES["HealthDashboard"]["Properties"]["DashboardName"]
    assert resolve(name, DEPLOYED) != resolve(name, {**DEPLOYED, "AWS::Region": "us-east-1"})
    assert resolve(name, DEPLOYED) != resolve(name, {**DEPLOYED, "AWS::StackName": "petsage-health-dev"})
