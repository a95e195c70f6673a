"""template.yaml routes every declared route to the function, and configures it as documented.

That the template declares exactly the routes the resolver serves is test_route_inventory's.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from handler import lambda_handler
from local_api.lambda_runtime import LocalLambdaContext
from local_api.template import Route, http_api_routes, load_template
from tests.conftest import REPO_ROOT, load_event
from tests.infrastructure.stack import composed

TEMPLATE = composed()  # Globals.Function merged into each function, as SAM merges it
TEMPLATE_ROUTES = set(http_api_routes(load_template()))


@pytest.mark.parametrize("route", sorted(TEMPLATE_ROUTES, key=str), ids=str)
def test_every_template_route_is_answered_by_the_function(route: Route) -> None:
    # An IAM-authorized route reaches the function only signed, with the authorizer's identity.
    event = load_event("ready-details" if route.authorizer == "AWS_IAM" else "health")
    event["rawPath"] = event["requestContext"]["http"]["path"] = route.path
    event["requestContext"]["http"]["method"] = route.method
    event["routeKey"] = event["requestContext"]["routeKey"] = str(route)
    assert lambda_handler(event, LocalLambdaContext(function_name="HealthFunction"))["statusCode"] == 200


def test_only_the_readiness_details_need_iam_authorization() -> None:
    iam_routes = {str(route) for route in TEMPLATE_ROUTES if route.authorizer == "AWS_IAM"}
    assert iam_routes == {"GET /api/v1/health/ready/details", "HEAD /api/v1/health/ready/details"}
    assert TEMPLATE["Resources"]["HttpApi"]["Properties"]["Auth"] == {"EnableIamAuthorizer": True}


def function_properties() -> dict[str, Any]:
    properties: dict[str, Any] = TEMPLATE["Resources"]["HealthFunction"]["Properties"]
    return properties


def test_the_function_targets_python_313_on_arm64() -> None:
    properties = function_properties()
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.lambda_handler"
    assert properties["CodeUri"] == "functions/api/"
    assert properties["Timeout"] <= 10


def test_function_logs_are_json_in_an_explicit_group_with_retention() -> None:
    logging_config = function_properties()["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    group = TEMPLATE["Resources"][logging_config["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in group["Properties"]


def test_the_http_api_throttles_and_logs_access() -> None:
    api = TEMPLATE["Resources"]["HttpApi"]["Properties"]
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(api["DefaultRouteSettings"])
    assert "DestinationArn" in api["AccessLogSettings"]


def test_outputs_name_the_api_the_health_url_and_the_function() -> None:
    assert {"ApiUrl", "HealthUrl", "HealthFunctionArn"} <= set(TEMPLATE["Outputs"])


def test_samconfig_has_default_dev_and_prod_environments() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("default", "dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert config[env]["global"]["parameters"]["stack_name"]
        assert config[env]["global"]["parameters"]["region"]
        assert {"capabilities", "confirm_changeset", "resolve_s3"} <= set(deploy)
        # The operations stacks are nested applications: CloudFormation expands them only with this.
        assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
        assert config[env]["validate"]["parameters"]["lint"] is True
        # Fn::ForEach (AWS::LanguageExtensions) must be expanded by SAM CLI for build and validate.
        assert config[env]["global"]["parameters"]["language_extensions"] is True
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


@pytest.mark.parametrize("path", ["/api/v1/health/ready", "/api/v1/health/ready/details"])
def test_readiness_routes_are_throttled_below_the_liveness_probes(path: str) -> None:
    api = TEMPLATE["Resources"]["HttpApi"]["Properties"]
    default_rate = TEMPLATE["Parameters"][api["DefaultRouteSettings"]["ThrottlingRateLimit"]["Ref"]]["Default"]
    for method in ("GET", "HEAD"):
        route = api["RouteSettings"][f"{method} {path}"]
        assert Route(method, path) in TEMPLATE_ROUTES
        assert route["ThrottlingRateLimit"] < default_rate
