"""The local API as `make run` starts it, on a free loopback port, for tests that speak real HTTP."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import REPO_ROOT


@dataclass
class HttpResult:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class LocalApi:
    """The running server: stdout is the function's log stream (JSON lines), stderr the server's own lines."""

    host: str
    port: int
    process: subprocess.Popen[str]
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    _drains: list[threading.Thread] = field(default_factory=list)

    def drain(self) -> None:
        """Read both streams as they come: an unread pipe fills up (64 KiB) and blocks the server."""
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        for stream, lines in ((self.process.stdout, self.stdout_lines), (self.process.stderr, self.stderr_lines)):
            thread = threading.Thread(target=lines.extend, args=(stream,), daemon=True)
            thread.start()
            self._drains.append(thread)

    @property
    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> HttpResult:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return HttpResult(response.status, response.headers, response.read())
        finally:
            connection.close()


def start_local_api() -> LocalApi:
    process = subprocess.Popen(
        [sys.executable, "-m", "local_api", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    banner = process.stderr.readline()
    match = re.search(r"http://(127\.0\.0\.1):(\d+)", banner)
    if not match:
        process.kill()
        pytest.fail(f"local API did not start: {banner!r} {process.communicate()}")
    api = LocalApi(match.group(1), int(match.group(2)), process, stderr_lines=[banner])
    api.drain()
    return api


def stop_local_api(api: LocalApi) -> tuple[int, str, str]:
    """Ctrl-C, as a person stops `make run`; returns the exit code, all of stdout and all of stderr."""
    api.process.send_signal(signal.SIGINT)
    api.process.wait(timeout=10)
    for thread in api._drains:
        thread.join(timeout=10)
    return api.process.returncode, api.stdout, api.stderr


@pytest.fixture(scope="module")
def local_api() -> Iterator[LocalApi]:
    api = start_local_api()
    yield api
    if api.process.poll() is None:
        stop_local_api(api)
