"""Documentation: Swagger UI and the OpenAPI document, built on first request."""
