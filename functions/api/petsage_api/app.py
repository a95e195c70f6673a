"""The composition root: the resolver, every feature's router, and what the routers share.

Built once per execution environment, at cold start: the Powertools resolver (request and
response validation, the API's OpenAPI metadata), the readiness probe (its configuration read
from the environment; bad values never raise), and the routers, each feature under its own
prefix as the original sketch's `api/v1/api.py` included them. docs/adding-a-route.md says how
a new feature joins them.
"""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import ResponseValidationError

from petsage_api import errors
from petsage_api.docs import router as docs_router
from petsage_api.health import router as health_router
from petsage_api.health.readiness import ReadinessProbe
from petsage_api.observability import SERVICE
from petsage_api.root import router as root_router

API_TITLE = "PetSage API"
API_VERSION = "1.0.0"
API_DESCRIPTION = "The official API for the PetSage Pet Care Companion."
API_V1 = "/api/v1"

app = APIGatewayHttpResolver(
    enable_validation=True,
    # A response that breaks its own model is our bug, not the caller's: 500, never 422.
    response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
)
app.configure_openapi(title=API_TITLE, version=API_VERSION, description=API_DESCRIPTION)
app.not_found(errors.not_found)
app.exception_handler(ResponseValidationError)(errors.invalid_response)

readiness_probe = ReadinessProbe.from_environment(service_id=SERVICE, version=API_VERSION)

app.include_router(root_router.router)
app.include_router(health_router.create_router(readiness_probe), prefix=API_V1)
app.include_router(docs_router.create_router(app))
