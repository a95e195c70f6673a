"""The contract over real HTTP, against the local stand-in for API Gateway (`make run`)."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from tests.contract import LIVENESS_BODY
from tests.integration.conftest import LocalApi, start_local_api, stop_local_api

pytestmark = pytest.mark.integration


def test_health_is_alive(local_api: LocalApi) -> None:
    result = local_api.request("GET", "/api/v1/health")
    assert result.status == 200
    assert result.header("Content-Type") == "application/json"
    assert result.body == LIVENESS_BODY.encode()
    assert result.header("Cache-Control") == "no-store"
    assert result.header("X-Content-Type-Options") == "nosniff"


def test_root_welcomes(local_api: LocalApi) -> None:
    result = local_api.request("GET", "/")
    assert result.status == 200
    assert json.loads(result.body) == {"message": "Welcome to the PetSage API! Find our docs at /docs"}


@pytest.mark.parametrize("path", ["/api/v1/health", "/", "/docs", "/openapi.json"])
def test_head_answers_like_get_without_a_body(local_api: LocalApi, path: str) -> None:
    get = local_api.request("GET", path)
    head = local_api.request("HEAD", path)
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.header("Content-Type") == get.header("Content-Type")
    assert head.header("Cache-Control") == get.header("Cache-Control") == "no-store"


def test_docs_are_swagger_ui_gzipped_when_accepted(local_api: LocalApi) -> None:
    result = local_api.request("GET", "/docs", headers={"Accept-Encoding": "gzip"})
    assert result.status == 200
    assert result.header("Content-Encoding") == "gzip"
    html = gzip.decompress(result.body).decode()
    assert "<title>Swagger UI</title>" in html
    assert "PetSage API" in html
    plain = local_api.request("GET", "/docs")
    assert plain.header("Content-Encoding") is None
    assert len(result.body) < len(plain.body) / 3


def test_openapi_document_is_served(local_api: LocalApi) -> None:
    result = local_api.request("GET", "/openapi.json")
    assert result.status == 200
    document = json.loads(result.body)
    assert document["info"]["title"] == "PetSage API"
    assert set(document["paths"]) >= {"/", "/api/v1/health"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/unknown"),
        ("GET", "/api/v1/health/"),
        ("POST", "/api/v1/health"),
        ("DELETE", "/"),
        ("TRACE", "/"),
        ("PROPFIND", "/api/v1/health"),
        ("OPTIONS", "/docs"),
    ],
)
def test_unrouted_requests_get_the_functions_json_404_with_the_standard_headers(
    local_api: LocalApi, method: str, path: str
) -> None:
    # The HTTP API's $default route hands every request no other route takes to the function.
    result = local_api.request(method, path)
    assert result.status == 404
    assert result.header("Content-Type") == "application/json"
    assert result.header("Cache-Control") == "no-store"
    if method != "HEAD":
        assert result.body == b'{"statusCode":404,"message":"Not Found"}'


def test_query_strings_and_cookies_do_not_change_the_answer(local_api: LocalApi) -> None:
    result = local_api.request("GET", "/api/v1/health?probe=1&probe=2", headers={"Cookie": "a=1; b=2"})
    assert result.status == 200
    assert result.body == LIVENESS_BODY.encode()


def test_a_line_is_logged_per_request_and_ctrl_c_stops_cleanly() -> None:
    api = start_local_api()
    api.request("GET", "/api/v1/health?probe=1")
    api.request("TRACE", "/")
    code, stdout, stderr = stop_local_api(api)
    assert code == 0
    assert "stopped" in stderr
    assert re.search(r"GET /api/v1/health\?probe=1 -> 200 in \d+\.\d ms \(route \$default\)$", stderr, re.M)
    assert re.search(r"TRACE / -> 404 in \d+\.\d ms \(route \$default\)$", stderr, re.M)
    assert "Traceback" not in stdout + stderr


def test_the_functions_json_log_lines_go_to_stdout_and_the_servers_own_lines_to_stderr() -> None:
    """As on Lambda, stdout is the function's log stream: `make run 2>/dev/null` shows only it."""
    api = start_local_api()
    api.request("GET", "/api/v1/health")
    api.request("DELETE", "/api/v1/health")
    _, stdout, stderr = stop_local_api(api)
    function_lines = [json.loads(line) for line in stdout.splitlines()]
    answered = [line for line in function_lines if line.get("message") == "Request answered"]
    assert [(line["route"], line["status"]) for line in answered] == [("GET /api/v1/health", 200), ("not found", 404)]
    assert stderr.startswith("PetSage local API serving at http://127.0.0.1:")
    assert "DELETE /api/v1/health -> 404" in stderr
    assert not any(line.lstrip().startswith("{") for line in stderr.splitlines()), "no JSON on the server's stream"


# --- the IAM-authorized readiness details, as the template routes them --------------------------

DETAILS = "/api/v1/health/ready/details"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_unsigned_details_requests_get_api_gateways_403_without_reaching_the_function(
    local_api: LocalApi, method: str
) -> None:
    result = local_api.request(method, DETAILS)
    assert result.status == 403
    if method == "GET":
        assert json.loads(result.body) == {"message": "Forbidden"}
    assert result.header("Cache-Control") is None  # API Gateway's own answer, not the function's


def test_a_signed_details_request_gets_every_check_and_the_public_route_names_none(local_api: LocalApi) -> None:
    # Locally any Authorization header passes: the signature is not verified (docs/local-development.md).
    signed = local_api.request("GET", DETAILS, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=local"})
    assert signed.status == 200
    assert signed.header("Content-Type") == "application/health+json"
    assert set(json.loads(signed.body)) == {"status", "version", "releaseId", "serviceId", "description", "checks"}
    public = local_api.request("GET", "/api/v1/health/ready")
    assert set(json.loads(public.body)) == {"status", "version", "releaseId", "serviceId", "description"}
