"""The stack as CloudFormation gets it, shared by the modules that read what SAM makes of template.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import deploy
from tests.sam_transform import transformed


@pytest.fixture(scope="session")
def prod_stack() -> dict[str, Any]:
    """template.yaml after the SAM transform, with prod's parameter values (samconfig.toml)."""
    [template] = transformed(deploy.samconfig_overrides("prod"))
    return template
