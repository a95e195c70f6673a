"""Whatever event arrives, the function answers: never raises, never a 5xx, never gives itself away."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings

from tests.adversarial.contract import (
    CANARY_ENV,
    ROUTE_PATHS,
    assert_proxy_response,
    decoded_body,
    designed_5xx,
    leaks,
    routed_path,
)
from tests.adversarial.strategies import http_events, json_values, mutated_http_events
from tests.conftest import request
from tests.contract import LIVENESS
from tests.pytest_progress import count_examples

Invoke = Callable[[Any], Any]
Test = TypeVar("Test", bound=Callable[..., None])

# `make test` (profile "test"): 3,000 events; `make fuzz` (profile "fuzz"): 50 times as many.
HTTP_EXAMPLES = 2_000
MUTATED_EXAMPLES = 600
NON_HTTP_EXAMPLES = 400
FUZZ_FACTOR = 50


@pytest.fixture(scope="module", autouse=True)
def canary_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CANARY_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def trusted_bodies() -> set[bytes]:
    """What successful plain GETs of every template route answer (with and without gzip)."""
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    bodies = set()
    for path in ROUTE_PATHS:
        for headers in ({"accept-encoding": "gzip"}, {}):
            response = lambda_handler(request("GET", path, headers=headers), LocalLambdaContext("HealthFunction"))
            if 200 <= response["statusCode"] < 300:
                bodies.add(decoded_body(response))
    return bodies


def _scale(examples: int) -> Callable[[Test], Test]:
    """`examples` per test; FUZZ_FACTOR times as many under `make fuzz`, counted there on a progress
    line, and a twentieth under `make mutation`, which runs these tests once per surviving mutant."""
    profile = settings.get_current_profile_name()
    fuzzing = profile == "fuzz"
    total = examples * FUZZ_FACTOR if fuzzing else examples // 20 if profile == "mutation" else examples

    def apply(test: Test) -> Test:
        test = settings(max_examples=total)(test)
        if fuzzing:
            count_examples(test, "fuzz", total)
        return test

    return apply


@_scale(HTTP_EXAMPLES)
@given(event=http_events())
def test_any_http_api_request_gets_a_well_formed_answer(event: dict[str, Any], trusted_bodies: set[bytes]) -> None:
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    response = lambda_handler(event, LocalLambdaContext("HealthFunction"))
    assert_proxy_response(response, routed_path(event), trusted_bodies)


@_scale(MUTATED_EXAMPLES)
@given(event=mutated_http_events())
def test_a_request_event_with_any_field_broken_is_answered_not_raised(
    event: dict[str, Any], trusted_bodies: set[bytes]
) -> None:
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    response = lambda_handler(event, LocalLambdaContext("HealthFunction"))
    assert_proxy_response(response, routed_path(event), trusted_bodies)


@_scale(NON_HTTP_EXAMPLES)
@given(event=json_values)
def test_any_other_json_event_gets_the_liveness_payload(event: Any, trusted_bodies: set[bytes]) -> None:
    from handler import lambda_handler
    from local_api.lambda_runtime import LocalLambdaContext

    response = lambda_handler(event, LocalLambdaContext("HealthFunction"))
    if isinstance(event, dict) and {"requestContext", "rawPath", "routeKey", "httpMethod"} & set(event):
        assert_proxy_response(response, routed_path(event), trusted_bodies)  # looked like HTTP: a 400
    else:
        assert response == LIVENESS


def test_the_leak_scan_recognises_what_it_looks_for() -> None:
    empty: dict[str, str] = {}
    with pytest.raises(KeyError) as raised:
        _ = empty["missing"]
    found = leaks("".join(traceback.format_exception(raised.value)))
    assert "Traceback (most recent call last)" in found
    assert "KeyError" in found
    assert any(path.endswith("test_fuzzed_events.py") for path in found)
    assert leaks(f"value {CANARY_ENV['PETSAGE_FUZZ_CANARY']}") == ["$PETSAGE_FUZZ_CANARY"]
    assert leaks('{"statusCode":500,"message":"Internal Server Error"}') == []


def test_only_the_readiness_route_may_answer_a_5xx() -> None:
    assert designed_5xx("/api/v1/health/ready") == {503}
    assert designed_5xx("/api/v1/health") == set()
    assert designed_5xx("/api/v1/health/ready/more") == set()
    assert designed_5xx("/") == set()
