"""A local stand-in for `sam local start-api`, which needs a container runtime.

It reads the routes from template.yaml, turns each HTTP request into an API Gateway HTTP
API (payload 2.0) event and hands it in-process to the function's handler.
"""
