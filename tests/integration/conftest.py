"""The local API as `make run` starts it, on a free loopback port, for tests that speak real HTTP."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

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
    # The server's log and the function's own (JSON logs, EMF) go to a file, not a pipe: an
    # unread pipe fills after some hundred requests and then blocks the server.
    stderr: IO[str]

    def log(self) -> str:
        """Everything the server and the function have logged so far."""
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

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
    stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed by stop_local_api
    process = subprocess.Popen(
        [sys.executable, "-m", "local_api", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    match = re.search(r"http://(127\.0\.0\.1):(\d+)", banner)
    if not match:
        process.kill()
        process.communicate()
        stderr.seek(0)
        pytest.fail(f"local API did not start: {banner!r} {stderr.read()}")
    return LocalApi(match.group(1), int(match.group(2)), process, stderr)


def stop_local_api(api: LocalApi) -> tuple[int, str, str]:
    """Ctrl-C, as a person stops `make run`; returns exit code, remaining stdout and stderr."""
    api.process.send_signal(signal.SIGINT)
    stdout, _ = api.process.communicate(timeout=10)
    log = api.log()
    api.stderr.close()
    return api.process.returncode, stdout, log


@pytest.fixture(scope="module")
def local_api() -> Iterator[LocalApi]:
    api = start_local_api()
    yield api
    if api.process.poll() is None:
        stop_local_api(api)
