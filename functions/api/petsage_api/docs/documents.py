"""The OpenAPI document and Swagger UI, built on first request instead of at cold start.

`enable_swagger()` would import Powertools' OpenAPI models (~44 ms) on every cold start,
although load balancers and canaries only ever ask for the health route.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


@cache
def openapi_json(app: APIGatewayHttpResolver) -> str:
    """The OpenAPI document of every route included in the schema."""
    return app.get_openapi_json_schema()


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
