"""template.yaml as CloudFormation sees it after the AWS::Serverless transform, for given parameters.

The transform runs in SAM CLI's own environment (.tools/sam, which holds aws-sam-translator),
on the template as `sam package` uploads it: each function's CodeUri an S3 object. The
`Fn::ForEach` resources (the readiness IAM policies, tested on their own in test_template_iam)
are left out, and nothing else is resolved beforehand, so what this returns is what the SAM
transform itself makes of parameter references.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

SAM_PYTHON = REPO_ROOT / ".tools" / "sam" / "bin" / "python"
TRANSFORM = """
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

class NoManagedPolicyLookups:
    def load(self):
        return {}

parameters, code_keys = json.loads(sys.argv[1]), json.loads(sys.argv[2])
template = yaml_parse(open("template.yaml").read())
template["Transform"] = "AWS::Serverless-2016-10-31"
template["Resources"] = {k: v for k, v in template["Resources"].items() if not k.startswith("Fn::ForEach::")}
for name, resource in template["Resources"].items():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = f"s3://petsage-artifacts/{name}/{code_keys.get(name, 'build')}.zip"
print(json.dumps(transform(template, parameters, NoManagedPolicyLookups())))
"""


def transformed(parameters: dict[str, str] | None = None, code_keys: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template the SAM transform produces with these parameter values."""
    if not SAM_PYTHON.exists():
        pytest.fail("SAM CLI's environment is missing: run `make install` (make test does)")
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", TRANSFORM, json.dumps(parameters or {}), json.dumps(code_keys or {})],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    template: dict[str, Any] = json.loads(result.stdout)
    return template


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}
