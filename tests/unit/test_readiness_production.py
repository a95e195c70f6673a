"""Readiness for production: critical vs optional dependencies, downstream HTTP services, and a public
answer that names nothing, with every check kept for IAM-authorized callers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from petsage_health.config import Dependency, ReadinessConfig, http_endpoint
from tests.conftest import create_resources as create_resources_named
from tests.conftest import load_event
from tests.readiness_helpers import Downstream, Invoke, details, probe, serving, statuses, use_probe

pytestmark = pytest.mark.usefixtures("aws_environment")


@pytest.fixture
def downstream() -> Iterator[Downstream]:
    with serving() as server:
        yield server


# --- downstream HTTP services -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health", "pass"), ("/broken", "fail"), ("/moved", "fail"), ("/hang", "fail")],
    ids=["200", "500", "redirect", "hang"],
)
def test_an_http_dependency_passes_on_2xx_only(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream, path: str, status: str
) -> None:
    # A short deadline: /hang fails when it passes.
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + path, HEALTH_CHECK_TIMEOUT_SECONDS="0.5"))
    code, body = details(invoke)
    port = downstream.url.rsplit(":", 1)[1]
    key = f"http/127.0.0.1_{port}{path}:responseTime"
    assert statuses(body) == {key: status}
    assert (code, body["status"]) == ((200, "pass") if status == "pass" else (503, "fail"))
    entry = body["checks"][key][0]
    assert (entry["componentId"], entry["componentType"]) == (downstream.url + path, "system")


def test_redirects_are_not_followed(invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream) -> None:
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + "/moved"))
    invoke(load_event("ready-details"))
    assert downstream.paths() == ["/moved"]


def test_no_credentials_or_cookies_are_sent_downstream(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream
) -> None:
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + "/health", HEALTH_CACHE_TTL_SECONDS="0"))
    event = load_event("ready-details")  # the caller's own signature and cookies stay with the caller
    event["cookies"] = ["session=caller"]
    invoke(event)
    invoke(event)
    [(_, first), (_, second)] = downstream.requests
    for headers in (first, second):
        assert not {"authorization", "cookie", "x-amz-date"} & set(headers)
        assert headers["user-agent"] == "petsage-health-readiness"


def test_only_the_first_few_kib_of_a_huge_body_are_read(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream
) -> None:
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=downstream.url + "/huge", HEALTH_CHECK_TIMEOUT_SECONDS="5"))
    code, body = details(invoke)
    assert (code, body["status"]) == (200, "pass")
    for _ in range(100):  # the server notices the closed connection on one of its next writes
        if downstream.unfinished_writes:
            break
        time.sleep(0.05)
    assert downstream.unfinished_writes == ["/huge"]


@pytest.mark.parametrize(
    "url",
    [
        "http://api.petsage.example/health",  # plain http off loopback
        "ftp://127.0.0.1/health",
        "https://user:secret@api.petsage.example/health",  # credentials
        "https://api.petsage.example/health?token=secret",  # query strings carry secrets
        "https://api.petsage.example/health#top",
        "https://[2001:db8::1]/health",  # a check key holds no colon
        "https://api.petsage.example:99999/health",
        "https://api_petsage.example/health",
        "/health",
        "not a url",
    ],
)
def test_a_bad_url_is_a_failing_configuration_check_and_is_never_called(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    assert http_endpoint(url) is None
    use_probe(monkeypatch, probe(HEALTH_HTTP_ENDPOINTS=url))
    code, body = details(invoke)
    assert code == 503
    assert statuses(body) == {"config/HEALTH_HTTP_ENDPOINTS:validity": "fail"}


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://api.petsage.example/health", "http/api.petsage.example/health"),
        ("https://API.petsage.example:8443/v1/health", "http/api.petsage.example_8443/v1/health"),
        ("https://api.petsage.example", "http/api.petsage.example/"),
        ("http://localhost:3000/api/v1/health", "http/localhost_3000/api/v1/health"),
        ("http://127.0.0.1:8080/health", "http/127.0.0.1_8080/health"),
        ("http://[::1]:8080/health", None),
    ],
)
def test_http_check_keys_are_host_and_path_with_a_non_default_port(url: str, key: str | None) -> None:
    if key is None:
        assert http_endpoint(url) is None
    else:
        assert Dependency("http", url).component_name == key


def test_two_urls_with_one_key_are_a_configuration_failure() -> None:
    config = ReadinessConfig.from_environment(
        {"HEALTH_HTTP_ENDPOINTS": "https://a.petsage.example/health,http://localhost/x,http://LOCALHOST/x"}
    )
    assert [d.component_name for d in config.dependencies] == ["http/a.petsage.example/health", "http/localhost/x"]
    assert config.invalid == {"HEALTH_HTTP_ENDPOINTS": 1}


# --- critical and optional dependencies -------------------------------------------------------


def create_resources() -> None:
    create_resources_named(HEALTHY_TABLE, HEALTHY_BUCKET, HEALTHY_PARAMETER)


# (variable, a value that fails, its key)
FAILING = {
    "dynamodb": ("HEALTH_DYNAMODB_TABLES", "vanished", "dynamodb/vanished"),
    "s3": ("HEALTH_S3_BUCKETS", "vanished-bucket", "s3/vanished-bucket"),
    "ssm": ("HEALTH_SSM_PARAMETERS", "/petsage/vanished", "ssm//petsage/vanished"),
}
# Names that appear nowhere in the service's own words ("pets" is inside "petsage-health").
HEALTHY_TABLE, HEALTHY_BUCKET, HEALTHY_PARAMETER = "kennels", "pawprint-assets", "/kennel/flag"
HEALTHY = {
    "HEALTH_DYNAMODB_TABLES": HEALTHY_TABLE,
    "HEALTH_S3_BUCKETS": HEALTHY_BUCKET,
    "HEALTH_SSM_PARAMETERS": HEALTHY_PARAMETER,
}


@pytest.mark.parametrize("kind", [*FAILING, "http"])
@pytest.mark.parametrize("optional", [False, True], ids=["critical", "optional"])
@mock_aws
def test_a_failing_critical_dependency_fails_readiness_and_an_optional_one_warns(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream, kind: str, optional: bool
) -> None:
    create_resources()
    environ = dict(HEALTH_HTTP_ENDPOINTS=downstream.url + "/health", **HEALTHY)
    if kind == "http":
        environ["HEALTH_HTTP_ENDPOINTS"] += "," + downstream.url + "/broken"
        failing_key = f"http/127.0.0.1_{downstream.url.rsplit(':', 1)[1]}/broken"
    else:
        variable, value, failing_key = FAILING[kind]
        environ[variable] += "," + value
    if optional:
        environ["HEALTH_OPTIONAL_DEPENDENCIES"] = failing_key
    use_probe(monkeypatch, probe(**environ))
    code, body = details(invoke)
    assert statuses(body)[f"{failing_key}:responseTime"] == "fail"  # the component itself failed either way
    assert [s for k, s in statuses(body).items() if not k.startswith(failing_key)] == ["pass"] * 4
    assert (code, body["status"]) == ((200, "warn") if optional else (503, "fail"))
    public = invoke(load_event("ready"))
    assert (public["statusCode"], json.loads(public["body"])["status"]) == (code, body["status"])


def test_an_optional_key_naming_no_dependency_is_a_configuration_failure(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_probe(
        monkeypatch,
        probe(
            HEALTH_HTTP_ENDPOINTS="http://127.0.0.1:9/health",
            HEALTH_OPTIONAL_DEPENDENCIES="dynamodb/pets,http/127.0.0.1_9/health",
        ),
    )
    code, body = details(invoke)
    assert code == 503
    assert statuses(body)["config/HEALTH_OPTIONAL_DEPENDENCIES:validity"] == "fail"
    assert body["checks"]["config/HEALTH_OPTIONAL_DEPENDENCIES:validity"][0]["observedValue"] == 1
    # the key that names a configured dependency still counts: that check failing only warns
    assert statuses(body)["http/127.0.0.1_9/health:responseTime"] == "fail"


# --- the public answer names nothing; details need IAM ------------------------------------------

PUBLIC_KEYS = {"status", "version", "releaseId", "serviceId", "description"}


@pytest.mark.parametrize("healthy", [True, False], ids=["pass", "fail"])
@mock_aws
def test_the_public_answer_names_no_resource_whatever_is_configured(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, downstream: Downstream, healthy: bool
) -> None:
    create_resources()
    environ = dict(HEALTH_HTTP_ENDPOINTS=downstream.url + "/health", **HEALTHY)
    if not healthy:
        for variable, value, _ in FAILING.values():
            environ[variable] += "," + value
        environ["HEALTH_HTTP_ENDPOINTS"] += f",{downstream.url}/broken"
        environ["HEALTH_S3_BUCKETS"] += ",Not_A_Bucket!"
        environ["HEALTH_OPTIONAL_DEPENDENCIES"] = "s3/pawprint-assets"
    use_probe(monkeypatch, probe(**environ))
    for event in ("ready", "ready-head"):
        response = invoke(load_event(event))
        assert response["statusCode"] == (200 if healthy else 503)
        assert response["headers"]["Content-Type"] == "application/health+json"
        if event == "ready":
            assert set(json.loads(response["body"])) == PUBLIC_KEYS
        shown = json.dumps(response)
        names = [value for values in environ.values() for value in values.split(",")]
        names += ["kennel", "pawprint", "vanished", "Not_A_Bucket", "127.0.0.1", "dynamodb", "s3/", "ssm", "http"]
        assert [name for name in names if name in shown] == []


def test_the_details_refuse_an_event_without_an_iam_authorizer(invoke: Invoke) -> None:
    # Should the template ever lose `Auth: AWS_IAM`, API Gateway would pass unsigned requests on.
    authorizers: list[dict[str, Any] | None] = [None, {}, {"iam": None}, {"iam": {}}, {"jwt": {"claims": {"sub": "x"}}}]
    for authorizer in authorizers:
        event = load_event("ready-details")
        if authorizer is None:
            del event["requestContext"]["authorizer"]
        else:
            event["requestContext"]["authorizer"] = authorizer
        response = invoke(event)
        assert response["statusCode"] == 403, authorizer
        assert json.loads(response["body"]) == {"statusCode": 403, "message": "Forbidden"}
        assert response["headers"]["Content-Type"] == "application/json"


def test_the_details_answer_the_full_draft_document_to_a_signed_request(invoke: Invoke) -> None:
    response = invoke(load_event("ready-details"))
    assert response["statusCode"] == 200
    assert set(json.loads(response["body"])) == PUBLIC_KEYS | {"checks"}
    head = invoke(load_event("ready-details-head"))
    assert (head["statusCode"], head["body"]) == (200, "")


def test_an_authorizer_of_the_wrong_shape_is_a_malformed_event(invoke: Invoke) -> None:
    event = load_event("ready-details")
    event["requestContext"]["authorizer"] = {"iam": "not-an-object"}
    response = invoke(event)
    assert response["statusCode"] == 400
    assert "requestContext.authorizer.iam" in json.loads(response["body"])["message"]
