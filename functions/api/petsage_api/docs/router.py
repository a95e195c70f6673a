"""The documentation routes: Swagger UI at /docs and the OpenAPI document at /openapi.json.

Neither is in the schema it serves. Both documents vary by Accept-Encoding: the handler gzips
them, once (petsage_api.responses.negotiate_encoding).
"""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from petsage_api.docs import documents

DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"


# pragma: no mutate start - the route table runs at import, before a mutant is chosen; tests pin it
def create_router(app: APIGatewayHttpResolver) -> APIGatewayHttpRouter:
    """The documentation of `app`, every route it includes, served by a router of its own."""
    router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

    @router.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        # Powertools compiles route rules into regular expressions, where the "." of
        # "/openapi.json" matches any character: only the exact path is the document.
        if router.current_event.path != OPENAPI_PATH:
            raise NotFoundError
        return openapi_response(app)

    @router.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> Response[str]:
        # Swagger UI shows (and links) its spec as "/docs?format=json", as Powertools' own page does.
        if (router.current_event.query_string_parameters or {}).get("format") == "json":
            return openapi_response(app)
        return Response(
            status_code=HTTPStatus.OK.value,
            content_type="text/html; charset=utf-8",
            body=documents.swagger_html(app),
            headers={"Vary": "Accept-Encoding"},
        )

    return router


# pragma: no mutate end


def openapi_response(app: APIGatewayHttpResolver) -> Response[str]:
    """The OpenAPI document, served at /openapi.json and as Swagger UI's /docs?format=json."""
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=documents.openapi_json(app),
        headers={"Vary": "Accept-Encoding"},
    )
