"""The committed openapi.json is what the function serves; `make openapi` refreshes it."""

from __future__ import annotations

import json

from petsage_health import docs
from petsage_health.routes import app
from tests.conftest import REPO_ROOT, run_in_fresh_interpreter


def test_committed_openapi_matches_the_generated_document() -> None:
    committed = json.loads((REPO_ROOT / "openapi.json").read_text(encoding="utf-8"))
    generated = json.loads(docs.openapi_json(app))
    assert committed == generated, "openapi.json is stale: run `make openapi` and commit the result"


def test_the_docs_are_not_built_at_cold_start() -> None:
    # docs.openapi_json is cached per resolver; a fresh import must not have filled it.
    code = (
        "import sys; import app; from petsage_health import docs; "
        "print(docs.openapi_json.cache_info().currsize, "
        "'aws_lambda_powertools.event_handler.openapi.models' in sys.modules)"
    )
    result = run_in_fresh_interpreter(code)
    assert result.stdout.split() == ["0", "False"]
