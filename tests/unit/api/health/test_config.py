"""Readiness configuration (petsage_api.health.config): read once from the environment, never crashes,
and a bad value is visible: named once among the problems on-call reads, and a failing check in the
readiness answer, never a dependency silently left unchecked. Which names and URLs each service
accepts, and the check key each dependency is reported under."""

from __future__ import annotations

import json

import pytest

from petsage_api.health.config import (
    DEFAULT_CACHE_TTL_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    Dependency,
    ReadinessConfig,
    http_endpoint,
)
from tests.conftest import request
from tests.readiness_helpers import DRAFT_SCHEMA, Invoke, details, probe, statuses, use_probe

pytestmark = pytest.mark.usefixtures("aws_environment")


# --- reading the environment ----------------------------------------------------------------------


def test_nothing_configured_means_nothing_to_check_and_the_defaults() -> None:
    config = ReadinessConfig.from_environment({})
    assert config.dependencies == ()
    assert config.timeout_seconds == DEFAULT_TIMEOUT_SECONDS == 1  # Route 53 waits 2 s for a cold answer
    assert config.cache_ttl_seconds == DEFAULT_CACHE_TTL_SECONDS == 10
    assert config.problems == ()


def test_names_are_comma_separated_trimmed_and_deduplicated() -> None:
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_DYNAMODB_TABLES": " pets , owners.v2,,pets",
            "HEALTH_S3_BUCKETS": "petsage-assets",
            "HEALTH_SSM_PARAMETERS": "/petsage/prod/flag",
        }
    )
    assert config.dependencies == (
        Dependency("dynamodb", "pets"),
        Dependency("dynamodb", "owners.v2"),
        Dependency("s3", "petsage-assets"),
        Dependency("ssm", "/petsage/prod/flag"),
    )


def test_component_names_keep_dots_and_slashes() -> None:
    assert Dependency("ssm", "/petsage/prod/flag").component_name == "ssm//petsage/prod/flag"
    assert Dependency("dynamodb", "owners.v2").component_name == "dynamodb/owners.v2"


@pytest.mark.parametrize("raw", ["-1", "0", "abc", "nan", "inf", "1e999", "  -0.5 "])
def test_a_bad_timeout_is_reported_and_falls_back_to_the_default(raw: str) -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CHECK_TIMEOUT_SECONDS": raw})
    assert config.timeout_seconds == DEFAULT_TIMEOUT_SECONDS
    assert any("HEALTH_CHECK_TIMEOUT_SECONDS" in problem for problem in config.problems)


def test_an_excessive_timeout_is_capped_below_api_gateways_limit() -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CHECK_TIMEOUT_SECONDS": "600"})
    assert config.timeout_seconds == 25
    assert config.problems


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("2.5", 2.5), ("-3", 10.0), ("soon", 10.0)])
def test_cache_ttl_accepts_zero_and_rejects_junk(raw: str, expected: float) -> None:
    assert ReadinessConfig.from_environment({"HEALTH_CACHE_TTL_SECONDS": raw}).cache_ttl_seconds == expected


def test_invalid_names_are_not_checked_but_counted_as_a_failure() -> None:
    config = ReadinessConfig.from_environment({"HEALTH_S3_BUCKETS": "good-bucket,Bad_Bucket!,x"})
    assert config.dependencies == (Dependency("s3", "good-bucket"),)
    assert config.invalid == {"HEALTH_S3_BUCKETS": 2}
    assert any("HEALTH_S3_BUCKETS" in problem for problem in config.problems)


def test_ssm_names_must_be_hierarchical_to_match_the_templates_iam() -> None:
    config = ReadinessConfig.from_environment({"HEALTH_SSM_PARAMETERS": "/petsage/flag,petsage-flag"})
    assert config.dependencies == (Dependency("ssm", "/petsage/flag"),)
    assert config.invalid == {"HEALTH_SSM_PARAMETERS": 1}


@pytest.mark.parametrize(
    ("environ", "release_id"),
    [
        ({"HEALTH_RELEASE_ID": "abc123"}, "abc123"),
        ({"AWS_LAMBDA_FUNCTION_VERSION": "7"}, "7"),
        ({}, "unknown"),
        ({"HEALTH_RELEASE_ID": "a1b2c3d", "AWS_LAMBDA_FUNCTION_VERSION": "12"}, "a1b2c3d"),
        ({"HEALTH_RELEASE_ID": "", "AWS_LAMBDA_FUNCTION_VERSION": "12"}, "12"),  # the template's default
        ({"HEALTH_RELEASE_ID": "", "AWS_LAMBDA_FUNCTION_VERSION": ""}, "unknown"),
    ],
)
def test_release_id_comes_from_configuration_then_the_function_version(
    environ: dict[str, str], release_id: str
) -> None:
    assert ReadinessConfig.from_environment(environ).release_id == release_id


# --- the configuration's problems, as on-call reads them ---------------------------------------------


def test_every_configuration_problem_is_named_once_and_each_bad_value_counted() -> None:
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_S3_BUCKETS": "petsage-assets,Bad_Bucket!,x",
            "HEALTH_HTTP_ENDPOINTS": "ftp://127.0.0.1/health,http://localhost/x,http://LOCALHOST/x",
            "HEALTH_OPTIONAL_DEPENDENCIES": "s3/petsage-assets,dynamodb/none,dynamodb/none",
            "HEALTH_CHECK_TIMEOUT_SECONDS": "30",
            "HEALTH_CACHE_TTL_SECONDS": "-1",
        }
    )
    assert config.problems == (
        "HEALTH_S3_BUCKETS: 2 value(s) are not valid s3 names; reported as fail",
        "HEALTH_HTTP_ENDPOINTS: 1 value(s) are not valid http names; reported as fail",
        "HEALTH_HTTP_ENDPOINTS: two URLs give the check key http/localhost/x; reported as fail",
        "HEALTH_OPTIONAL_DEPENDENCIES: 1 key(s) name no configured dependency; reported as fail",
        "HEALTH_CHECK_TIMEOUT_SECONDS=30 is over 25; using that",
        "HEALTH_CACHE_TTL_SECONDS='-1' is not a number of seconds >= 0; using 10",
    )
    assert config.invalid == {"HEALTH_S3_BUCKETS": 2, "HEALTH_HTTP_ENDPOINTS": 2, "HEALTH_OPTIONAL_DEPENDENCIES": 1}
    assert config.dependencies == (
        Dependency("s3", "petsage-assets", optional=True),
        Dependency("http", "http://localhost/x"),
    )
    assert (config.timeout_seconds, config.cache_ttl_seconds) == (25.0, 10.0)


@pytest.mark.parametrize(
    ("raw", "timeout", "problems"),
    [
        ("25", 25.0, ()),  # the maximum itself is accepted as it is
        ("25.5", 25.0, ("HEALTH_CHECK_TIMEOUT_SECONDS=25.5 is over 25; using that",)),
        ("0.001", 0.001, ()),  # the minimum too
        ("0.0009", 1.0, ("HEALTH_CHECK_TIMEOUT_SECONDS='0.0009' is not a number of seconds >= 0.001; using 1",)),
        (" 3 ", 3.0, ()),
    ],
)
def test_the_check_timeout_bounds_are_inclusive(raw: str, timeout: float, problems: tuple[str, ...]) -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CHECK_TIMEOUT_SECONDS": raw})
    assert (config.timeout_seconds, config.problems) == (timeout, problems)


def test_an_echoed_bad_value_is_cut_to_40_characters() -> None:
    config = ReadinessConfig.from_environment({"HEALTH_CACHE_TTL_SECONDS": "x" * 39 + "yz"})
    assert config.problems == (
        f"HEALTH_CACHE_TTL_SECONDS={'x' * 39 + 'y'!r} is not a number of seconds >= 0; using 10",
    )


# --- which names and URLs are accepted, and their check keys --------------------------------------


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://LocalHost:8080/health", True),  # loopback names are not case-sensitive
        ("http://127.0.0.2/health", True),  # all of 127.0.0.0/8 is loopback
        ("http://10.0.0.1/health", False),  # plain http only on loopback
        ("https://api.petsage.example:1/health", True),
        ("https://api.petsage.example:65535/health", True),
        ("https://api.petsage.example:0/health", False),
        ("https://api.petsage.example:65536/health", False),
        ("https://user@api.petsage.example/health", False),  # a user name alone is a credential too
        ("https://api.petsage.example/health?", False),  # an empty query is still a query
        ("https://api.petsage.example/health#", False),
        ("https://api.petsage.example/he alth", False),
        ("https://api.petsage.example", True),  # no path: "/"
        ("https:///health", False),  # no host at all
        ("https://api.petsage.example/v1:health", False),  # a check key holds exactly one colon
        ("https://api.petsage.example/" + "p" * 511, True),  # a path of 512 characters
        ("https://api.petsage.example/" + "p" * 512, False),
    ],
)
def test_which_health_urls_are_accepted(url: str, accepted: bool) -> None:
    config = ReadinessConfig.from_environment({"HEALTH_HTTP_ENDPOINTS": url})
    assert (config.dependencies == (Dependency("http", url),)) is accepted
    assert (config.invalid == {"HEALTH_HTTP_ENDPOINTS": 1}) is not accepted


def test_name_rules_are_the_services_own() -> None:
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_DYNAMODB_TABLES": "ab,abc,Pets_v2.x-y," + "t" * 256,
            "HEALTH_S3_BUCKETS": "ab,abc,-abc,abc-," + "b" * 63 + ",b" + "b" * 63,
            "HEALTH_SSM_PARAMETERS": "/a,/,/a b,/" + "p" * 1010 + ",/" + "p" * 1011,
        }
    )
    assert [d.name for d in config.dependencies] == ["abc", "Pets_v2.x-y", "abc", "b" * 63, "/a", "/" + "p" * 1010]
    assert config.invalid == {"HEALTH_DYNAMODB_TABLES": 2, "HEALTH_S3_BUCKETS": 4, "HEALTH_SSM_PARAMETERS": 3}


def test_the_longest_accepted_names_are_valid_cloudwatch_dimension_values() -> None:
    # Each check key is the `dependency` dimension of its metrics; CloudWatch takes at most 1,024
    # characters and drops a record with a longer one.
    config = ReadinessConfig.from_environment(
        {
            "HEALTH_DYNAMODB_TABLES": "t" * 255,
            "HEALTH_S3_BUCKETS": "b" * 63,
            "HEALTH_SSM_PARAMETERS": "/" + "p" * 1010,
            "HEALTH_HTTP_ENDPOINTS": "https://" + ".".join(["h" * 63] * 4)[:253] + ":65535/" + "p" * 511,
        }
    )
    assert config.invalid == {}
    assert max(len(d.component_name) for d in config.dependencies) <= 1024


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


# --- a bad value is a failing check in the readiness answer ------------------------------------------


def test_misconfigured_names_fail_readiness_visibly(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    use_probe(monkeypatch, probe(HEALTH_S3_BUCKETS="Not A Bucket!"))
    response = invoke(request("GET", "/api/v1/health/ready/details", signed=True))
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["checks"]["config/HEALTH_S3_BUCKETS:validity"][0]["status"] == "fail"
    assert "Not A Bucket" not in response["body"]
    DRAFT_SCHEMA.validate(body)


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
