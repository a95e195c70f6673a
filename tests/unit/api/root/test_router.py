"""The API root (petsage_api.root): a greeting at `/` that points at the documentation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from petsage_api.root.models import WelcomeResponse
from tests.conftest import request

Invoke = Callable[[Any], Any]

WELCOME = {"message": "Welcome to the PetSage API! Find our docs at /docs"}


def test_root_welcomes_and_points_at_the_docs(invoke: Invoke) -> None:
    response = invoke(request("GET", "/"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == WELCOME


def test_welcome_points_at_the_docs() -> None:
    assert WelcomeResponse().model_dump() == WELCOME
