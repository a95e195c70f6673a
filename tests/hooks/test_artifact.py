"""Both hooks as Lambda runs them: in a fresh interpreter with only their code (the CodeUri, which SAM
ships as it is) and what the python3.13 runtime provides (boto3) on sys.path, called by the handler
names template.yaml gives, against the same loopback deployment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from local_api.template import load_template
from tests.conftest import REPO_ROOT
from tests.hooks.fakes import HOOK_EVENT, Deployment, Version, broken_on, good_version, reported

pytestmark = pytest.mark.integration

# As Lambda's python3.13 runtime runs a handler: the record's `extra` fields in each JSON log line
# (its JSON log format), and a context that says how much of the 120 s timeout is left.
RUNNER = """
import importlib, json, logging, sys, time
code, runtime, handler, event = sys.argv[1:]
sys.path[:0] = [code, runtime]
PLAIN = set(vars(logging.makeLogRecord({}))) | {"message"}

class JsonLines(logging.Formatter):
    def format(self, record):
        extra = {key: value for key, value in vars(record).items() if key not in PLAIN}
        return json.dumps({"level": record.levelname, "message": record.getMessage(), **extra})

class Context:
    deadline = time.monotonic() + 120
    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
logging.getLogger().handlers[0].setFormatter(JsonLines())
module_name, _, function = handler.rpartition(".")
module = importlib.import_module(module_name)
getattr(module, function)(json.loads(event), Context())
print(module.__file__)
"""


CODE = REPO_ROOT / "functions" / "deploy_hooks"
RUNTIME = Path(boto3.__file__).parent.parent  # boto3 and its closure, as /var/runtime holds them


@pytest.mark.parametrize("function", ["PreTrafficHookFunction", "PostTrafficHookFunction"])
@pytest.mark.parametrize(
    ("version", "status", "failed_checks"),
    [
        (good_version, "Succeeded", []),
        (broken_on("GET /api/v1/health", lambda answer: {**answer, "statusCode": 500}), "Failed", ["liveness"]),
    ],
    ids=["good", "liveness-500"],
)
def test_each_hook_as_lambda_runs_it_reports_its_verdict_once(
    function: str,
    version: Version,
    status: str,
    failed_checks: list[str],
    deployment: Deployment,
    unreachable_endpoint: str,
) -> None:
    deployment.version = version
    handler = load_template()["Resources"][function]["Properties"]["Handler"]
    process = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, str(CODE), str(RUNTIME), handler, json.dumps(HOOK_EVENT)],
        env=deployment.environment(unreachable_endpoint),  # all Lambda would set that the hooks read
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert Path(process.stdout.strip()).is_relative_to(CODE)
    assert deployment.reports == reported(status)
    logs = [json.loads(line) for line in process.stderr.splitlines()]  # every line JSON: nothing unencodable
    assert [line["check"] for line in logs if line["message"] == "Check failed"] == failed_checks
