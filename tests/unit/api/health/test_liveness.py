"""Liveness (petsage_api.health.liveness): answered from the process alone. It touches no dependency,
whatever their state, and its cold path imports neither an AWS SDK client nor the X-Ray SDK."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws

from tests.conftest import EVENTS_DIR, INVOKE_ONCE, request, run_in_fresh_interpreter
from tests.contract import LIVENESS_BODY
from tests.readiness_helpers import probe, use_probe

Invoke = Callable[[Any], Any]


@pytest.mark.usefixtures("aws_environment")
@mock_aws
def test_liveness_is_unaffected_when_every_dependency_fails(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    use_probe(
        monkeypatch, probe(HEALTH_DYNAMODB_TABLES="a-gone", HEALTH_S3_BUCKETS="b-gone", HEALTH_SSM_PARAMETERS="/c")
    )
    assert invoke(request("GET", "/api/v1/health/ready"))["statusCode"] == 503
    health = invoke(request())
    assert health["statusCode"] == 200
    assert health["body"] == LIVENESS_BODY


def test_the_liveness_path_imports_neither_the_xray_sdk_nor_an_sdk_client() -> None:
    # A fresh interpreter, as a cold start: Tracer() or an SDK client would import them (~335 ms).
    # botocore's bare package (~0.5 ms) is imported by Powertools' user-agent hook; nothing below it.
    script = INVOKE_ONCE + (
        "assert response['statusCode'] == 200\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('aws_xray_sdk', 'boto3', 'botocore.')))))\n"
    )
    result = run_in_fresh_interpreter(script, str(EVENTS_DIR / "health.json"), env={})
    assert json.loads(result.stdout.splitlines()[-1]) == []
