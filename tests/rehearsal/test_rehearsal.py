"""The rehearsal's guard that the emulator listens on loopback only.

`make rehearse` is the rehearsal's own check (its own CI step): scripts/rehearse.py fails on the
first deploy that does not do what a real one must and prints its table, so no test here runs it.
"""

from __future__ import annotations

import os
import socket

from scripts import rehearse


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
