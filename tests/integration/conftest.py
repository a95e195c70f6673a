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
    host: str
    port: int
    process: subprocess.Popen[str]
    stderr_lines: list[str] = field(default_factory=list)
    _drain: threading.Thread | None = None

    def drain_stderr(self) -> None:
        """Read the log as it comes: an unread pipe fills up (64 KiB) and blocks the server."""
        assert self.process.stderr is not None
        self._drain = threading.Thread(target=self.stderr_lines.extend, args=(self.process.stderr,), daemon=True)
        self._drain.start()

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
    assert process.stdout is not None
    banner = process.stdout.readline()
    match = re.search(r"http://(127\.0\.0\.1):(\d+)", banner)
    if not match:
        process.kill()
        pytest.fail(f"local API did not start: {banner!r} {process.communicate()}")
    api = LocalApi(match.group(1), int(match.group(2)), process)
    api.drain_stderr()
    return api


def stop_local_api(api: LocalApi) -> tuple[int, str, str]:
    """Ctrl-C, as a person stops `make run`; returns exit code, remaining stdout and stderr."""
    api.process.send_signal(signal.SIGINT)
    api.process.wait(timeout=10)
    assert api.process.stdout is not None
    stdout = api.process.stdout.read()
    if api._drain is not None:
        api._drain.join(timeout=10)
    return api.process.returncode, stdout, api.stderr


@pytest.fixture(scope="module")
def local_api() -> Iterator[LocalApi]:
    api = start_local_api()
    yield api
    if api.process.poll() is None:
        stop_local_api(api)
