"""`make deploy` as the README gives it, on a fresh checkout, refusing in one line what would fail later.

A copy of the repository's files (tracked and untracked, nothing ignored: no .aws-sam, no
__pycache__) stands in for a fresh clone; it borrows the installed environments. The user's AWS
files are never read: every test points the SDK at empty ones, and the instance metadata
service (a non-loopback address) is off. The account is a loopback fake of the Lambda and
CloudFormation APIs, which the preflight reads before anything is built.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from local_api.events import HttpReply
from scripts.rehearse import scratch_copy
from tests.loopback import Loopback, Request, json_error

MAKE_DEPLOY_LINE = "make deploy: "


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scratch_copy(tmp_path_factory.mktemp("checkout"))


def without_aws(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This machine's environment less anything AWS, with empty AWS files and no instance metadata."""
    for name in ("config", "credentials"):
        (tmp_path / name).touch()
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MAKE")) and name != "MFLAGS"
    }
    environment.update(
        {
            "HOME": str(tmp_path),
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAM_CLI_TELEMETRY": "0",
            **extra,
        }
    )
    return environment


@dataclass
class Account:
    """An AWS account as the preflight reads it: Lambda's concurrency figures and the stack's status."""

    concurrent_executions: int = 1000
    unreserved: int = 1000
    stack_status: str | None = None  # None: the stack does not exist yet
    function_reserves: int | None = None  # the deployed function's own reservation
    calls: list[str] = field(default_factory=list)
    server: Loopback = field(init=False)

    def __post_init__(self) -> None:
        self.server = Loopback(self._answer)

    def environment(self) -> dict[str, str]:
        return self.environment_of(self.server)

    @staticmethod
    def environment_of(server: Loopback) -> dict[str, str]:
        """Dummy keys, and every AWS endpoint on the loopback server."""
        keys = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
        return {**keys, "AWS_ENDPOINT_URL": server.url}

    def _answer(self, request: Request) -> HttpReply:
        if request.target.rstrip("/") == "/2016-08-19/account-settings":
            self.calls.append("GetAccountSettings")
            limit = {
                "ConcurrentExecutions": self.concurrent_executions,
                "UnreservedConcurrentExecutions": self.unreserved,
            }
            return HttpReply(200, [("Content-Type", "application/json")], json.dumps({"AccountLimit": limit}).encode())
        if request.target.endswith("/concurrency"):
            self.calls.append("GetFunctionConcurrency")
            reserved = (
                {} if self.function_reserves is None else {"ReservedConcurrentExecutions": self.function_reserves}
            )
            return HttpReply(200, [("Content-Type", "application/json")], json.dumps(reserved).encode())
        form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
        self.calls.append(form.get("Action", request.target))
        if form.get("Action") == "DescribeStacks":
            if self.stack_status is None:
                return _query_error("ValidationError", f"Stack with id {form['StackName']} does not exist")
            return _query("DescribeStacks", f"<Stacks><member><StackName>{form['StackName']}</StackName><StackStatus>"
                          f"{self.stack_status}</StackStatus><CreationTime>2026-12-01T00:00:00Z</CreationTime>"
                          "</member></Stacks>")  # fmt: skip
        if form.get("Action") == "DescribeStackResource":
            detail = "".join(
                f"<{name}>{value}</{name}>"
                for name, value in {
                    "LogicalResourceId": "HealthFunction",
                    "PhysicalResourceId": "petsage-health-prod-HealthFunction-X",
                    "ResourceType": "AWS::Lambda::Function",
                    "ResourceStatus": "UPDATE_COMPLETE",
                    "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
                }.items()
            )
            return _query("DescribeStackResource", f"<StackResourceDetail>{detail}</StackResourceDetail>")
        return json_error(400, "UnknownOperationException", request.target)


def _query(action: str, result: str) -> HttpReply:
    body = f'<{action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><{action}Result>{result}'
    return HttpReply(200, [("Content-Type", "text/xml")], f"{body}</{action}Result></{action}Response>".encode())


def _query_error(code: str, message: str) -> HttpReply:
    error = f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    body = f"<ErrorResponse>{error}</ErrorResponse>"
    return HttpReply(400, [("Content-Type", "text/xml")], body.encode())


@pytest.fixture
def account() -> Iterator[Account]:
    fake = Account()
    yield fake
    fake.server.close()


def run(checkout: Path, environment: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=checkout, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def make_deploy(checkout: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return run(checkout, environment, "make", "deploy", *arguments)


def our_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What make deploy itself said (make's own "Error 2" line aside)."""
    return [line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("make: ***")]


def test_without_credentials_make_deploy_stops_before_building_with_one_line(checkout: Path, tmp_path: Path) -> None:
    result = make_deploy(checkout, without_aws(tmp_path))
    assert result.returncode != 0
    [line] = our_lines(result)
    assert line.startswith("make deploy: refused: no AWS credentials found for profile 'default'")
    assert "region eu-west-1, samconfig.toml [dev]" in line  # where it looked
    assert "AWS_PROFILE" in line
    assert "AWS_ACCESS_KEY_ID" in line  # how to set them
    assert not (checkout / ".aws-sam").exists()  # nothing was built


def test_keys_in_the_environment_count_even_with_a_profile_set(
    checkout: Path, tmp_path: Path, account: Account
) -> None:
    # SAM CLI uses AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY whatever AWS_PROFILE says; so does the check.
    environment = without_aws(tmp_path, AWS_PROFILE="regional", **account.environment())
    (tmp_path / "config").write_text("[profile regional]\nregion = eu-west-1\n", encoding="utf-8")
    result = run(
        checkout, environment, ".venv/bin/python", "-m", "scripts.deploy", "--config-env", "dev", "--preflight"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"make deploy: dev: credentials from env (profile 'regional'), region eu-west-1 at {account.server.url}\n"
    )
    assert account.calls == ["DescribeStacks"]  # dev reserves no concurrency: nothing more to read


def test_a_profile_that_does_not_exist_is_named(checkout: Path, tmp_path: Path) -> None:
    result = make_deploy(checkout, without_aws(tmp_path, AWS_PROFILE="petsage-nowhere"))
    assert result.returncode != 0
    [line] = our_lines(result)
    assert "profile 'petsage-nowhere'" in line
    assert "Traceback" not in result.stderr


def test_prod_without_an_alarm_subscriber_is_refused_before_building(checkout: Path, tmp_path: Path) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
    result = make_deploy(checkout, without_aws(tmp_path, **keys), "CONFIG_ENV=prod")
    assert result.returncode != 0
    [line] = our_lines(result)
    assert line.startswith("make deploy: refused: this environment requires someone to receive its alarms")
    assert not (checkout / ".aws-sam").exists()


def test_an_unknown_environment_is_refused_in_one_line(checkout: Path, tmp_path: Path) -> None:
    result = make_deploy(checkout, without_aws(tmp_path), "CONFIG_ENV=staging")
    assert result.returncode != 0
    [line] = our_lines(result)
    assert line == "make deploy: refused: samconfig.toml has no [staging] environment"


@pytest.mark.parametrize("target", ["help", "openapi", "canary", "lock"])
def test_the_readmes_other_quick_commands_run_on_a_fresh_checkout(checkout: Path, tmp_path: Path, target: str) -> None:
    # Regenerating openapi.json, the embedded canary or the lock on a fresh checkout changes nothing.
    generated = ("openapi.json", "README.md", "template.yaml", "uv.lock", "requirements.txt")
    before = {name: (checkout / name).read_bytes() for name in generated}
    result = run(checkout, without_aws(tmp_path), "make", target)
    assert result.returncode == 0, result.stderr
    assert {name: (checkout / name).read_bytes() for name in before} == before


# --- the account: what would fail late is refused before anything is built ----------------------------

PROD = ("CONFIG_ENV=prod", "PARAMS=AlarmEmail=oncall@example.com")


def test_a_reservation_the_accounts_quota_cannot_take_is_refused_in_one_line(
    checkout: Path, tmp_path: Path, account: Account
) -> None:
    # A new account: 50 concurrent executions in all. prod reserves 10, and Lambda keeps 100 unreserved.
    account.concurrent_executions = account.unreserved = 50
    result = make_deploy(checkout, without_aws(tmp_path, **account.environment()), *PROD)
    assert result.returncode != 0
    [line] = our_lines(result)
    assert line == (
        "make deploy: refused: ReservedConcurrency=10 would leave 40 of this account's 50 concurrent executions "
        "in eu-west-1 unreserved, and Lambda keeps at least 100: ask for a higher quota (Service Quotas, Lambda, "
        "Concurrent executions), or deploy with PARAMS=ReservedConcurrency=0 until then"
    )
    assert account.calls == ["DescribeStacks", "GetAccountSettings"]
    assert not (checkout / ".aws-sam").exists()  # refused before a minute of building


def test_the_functions_own_reservation_counts_as_available_to_it(
    checkout: Path, tmp_path: Path, account: Account
) -> None:
    # 1,000 in all, 100 unreserved because the deployed function already reserves 10: redeploying
    # the same 10 leaves 100, which Lambda allows.
    account.unreserved, account.stack_status, account.function_reserves = 100, "UPDATE_COMPLETE", 10
    environment = without_aws(tmp_path, **account.environment())
    command = (".venv/bin/python", "-m", "scripts.deploy", "--config-env", "prod", "--preflight", PROD[1][7:])
    result = run(checkout, environment, *command)
    assert result.returncode == 0, result.stderr
    assert account.calls == ["DescribeStacks", "GetAccountSettings", "DescribeStackResource", "GetFunctionConcurrency"]


def test_a_stack_that_can_only_be_deleted_is_named_with_the_command_that_deletes_it(
    checkout: Path, tmp_path: Path, account: Account
) -> None:
    account.stack_status = "ROLLBACK_COMPLETE"
    result = make_deploy(checkout, without_aws(tmp_path, **account.environment()))
    assert result.returncode != 0
    [line] = our_lines(result)
    assert line.startswith("make deploy: refused: stack petsage-health-dev is in ROLLBACK_COMPLETE")
    assert "`aws cloudformation delete-stack --stack-name petsage-health-dev --region eu-west-1`" in line


def test_an_account_that_cannot_be_read_is_refused_saying_why(checkout: Path, tmp_path: Path) -> None:
    denied = Loopback(lambda request: _query_error("AccessDenied", "User is not authorized"))
    try:
        result = make_deploy(checkout, without_aws(tmp_path, **Account.environment_of(denied)))
    finally:
        denied.close()
    [line] = our_lines(result)
    assert line.startswith(
        "make deploy: refused: cannot read the account's state in eu-west-1 (DescribeStacks: AccessDenied)"
    )


@pytest.mark.parametrize(("confirm", "flag"), [("false", "--no-confirm-changeset"), ("true", "--confirm-changeset")])
def test_confirm_decides_whether_sam_asks_to_confirm_the_change_set(
    checkout: Path, tmp_path: Path, confirm: str, flag: str
) -> None:
    # A pipeline deploys prod with CONFIRM=false; without it, each environment's confirm_changeset
    # decides (prod asks). `sam` here is a stand-in that prints what it was asked to run.
    sam = tmp_path / "sam"
    sam.write_text('#!/bin/sh\necho "$@"\n', encoding="utf-8")
    sam.chmod(0o755)
    (checkout / ".aws-sam/build/HealthFunction").mkdir(parents=True, exist_ok=True)
    (checkout / ".aws-sam/build/HealthFunction/handler.py").write_text("", encoding="utf-8")
    (checkout / ".aws-sam/build/template.yaml").write_bytes((checkout / "template.yaml").read_bytes())
    command = [".venv/bin/python", "-m", "scripts.deploy", "--config-env", "prod", "--sam", str(sam)]
    result = run(checkout, without_aws(tmp_path), *command, "--confirm", confirm, PROD[1][7:])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == flag
    assert "--confirm" not in run(checkout, without_aws(tmp_path), *command, PROD[1][7:]).stdout
