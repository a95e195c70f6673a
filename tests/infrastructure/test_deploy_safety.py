"""`make deploy` deploys what the configuration says, and nothing unsafe (scripts/deploy.py).

Each test pins one finding of the review of the deploy path against the AWS documentation: prod
alarms that notify no one, parameter-only changes that never reach the `live` alias, a value an
earlier deploy set lingering unseen. `make deploy` itself, through the Makefile, is tests/deploy's.
"""

from __future__ import annotations

import copy
import json
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local_api.template import load_template
from scripts import deploy
from tests.conftest import REPO_ROOT
from tests.infrastructure.stack import evaluate
from tests.sam_transform import SAM_PYTHON

TEMPLATE = load_template()
FUNCTION: dict[str, Any] = TEMPLATE["Resources"]["HealthFunction"]["Properties"]


def overrides(env: str) -> dict[str, str]:
    return deploy.samconfig_overrides(env)


# --- prod alarms must notify someone -------------------------------------------------------------


def test_prod_deploys_only_with_a_subscriber_any_one_of_them_and_dev_without() -> None:
    prod = deploy.effective_parameters(TEMPLATE, overrides("prod"))
    with pytest.raises(deploy.DeployRefusedError) as refused:
        deploy.check_alarm_subscriber(prod)
    for name in (*deploy.SUBSCRIBERS, "samconfig.toml"):
        assert name in str(refused.value)  # what to set, and where
    for subscriber in (
        "AlarmEmail=oncall@petsage.example",
        "AlarmHttpsEndpoint=https://events.pagerduty.example/integration/x/enqueue",
        "AlarmNotificationTopicArn=arn:aws:sns:eu-west-1:123456789012:chatops-alarms",
    ):
        deploy.check_alarm_subscriber({**prod, **deploy.parse_overrides([subscriber])})  # does not raise
    deploy.check_alarm_subscriber(deploy.effective_parameters(TEMPLATE, overrides("dev")))


def rule_refuses(values: dict[str, str]) -> bool:
    rule = TEMPLATE["Rules"]["AlarmsReachSomeone"]
    if not evaluate(rule["RuleCondition"], values):
        return False
    return not all(evaluate(assertion["Assert"], values) for assertion in rule["Assertions"])


def test_cloudformation_itself_refuses_a_prod_stack_without_a_subscriber() -> None:
    # For deploys that bypass make (a pipeline running `sam deploy --config-env prod`).
    prod = deploy.effective_parameters(TEMPLATE, overrides("prod"))
    assert rule_refuses(prod)
    assert not rule_refuses({**prod, "AlarmEmail": "oncall@petsage.example"})
    assert not rule_refuses({**prod, "AlarmNotificationTopicArn": "arn:aws:sns:eu-west-1:123456789012:chatops"})
    assert not rule_refuses(deploy.effective_parameters(TEMPLATE, overrides("dev")))


# --- a parameter-only change publishes a new version behind `live` -------------------------------

READINESS_A = {"ReleaseId": "a1b2c3d", "HealthDynamoDbTables": "pets", "EnableSnapStart": "false"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built function, and beside it the template as `sam build` writes it (here: the source's)."""
    build = tmp_path_factory.mktemp("build")
    (build / "template.yaml").write_text((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code = build / "HealthFunction"
    code.mkdir()
    (code / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n", encoding="utf-8")
    return code


def fingerprint_for(artifact: Path, parameters: dict[str, str], template: dict[str, Any] = TEMPLATE) -> str:
    values = deploy.effective_parameters(template, parameters)
    used = deploy.parameters_used_by(template, "HealthFunction")
    return deploy.fingerprint(artifact, deploy.version_properties(template), {name: values[name] for name in used})


@pytest.mark.parametrize(
    "change",
    [
        {"ReleaseId": "e4f5a6b"},
        {"HealthDynamoDbTables": "pets,owners"},
        {"HealthCheckTimeoutSeconds": "3"},
        {"EnableSnapStart": "true"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_parameter_only_change_names_a_new_version(artifact: Path, change: dict[str, str]) -> None:
    # SAM's own hash takes `!Ref ReleaseId` as written: without the fingerprint, no new version.
    # That SAM names the version after the fingerprint is test_deploy_gate's.
    assert fingerprint_for(artifact, {**READINESS_A, **change}) != fingerprint_for(artifact, READINESS_A)


def test_a_code_only_change_names_a_new_version(artifact: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "app.py").write_text("def lambda_handler(event, context):\n    return {'v': 2}\n", encoding="utf-8")
    assert fingerprint_for(artifact, READINESS_A) != fingerprint_for(changed, READINESS_A)


def test_the_same_code_and_parameters_keep_the_same_version(artifact: Path) -> None:
    # Bytecode derives from the sources and is left out, so a rebuild changes nothing.
    first = fingerprint_for(artifact, READINESS_A)
    cache = artifact / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "app.cpython-313.pyc").write_bytes(b"rebuilt")
    assert fingerprint_for(artifact, READINESS_A) == first
    assert len(first) == 64
    assert first.isalnum()  # SAM puts its first characters into the version's logical id


def test_the_fingerprint_covers_every_parameter_the_function_uses() -> None:
    used = deploy.parameters_used_by(TEMPLATE, "HealthFunction")
    variables = FUNCTION["Environment"]["Variables"].values()
    from_environment = {value["Ref"] for value in variables if isinstance(value, dict) and "Ref" in value}
    from_environment |= {
        value["Fn::Join"][1]["Ref"] for value in variables if isinstance(value, dict) and "Fn::Join" in value
    }
    assert from_environment - {"AWS::StackName"} <= used
    assert "EnableSnapStart" in used  # through the SnapStartEnabled condition
    # No part of a version: changing them must not run a needless deployment.
    assert not {"VersionFingerprint", "ReservedConcurrency", "DeploymentStrategy"} & used


def changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of the template with one edit of HealthFunction's properties."""
    template = copy.deepcopy(TEMPLATE)
    edit(template["Resources"]["HealthFunction"]["Properties"])
    return template


VERSIONED_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "MemorySize": lambda p: p.update(MemorySize=1792),
    "Timeout": lambda p: p.update(Timeout=6),
    "Environment literal": lambda p: p["Environment"]["Variables"].update(PYDANTIC_DISABLE_PLUGINS="none"),
    "Layers": lambda p: p.update(Layers=["arn:aws:lambda:eu-west-1:123456789012:layer:extra:1"]),
    "SnapStart literal": lambda p: p.update(SnapStart={"ApplyOn": "PublishedVersions"}),
    "Handler": lambda p: p.update(Handler="app.other_handler"),
    "LoggingConfig": lambda p: p["LoggingConfig"].update(ApplicationLogLevel="DEBUG"),
    "EphemeralStorage (new property)": lambda p: p.update(EphemeralStorage={"Size": 1024}),
}
UNVERSIONED_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "DeploymentPreference": lambda p: p["DeploymentPreference"].update(Type="Canary10Percent5Minutes"),
    "ReservedConcurrentExecutions": lambda p: p.update(ReservedConcurrentExecutions=5),
    "ProvisionedConcurrencyConfig": lambda p: p.update(
        ProvisionedConcurrencyConfig={"ProvisionedConcurrentExecutions": 1}
    ),
    "Events": lambda p: p["Events"].pop("Readiness"),
    "Tags": lambda p: p.update(Tags={"team": "pets"}),
}


@pytest.mark.parametrize("edit", VERSIONED_EDITS.values(), ids=VERSIONED_EDITS.keys())
def test_a_template_literal_that_a_version_holds_names_a_new_version(
    artifact: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    # AutoPublishCodeSha256 replaces SAM's own hash: what it leaves out, no deploy publishes.
    assert fingerprint_for(artifact, READINESS_A, changed(edit)) != fingerprint_for(artifact, READINESS_A)


@pytest.mark.parametrize("edit", UNVERSIONED_EDITS.values(), ids=UNVERSIONED_EDITS.keys())
def test_what_a_version_does_not_hold_publishes_no_version(
    artifact: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    assert fingerprint_for(artifact, READINESS_A, changed(edit)) == fingerprint_for(artifact, READINESS_A)


def test_globals_count_as_the_functions_own_properties(artifact: Path) -> None:
    with_globals = copy.deepcopy(TEMPLATE)
    with_globals.setdefault("Globals", {}).setdefault("Function", {})["Timeout"] = 9
    with_globals["Resources"]["HealthFunction"]["Properties"].pop("Timeout")
    assert deploy.version_properties(with_globals)["Timeout"] == 9
    assert fingerprint_for(artifact, READINESS_A, with_globals) != fingerprint_for(artifact, READINESS_A)
    merged = deploy.version_properties(
        {
            "Globals": {"Function": {"Environment": {"Variables": {"A": "1", "B": "1"}}, "Layers": ["g"]}},
            "Resources": {"F": {"Properties": {"Environment": {"Variables": {"B": "2"}}, "Layers": ["f"]}}},
        },
        "F",
    )
    assert merged == {"Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["g", "f"]}


def test_the_fingerprint_reads_the_template_sam_build_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = tmp_path / "build" / "HealthFunction"
    artifact.mkdir(parents=True)
    (artifact / "app.py").write_text("x = 1\n", encoding="utf-8")
    argv = ["--config-env", "dev", "--artifact", str(artifact), "--print-overrides"]
    assert deploy.main(argv) == 2
    assert "no built template" in capsys.readouterr().err
    (artifact.parent / "template.yaml").write_text((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert deploy.main(argv) == 0


def sam_reads(*arguments: str) -> dict[str, str]:
    """What SAM CLI's own `--parameter-overrides` parser makes of these arguments."""
    code = (
        "import json, sys\n"
        "from samcli.cli.types import CfnParameterOverridesType\n"
        "print(json.dumps(CfnParameterOverridesType().convert(tuple(sys.argv[1:]), None, None)))\n"
    )
    result = subprocess.run([str(SAM_PYTHON), "-c", code, *arguments], capture_output=True, text=True, check=True)
    parsed: dict[str, str] = json.loads(result.stdout)
    return parsed


def expected_values(artifact: Path, env: str, extra: dict[str, str]) -> dict[str, str]:
    """Every parameter: samconfig's, then the extra ones, then the template's default."""
    values = deploy.effective_parameters(TEMPLATE, {**overrides(env), **extra})
    return {**values, "VersionFingerprint": fingerprint_for(artifact, {**overrides(env), **extra})}


def test_make_deploy_passes_every_parameter_so_no_earlier_deploys_value_lingers(
    artifact: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # SAM CLI sends a parameter it is not given as UsePreviousValue: a value set by an earlier
    # deploy would stay, unseen by the fingerprint and the alarm-subscriber check.
    recorder = tmp_path / "sam"
    recorder.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n', encoding="utf-8")
    recorder.chmod(0o755)
    argv = ["--config-env", "dev", "--sam", str(recorder), "--artifact", str(artifact), "ReleaseId=a1b2c3d"]
    assert deploy.main(argv) == 0
    passed = capfd.readouterr().out.splitlines()  # what SAM CLI (here a recorder) was given
    assert passed[:4] == ["deploy", "--config-env", "dev", "--parameter-overrides"]
    read = sam_reads(*passed[4:])
    assert set(read) == set(TEMPLATE["Parameters"])
    assert read == expected_values(artifact, "dev", {"ReleaseId": "a1b2c3d"})
    assert (read["LogRetentionInDays"], read["ReleaseId"]) == ("14", "a1b2c3d")
    assert (read["CanarySchedule"], read["AlarmEmail"]) == ("rate(5 minutes)", "")  # a space, an empty value


def test_a_value_sam_cli_cannot_carry_is_refused(artifact: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--config-env", "dev", "--artifact", str(artifact), "--print-overrides", 'ReleaseId=a"b']
    assert deploy.main(argv) == 2
    assert "double quote: ReleaseId" in capsys.readouterr().err


def test_a_plain_sam_deploy_never_reuses_an_earlier_fingerprint() -> None:
    # Empty, AutoPublishCodeSha256 falls back to SAM's own hash of the code; a previous deploy's
    # fingerprint would keep a code change from publishing a version.
    for env in ("default", "dev", "prod"):
        assert overrides(env)["VersionFingerprint"] == "", env
    raw = tomllib.loads(deploy.SAMCONFIG.read_text(encoding="utf-8"))["prod"]["deploy"]["parameters"]
    assert sam_reads(raw["parameter_overrides"])["VersionFingerprint"] == ""  # as SAM CLI reads it


def test_pipelines_get_the_same_checked_overrides_to_pass_to_sam_deploy(
    artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config-env", "dev", "--artifact", str(artifact), "--print-overrides", "ReleaseId=a1b2c3d"]
    assert deploy.main(argv) == 0
    printed = capsys.readouterr().out.strip()
    # docs/deploying.md passes it as one argument: --parameter-overrides "$(... --print-overrides)"
    assert sam_reads(printed) == expected_values(artifact, "dev", {"ReleaseId": "a1b2c3d"})
    assert deploy.main(["--config-env", "prod", "--artifact", str(artifact), "--print-overrides"]) == 2
