"""Bounded concurrent load on the local API over loopback: a fixed request count, a fixed pool."""

from __future__ import annotations

import http.client
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from local_api.template import http_api_routes, load_template
from tests.adversarial.contract import ROUTE_PATHS

READINESS_PATH = "/api/v1/health/ready"


@dataclass
class LoadResult:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def request_mix() -> list[tuple[str, str, int]]:
    """(method, path, expected status): GET and HEAD of every path the function serves, an unknown
    path, an unrouted verb. The load is unsigned: an IAM-authorized route answers API Gateway's 403.
    """
    signed = {route.path for route in http_api_routes(load_template()) if route.authorizer == "AWS_IAM"}
    mix = [(method, path, 403 if path in signed else 200) for path in ROUTE_PATHS for method in ("GET", "HEAD")]
    return [*mix, ("GET", "/api/v1/nothing-here", 404), ("TRACE", "/api/v1/health", 404)]


def hammer(
    host: str,
    port: int,
    requests: int,
    concurrency: int,
    timeout_s: float = 10.0,
    on_sent: Callable[[int], None] | None = None,
) -> LoadResult:
    """Send `requests` requests from `concurrency` threads, each on its own keep-alive connection.

    `on_sent` is told the running count (under the lock, so in order) for a progress line.
    """
    mix = request_mix()
    counter = itertools.count()
    result = LoadResult()
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
        try:
            while (index := next(counter)) < requests:
                method, path, expected = mix[index % len(mix)]
                marker = f"load{index:07d}z"
                try:
                    connection.request(method, path, headers={"X-Load-Marker": marker})
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
                    outcome, problem = "error", f"{method} {path}: {error!r}"
                else:
                    outcome = str(response.status)
                    allowed = {expected, 503} if path.startswith(READINESS_PATH) else {expected}
                    problem = "" if response.status in allowed else f"{method} {path}: {response.status} {body[:200]!r}"
                    if marker.encode() in body or any(marker in value for _, value in response.getheaders()):
                        problem = f"{method} {path}: request {index}'s header came back"
                with lock:
                    result.sent += 1
                    result.statuses[outcome] += 1
                    if problem:
                        result.errors.append(problem)
                    if on_sent is not None:
                        on_sent(result.sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return result
