"""The HTTP API in front of the function: its $default route takes every request, so a new route
needs no template line; the few routes declared apart are routes the resolver serves, declared for
what API Gateway must do apart for them (the IAM authorizer, a lower throttle).

What API Gateway gets is read from the SAM transform's output; `make run` and the tests' events
route by local_api's reading of the same template, which must agree with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local_api.template import DEFAULT_ROUTE, Route, http_api_routes, load_template, matching_route
from petsage_api import docs
from petsage_api.app import app
from tests.conftest import request

ROUTES = http_api_routes(load_template())  # as local_api (make run, tests.conftest.request) routes
SERVED = json.loads(docs.openapi_json(app))["paths"]  # the resolver's routes, as /openapi.json documents them
ANY_METHOD = "x-amazon-apigateway-any-method"


def deployed_routes(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route key -> its operation, in the OpenAPI body SAM gives the HTTP API."""
    [api] = [r for r in stack["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    routes = {}
    for path, operations in api["Properties"]["Body"]["paths"].items():
        for method, operation in operations.items():
            verb = "ANY" if method == ANY_METHOD else method.upper()
            routes[DEFAULT_ROUTE if operation.get("isDefaultRoute") else f"{verb} {path}"] = operation
    return routes


def requires_sigv4(operation: dict[str, Any]) -> bool:
    return any("AWS_IAM" in requirement for requirement in operation.get("security", []))


def iam_route(route: Route | None) -> bool:
    return route is not None and route.authorizer == "AWS_IAM"


def test_every_route_api_gateway_gets_invokes_the_live_alias_as_local_api_routes_it(prod_stack: dict[str, Any]) -> None:
    deployed = deployed_routes(prod_stack)
    assert DEFAULT_ROUTE in deployed  # whatever no other route matches reaches the function
    assert set(deployed) == {str(route) for route in ROUTES}
    assert {key for key, operation in deployed.items() if requires_sigv4(operation)} == {
        str(route) for route in ROUTES if iam_route(route)
    }
    [alias] = [name for name, r in prod_stack["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"]
    for key, operation in deployed.items():
        uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert f"functions/${{{alias}}}/invocations" in uri, key


def test_each_route_declared_apart_is_one_the_resolver_serves() -> None:
    declared_apart = {route.path for route in ROUTES if route.path != DEFAULT_ROUTE}
    assert declared_apart
    assert declared_apart <= set(SERVED)


def test_the_function_refuses_unsigned_callers_exactly_where_api_gateway_demands_a_signature(
    invoke: Callable[[Any], Any],
) -> None:
    # The details route checks `authorizer.iam` itself, should the template ever lose its authorizer.
    refused = {path for path in SERVED if invoke(request("GET", path))["statusCode"] == 403}
    iam_routes = {path for path in SERVED if iam_route(matching_route(ROUTES, "GET", path))}
    assert refused
    assert refused == iam_routes
    signed_only = {path for path, operations in SERVED.items() if {docs.SIGV4: []} in operations["get"]["security"]}
    assert signed_only == iam_routes  # and /openapi.json tells callers so


def test_route_settings_throttle_declared_routes_below_the_default(prod_stack: dict[str, Any]) -> None:
    # API Gateway refuses a deploy whose RouteSettings name a route the API does not have.
    [stage] = [r["Properties"] for r in prod_stack["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    default_rate = load_template()["Parameters"][stage["DefaultRouteSettings"]["ThrottlingRateLimit"]["Ref"]]["Default"]
    assert stage["RouteSettings"]
    assert set(stage["RouteSettings"]) <= set(deployed_routes(prod_stack))
    for key, settings in stage["RouteSettings"].items():
        assert settings["ThrottlingRateLimit"] < default_rate, key
