"""The API function's host build under AWS's runtime interface client (awslambdaric), fed by local_api's
Runtime API: it answers every route from its own bytecode, and writes only JSON lines to its log.

One execution environment answers a request to every route and two direct invocations, as one Lambda
environment would, with the template's configuration (its JSON log format included).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_api.runtime_api import ExecutionEnvironment, Invocation
from local_api.template import functions, http_api_routes, load_template, matching_route
from tests.conftest import REPO_ROOT, load_event, request
from tests.contract import LIVENESS
from tests.invoke.lambda_log import by_invocation

pytestmark = pytest.mark.artifact

TEMPLATE = load_template()
SPEC = functions(TEMPLATE)["HealthFunction"]
ROUTES = http_api_routes(TEMPLATE)
# Every route the OpenAPI document describes, and the two that serve it.
PATHS = [*json.loads((REPO_ROOT / "openapi.json").read_text())["paths"], "/docs", "/openapi.json"]
DIRECT = {"scheduled": load_event("scheduled"), "direct invoke": {}}


def signed(path: str) -> bool:
    """Whether API Gateway lets only SigV4-signed requests through to `path`."""
    route = matching_route(ROUTES, "GET", path)
    return route is not None and route.authorizer == "AWS_IAM"


REQUESTS = {
    **{path: request("GET", path, signed=signed(path)) for path in PATHS},
    "/no-such-route": request("GET", "/no-such-route"),
    "malformed": {name: value for name, value in request().items() if name != "requestContext"},
    **DIRECT,
}


@dataclasses.dataclass(frozen=True)
class Run:
    answers: dict[str, Invocation]  # by the name of what was sent
    log: str  # the log stream: the function's lines between Lambda's START, END and REPORT
    written: list[str]  # files the environment created or changed in its code directory


def run(code: Path, events: dict[str, Any], log: Path) -> Run:
    """One environment answering `events` in turn, from the code at `code`."""
    before = snapshot(code)
    function = dataclasses.replace(SPEC, code_dir=code)
    with log.open("a+") as stream, ExecutionEnvironment(function, stream) as environment:
        answers = {name: environment.invoke(event) for name, event in events.items()}
        stream.seek(0)
        text = stream.read()
    return Run(answers, text, sorted(str(path) for path, _ in snapshot(code).items() - before.items()))


def snapshot(code: Path) -> dict[Path, tuple[int, int]]:
    return {path: (path.stat().st_size, path.stat().st_mtime_ns) for path in code.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def answered(host_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run(host_artifact, REQUESTS, tmp_path_factory.mktemp("log") / "log")


def test_every_route_and_a_direct_invocation_are_answered_as_documented(answered: Run) -> None:
    assert {name: invocation.error_type for name, invocation in answered.answers.items()} == dict.fromkeys(REQUESTS)
    statuses = {name: invocation.json().get("statusCode") for name, invocation in answered.answers.items()}
    assert statuses == {**dict.fromkeys(PATHS, 200), "/no-such-route": 404, "malformed": 400, **dict.fromkeys(DIRECT)}
    assert json.loads(answered.answers["/api/v1/health"].json()["body"]) == LIVENESS
    assert [answered.answers[name].json() for name in DIRECT] == [LIVENESS] * len(DIRECT)


def test_it_answers_from_its_own_bytecode_writing_nothing_where_lambda_cannot(answered: Run) -> None:
    # /var/task is read-only on Lambda. A module without valid bytecode would be compiled on import, and
    # its .pyc cached here: nothing is, so every module came from the .pyc the build shipped.
    assert answered.written == []


def test_a_module_compiled_on_import_would_show_as_written(tmp_path: Path) -> None:
    # The check above must be able to fail: code without its bytecode gets it written on import.
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    written = run(code, {"direct invoke": {}}, tmp_path / "log").written
    assert written == [str(code / "__pycache__" / "handler.cpython-313.pyc")]


def test_every_line_it_writes_is_json_carrying_its_request_id_one_of_them_its_record(answered: Run) -> None:
    lines = by_invocation(answered.log)
    assert list(lines) == [invocation.request_id for invocation in answered.answers.values()]
    for name, invocation in answered.answers.items():
        logged = [json.loads(line) for line in lines[invocation.request_id]]
        assert all(isinstance(line, dict) and invocation.request_id in line.values() for line in logged), name
        # The request id and the cold start come from the context awslambdaric built from the Runtime API.
        [record] = [line for line in logged if line["message"] == "Request answered"]
        assert (record["function_request_id"], record["cold_start"]) == (invocation.request_id, invocation.cold), name
    outside = [line for line in answered.log.splitlines() if not line.startswith(("START ", "END ", "REPORT "))]
    assert [line for line in outside if not line.startswith("{")] == [], "the init's lines, if any, are JSON too"


def test_the_handler_imports_from_the_artifact_alone(host_artifact: Path) -> None:
    # -I -S: no site-packages, so whatever the function imports at init must be in the artifact.
    code = f"import sys; sys.path.insert(0, {str(host_artifact)!r}); import handler; print(handler.__file__)"
    imported = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == str(host_artifact / "handler.py")
