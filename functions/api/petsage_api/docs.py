"""The API's documentation: Swagger UI at /docs and the OpenAPI document at /openapi.json.

`enable(app)` does what Powertools' `app.enable_swagger()` does, with four differences:
- both are built on their first request, not at cold start: `enable_swagger()` imports the
  OpenAPI models (~44 ms) on every cold start, and health probes never ask for the docs;
- Swagger UI's assets are inlined from the Powertools wheel (no CDN), once per environment;
- the document tells what the function and API Gateway really answer: every error the function
  sends is an `ErrorResponse` (Powertools would document its own validation shapes, and a 422
  on routes that take no input), every route may get API Gateway's 429, and a route declared
  with `security=[{"sigv4": []}]` needs a SigV4 signature (the others say `security: []`);
- neither documentation route is in the document it serves.
"""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from petsage_api.http_api import ErrorResponse

DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"
SIGV4 = "sigv4"
_SCHEMAS = "#/components/schemas/"
# What API Gateway itself answers, before the function (throttled, unsigned): {"message": "..."}.
_GATEWAY_MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
_ERROR_DESCRIPTIONS = {
    "422": "Unprocessable Entity: the request's input broke the route's declared parameters.",
    "500": "Internal Server Error: the function failed; the body says no more than that.",
}
_THROTTLED = {
    "description": "Too Many Requests: API Gateway throttled the request; the function never saw it.",
    "content": {content_types.APPLICATION_JSON: {"schema": {"$ref": f"{_SCHEMAS}GatewayMessage"}}},
}


def enable(app: APIGatewayHttpResolver) -> None:
    """Serve the documentation of every route `app` includes so far."""

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        # Powertools compiles route rules into regular expressions, where the "." of
        # "/openapi.json" matches any character: only the exact path is the document.
        if app.current_event.path != OPENAPI_PATH:
            raise NotFoundError
        return _ok(content_types.APPLICATION_JSON, openapi_json(app))

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> Response[str]:
        # Swagger UI shows (and links) its spec as "/docs?format=json", as Powertools' own page does.
        if (app.current_event.query_string_parameters or {}).get("format") == "json":
            return _ok(content_types.APPLICATION_JSON, openapi_json(app))
        return _ok("text/html; charset=utf-8", swagger_html(app))


def _ok(content_type: str, body: str) -> Response[str]:
    return Response(status_code=HTTPStatus.OK.value, content_type=content_type, body=body)


@cache
def openapi_json(app: APIGatewayHttpResolver) -> str:
    """The OpenAPI document of every route in the schema, as the function and API Gateway answer them."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey

    sigv4 = APIKey.model_validate(
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "AWS Signature Version 4 (execute-api) from an IAM principal allowed to invoke the route.",
            "openapi_extensions": {"x-amazon-apigateway-authtype": "awsSigv4"},
        }
    )
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(security_schemes={SIGV4: sigv4}))
    for operations in document["paths"].values():
        for operation in operations.values():
            _describe_errors(operation)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(by_alias=True)
    schemas["GatewayMessage"] = _GATEWAY_MESSAGE
    for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):  # referrers first
        if f'"{_SCHEMAS}{name}"' not in json.dumps(document):
            schemas.pop(name, None)  # Powertools' own error shapes, once nothing refers to them
    return json.dumps(document, separators=(",", ":"))


def _describe_errors(operation: dict[str, Any]) -> None:
    """Powertools documents its own shapes for 422 and 500; the function sends an ErrorResponse."""
    responses = operation["responses"]
    if "parameters" not in operation and "requestBody" not in operation:
        del responses["422"]  # no input, nothing to validate
    for code in ("422", "500"):
        if code in responses:
            responses[code] = {
                "description": _ERROR_DESCRIPTIONS[code],
                "content": {content_types.APPLICATION_JSON: {"schema": {"$ref": f"{_SCHEMAS}ErrorResponse"}}},
            }
    responses["429"] = _THROTTLED
    operation.setdefault("security", [])


@cache
def swagger_html(app: APIGatewayHttpResolver) -> str:
    """Swagger UI with its JavaScript and CSS inlined from the Powertools wheel: no CDN."""
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as swagger_ui

    assets = Path(swagger_ui.__file__).parent
    # "</" must not close the <script> element the spec is embedded in.
    spec = openapi_json(app).replace("</", "<\\/")
    return swagger_ui.generate_swagger_html(
        spec=spec,
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
