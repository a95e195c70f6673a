"""`make deploy` as the README gives it, on a fresh checkout, before any AWS account is reached.

A copy of the repository's files (tracked and untracked, nothing ignored: no .aws-sam, no
__pycache__) stands in for a fresh clone; it borrows the installed environments. The user's AWS
files are never read: every test points the SDK at empty ones, and the instance metadata
service (a non-loopback address) is off.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scripts.rehearse import scratch_copy

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


def test_keys_in_the_environment_count_even_with_a_profile_set(checkout: Path, tmp_path: Path) -> None:
    # SAM CLI uses AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY whatever AWS_PROFILE says; so does the check.
    keys = {"AWS_PROFILE": "regional", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
    environment = without_aws(tmp_path, **keys)
    (tmp_path / "config").write_text("[profile regional]\nregion = eu-west-1\n", encoding="utf-8")
    result = run(
        checkout, environment, ".venv/bin/python", "-m", "scripts.deploy", "--config-env", "dev", "--preflight"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "make deploy: dev: credentials from env (profile 'regional'), region eu-west-1\n"


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


@pytest.mark.parametrize("target", ["help", "openapi", "canary"])
def test_the_readmes_other_quick_commands_run_on_a_fresh_checkout(checkout: Path, tmp_path: Path, target: str) -> None:
    # Regenerating openapi.json or the embedded canary on a fresh checkout changes nothing.
    before = {name: (checkout / name).read_bytes() for name in ("openapi.json", "template.yaml")}
    result = run(checkout, without_aws(tmp_path), "make", target)
    assert result.returncode == 0, result.stderr
    assert {name: (checkout / name).read_bytes() for name in before} == before
