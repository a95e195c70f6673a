"""Readiness configuration: read once, never crashes, and a bad value is visible."""

from __future__ import annotations

import pytest

from petsage_health.config import DEFAULT_CACHE_TTL_SECONDS, DEFAULT_TIMEOUT_SECONDS, Dependency, ReadinessConfig


def test_nothing_configured_means_nothing_to_check_and_the_defaults() -> None:
    config = ReadinessConfig.from_environment({})
    assert config.dependencies == ()
    assert config.timeout_seconds == DEFAULT_TIMEOUT_SECONDS == 2
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


def test_release_id_comes_from_configuration_then_the_function_version() -> None:
    assert ReadinessConfig.from_environment({"HEALTH_RELEASE_ID": "abc123"}).release_id == "abc123"
    assert ReadinessConfig.from_environment({"AWS_LAMBDA_FUNCTION_VERSION": "7"}).release_id == "7"
    assert ReadinessConfig.from_environment({}).release_id == "unknown"
