"""The documentation (petsage_api.docs): Swagger UI with bundled assets at /docs, the OpenAPI document at
/openapi.json only, both built on first request; and the document tells the answers callers really get."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from petsage_api.app import app
from petsage_api.docs import enable, openapi_json
from petsage_api.health.models import HealthCheckResponse
from petsage_api.http_api import Resolver
from tests.conftest import Invoke, body_bytes, request, run_in_fresh_interpreter

DOCUMENT: dict[str, Any] = json.loads(openapi_json(app))
OPERATIONS = [(path, operation) for path, item in DOCUMENT["paths"].items() for operation in item.values()]
SCHEMAS = "#/components/schemas/"


def schema(response: dict[str, Any]) -> Any:
    [content] = response["content"].values()
    return content["schema"]


def test_docs_serve_swagger_ui_from_bundled_assets(invoke: Invoke) -> None:
    response = invoke(request("GET", "/docs", headers={"accept-encoding": "gzip"}))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    html = gzip.decompress(body_bytes(response)).decode()
    assert "SwaggerUIBundle" in html
    assert '"title":"PetSage API"' in html
    assert "https://" not in html.split("<script>")[0], "no CDN stylesheet or script"
    assert "<script src=" not in html


@pytest.mark.parametrize("path", ["/openapi.json", "/docs?format=json"])  # Swagger UI links its spec as the latter
def test_the_openapi_document_is_served_as_json(invoke: Invoke, path: str) -> None:
    response = invoke(request("GET", path))
    assert (response["statusCode"], response["headers"]["Content-Type"]) == (200, "application/json")
    assert json.loads(response["body"]) == DOCUMENT


@pytest.mark.parametrize("path", ["/openapiXjson", "/openapi/json", "/openapi.json/"])
def test_only_the_exact_openapi_path_serves_the_document(invoke: Invoke, path: str) -> None:
    assert invoke(request("GET", path))["statusCode"] == 404


def test_the_documents_are_not_built_at_cold_start() -> None:
    models = "aws_lambda_powertools.event_handler.openapi.models"
    built = "docs.openapi_json.cache_info().currsize"
    code = f"import sys, handler; from petsage_api import docs; print({built}, {models!r} in sys.modules)"
    assert run_in_fresh_interpreter(code).stdout.split() == ["0", "False"]


def test_neither_documentation_route_is_in_the_document() -> None:
    assert not {"/docs", "/openapi.json"} & set(DOCUMENT["paths"])


# --- the answers it documents are the real ones ----------------------------------------------------


@pytest.mark.parametrize(("path", "operation"), OPERATIONS, ids=[path for path, _ in OPERATIONS])
def test_every_operation_documents_the_functions_500_and_api_gateways_429(path: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    assert schema(responses["500"]) == {"$ref": f"{SCHEMAS}ErrorResponse"}
    assert schema(responses["429"]) == {"$ref": f"{SCHEMAS}GatewayMessage"}
    assert "422" not in responses, "no route takes input: nothing to validate"


def test_the_error_body_documented_is_the_one_sent(invoke: Invoke) -> None:
    properties = DOCUMENT["components"]["schemas"]["ErrorResponse"]["properties"]
    for answer in (invoke(request("GET", "/nowhere")), invoke(request("GET", "/api/v1/health/ready/details"))):
        assert set(json.loads(answer["body"])) == set(properties) == {"statusCode", "message"}
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(
        DOCUMENT["components"]["schemas"]
    )


def test_the_iam_route_declares_sigv4_and_the_public_ones_no_security() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["sigv4"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    security = {path: operation["security"] for path, operation in OPERATIONS}
    assert security.pop("/api/v1/health/ready/details") == [{"sigv4": []}]
    assert set(map(str, security.values())) == {"[]"}


def test_readiness_documents_its_503_with_a_failing_example() -> None:
    for path in ("/api/v1/health/ready", "/api/v1/health/ready/details"):
        [content] = DOCUMENT["paths"][path]["get"]["responses"]["503"]["content"].values()
        assert content["examples"]["fail"]["value"]["status"] == "fail"


def test_a_route_that_takes_input_documents_its_422_as_the_error_body_sent() -> None:
    # No route takes input yet: the first that does, by a parameter or a body, documents the
    # ErrorResponse the resolver answers for its 422; a route without input still documents none.
    api = Resolver(direct_answer=HealthCheckResponse)
    router = APIGatewayHttpRouter()

    @router.get("/pets/<pet_id>")
    def read_pet(pet_id: int) -> HealthCheckResponse:
        return HealthCheckResponse()

    @router.post("/pets")
    def add_pet(pet: HealthCheckResponse) -> HealthCheckResponse:
        return pet

    @router.get("/pets")
    def list_pets() -> HealthCheckResponse:
        return HealthCheckResponse()

    api.include_router(router)
    enable(api)
    paths = json.loads(openapi_json(api))["paths"]
    with_input, without_input = [paths["/pets/{pet_id}"]["get"], paths["/pets"]["post"]], paths["/pets"]["get"]
    for operation in with_input:
        assert operation["responses"]["422"] == {
            "description": "Unprocessable Entity: the request's input broke the route's declared parameters.",
            "content": {"application/json": {"schema": {"$ref": f"{SCHEMAS}ErrorResponse"}}},
        }
    assert "422" not in without_input["responses"]
    for operation in [*with_input, without_input]:
        assert schema(operation["responses"]["500"]) == {"$ref": f"{SCHEMAS}ErrorResponse"}
        assert schema(operation["responses"]["429"]) == {"$ref": f"{SCHEMAS}GatewayMessage"}
        assert operation["security"] == []


def test_a_description_cannot_close_the_script_element_swagger_ui_embeds_the_document_in() -> None:
    from petsage_api.docs import enable, swagger_html
    from petsage_api.health.models import HealthCheckResponse
    from petsage_api.http_api import Resolver

    app = Resolver(direct_answer=HealthCheckResponse)
    app.configure_openapi(title="T", version="1", description="</script><script>alert(1)</script>")
    enable(app)
    html = swagger_html(app)
    assert "<\\/script><script>alert(1)<\\/script>" in html
    assert "</script><script>alert(1)" not in html
