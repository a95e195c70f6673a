"""`make rehearse`, as a user runs it: the real `make deploy`, five times, against MiniStack on loopback.

scripts/rehearse.py does the checking after each deploy (stack and nested operations stacks
complete, outputs printed, the version named after the fingerprint, versions published exactly
when they should be, `live` on the newest, the liveness answer through the emulated Lambda API)
and fails on the first miss; this test reads its table. docs/deploying.md says what the emulator cannot check.
"""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from scripts import rehearse
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.rehearsal


def rows(table: str) -> dict[str, list[str]]:
    """Deploy name -> its cells, from the Markdown table make rehearse prints."""
    found = {}
    for line in table.splitlines()[2:]:
        if line.startswith("| "):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            found[cells[0]] = cells
    return found


@pytest.fixture(scope="module")
def rehearsal() -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MAKE"))}
    return subprocess.run(
        ["make", "rehearse"], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


def test_the_rehearsal_passes(rehearsal: subprocess.CompletedProcess[str]) -> None:
    assert rehearsal.returncode == 0, rehearsal.stderr[-3000:]
    assert "rehearsal passed: 5 deploys" in rehearsal.stdout


def test_versions_are_published_exactly_when_a_version_changes(rehearsal: subprocess.CompletedProcess[str]) -> None:
    table = rows(rehearsal.stdout)
    assert list(table) == ["create", "new code", "new MemorySize", "strategy only", "operations only"]
    status, versions, live, memory = ({name: cells[i] for name, cells in table.items()} for i in (2, 5, 6, 7))
    updates = ["new code", "new MemorySize", "strategy only", "operations only"]
    assert status == {"create": "CREATE_COMPLETE"} | dict.fromkeys(updates, "UPDATE_COMPLETE")
    # One version at a time (VersionDeletionPolicy: Delete), a new one for code and for a literal,
    # none for the strategy or the operations; live always on it.
    assert versions == {
        "create": "1",
        "new code": "2",
        "new MemorySize": "3",
        "strategy only": "3",
        "operations only": "3",
    }
    assert live == versions
    assert memory == {"create": "1769", "new code": "1769"} | dict.fromkeys(updates[1:], "1792")
    assert {cells[8] for cells in table.values()} == {"200, liveness body"}


def test_the_operations_stacks_deploy_and_update_with_the_parent(rehearsal: subprocess.CompletedProcess[str]) -> None:
    table = rows(rehearsal.stdout)
    nested = {name: cells[4] for name, cells in table.items()}
    assert nested["create"].startswith("AlarmTopicStack CREATE_COMPLETE (")
    assert "MonitoringStack CREATE_COMPLETE (" in nested["create"]
    assert all("UPDATE_COMPLETE" in nested[name] or "CREATE_COMPLETE" in nested[name] for name in table)
    assert "now keeps runs 14 days" in table["operations only"][9]


def test_it_says_what_it_could_not_emulate(rehearsal: subprocess.CompletedProcess[str]) -> None:
    notes = rows(rehearsal.stdout)["create"][9]
    assert "AWS::CodeDeploy::DeploymentGroup x1" in notes
    assert "AWS::Synthetics::Canary x1" in notes


def test_the_emulator_check_sees_a_socket_beyond_loopback() -> None:
    # The guard that stops the rehearsal when the emulator listens on 0.0.0.0 (binding is no traffic).
    with socket.socket() as wildcard, socket.socket() as loopback:
        wildcard.bind(("0.0.0.0", 0))  # noqa: S104 - the case under test
        wildcard.listen()
        loopback.bind(("127.0.0.1", 0))
        loopback.listen()
        exposed, local = f"0.0.0.0:{wildcard.getsockname()[1]}", f"127.0.0.1:{loopback.getsockname()[1]}"
        found = rehearse.listening_addresses(os.getpid())
    assert {exposed, local} <= found
    assert not rehearse.is_loopback(exposed)
    assert rehearse.is_loopback(local)
    assert rehearse.is_loopback("::1:4566")
