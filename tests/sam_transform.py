"""template.yaml as CloudFormation sees it after the AWS::Serverless transform, for given parameter values.

The transform runs in SAM CLI's own environment (.tools/sam, which holds aws-sam-translator: its
pydantic pin conflicts with .venv's), one process for every set of values asked for at once, on
the template as `sam package` uploads it: each function's CodeUri an S3 object. The
`Fn::ForEach` resources (AWS::LanguageExtensions, which SAM CLI expands before this transform:
tests/infrastructure/test_template_iam.py expands them) are left out, and nothing else is
resolved beforehand, so what this returns is what the SAM transform itself makes of the values.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

SAM_PYTHON = REPO_ROOT / ".tools" / "sam" / "bin" / "python"
TRANSFORM = """
import copy, json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

class NoManagedPolicyLookups:
    def load(self):
        return {}

template = yaml_parse(open("template.yaml").read())
template["Transform"] = "AWS::Serverless-2016-10-31"
template["Resources"] = {k: v for k, v in template["Resources"].items() if not k.startswith("Fn::ForEach::")}
for name, resource in template["Resources"].items():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = f"s3://petsage-artifacts/{name}/build.zip"
parameter_sets = json.loads(sys.argv[1])
print(json.dumps([transform(copy.deepcopy(template), values, NoManagedPolicyLookups()) for values in parameter_sets]))
"""


def transformed(*parameter_sets: Mapping[str, str]) -> list[dict[str, Any]]:
    """The CloudFormation template the SAM transform produces with each set of parameter values."""
    if not SAM_PYTHON.exists():
        pytest.fail("SAM CLI's environment is missing: run `make install` (make test does)")
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", TRANSFORM, json.dumps([dict(values) for values in parameter_sets])],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    templates: list[dict[str, Any]] = json.loads(result.stdout)
    return templates


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}
