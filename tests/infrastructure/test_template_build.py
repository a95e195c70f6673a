"""template.yaml builds the function with the repository's recipe and keeps SnapStart optional, off."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import REPO_ROOT
from tests.infrastructure.stack import composed

TEMPLATE = composed()  # the function as SAM sees it: Globals.Function merged in
FUNCTION: dict[str, Any] = TEMPLATE["Resources"]["HealthFunction"]


def test_sam_build_runs_the_build_target_of_the_root_makefile() -> None:
    assert (FUNCTION["Metadata"]["BuildMethod"], FUNCTION["Metadata"]["ContextPath"]) == ("makefile", ".")
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^build-HealthFunction:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "sam build calls `make build-HealthFunction` with ARTIFACTS_DIR set"
    assert '$(BUILD_FUNCTION) --function api "$(ARTIFACTS_DIR)"' in recipe.group(1)


def test_snapstart_is_a_parameter_that_defaults_to_off() -> None:
    parameter = TEMPLATE["Parameters"]["EnableSnapStart"]
    assert parameter["Default"] == "false"
    assert sorted(parameter["AllowedValues"]) == ["false", "true"]
    assert TEMPLATE["Conditions"]["SnapStartEnabled"] == {"Fn::Equals": [{"Ref": "EnableSnapStart"}, "true"]}


def test_snapstart_applies_to_the_published_versions_behind_the_alias_only_when_enabled() -> None:
    properties = FUNCTION["Properties"]
    assert properties["SnapStart"] == {
        "Fn::If": ["SnapStartEnabled", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }
    # SnapStart restores published versions only: each deploy publishes one behind this alias.
    assert properties["AutoPublishAlias"] == "live"
    assert properties["Runtime"] == "python3.13", "SnapStart for Python needs python3.12 or later"
