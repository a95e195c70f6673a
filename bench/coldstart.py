"""The benchmark's child process: one cold start, or a warm-latency loop, of one variant.

Usage: coldstart.py cold CODE_DIR EVENT_FILE     prints the first response's status code and
                                                 the CPU ms the process had spent until then
       coldstart.py warm CODE_DIR EVENT_FILE N   prints the median µs per invocation
The parent times "process start -> first 200" and reads the peak RSS from wait4().
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Context:
    """The attributes of the runtime's context object that the handlers read."""

    function_name = "HealthFunction"
    memory_limit_in_mb = 1024
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:HealthFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def main() -> None:
    mode, code, event_file = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    # Results go to the parent on the original stdout; the function's own stdout (its JSON
    # logs and EMF metrics, CloudWatch's on Lambda) is formatted as usual, then discarded.
    report = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.path.insert(0, code)
    event = json.loads(event_file.read_text(encoding="utf-8"))
    # Each variant's own app.py (the one first on sys.path), whatever its handler's types.
    lambda_handler: Callable[[Any, Any], Any] = importlib.import_module("app").lambda_handler
    context = Context()
    status = lambda_handler(event, context)["statusCode"]
    if mode == "cold":
        print(status, f"{time.process_time() * 1000:.1f}", file=report, flush=True)
        return
    invocations = int(sys.argv[4])
    batch = max(1, invocations // 10)
    per_call = []
    for _ in range(10):
        start = time.perf_counter()
        for _ in range(batch):
            lambda_handler(event, context)
        per_call.append((time.perf_counter() - start) / batch * 1e6)
    print(f"{statistics.median(per_call):.1f}", file=report, flush=True)


if __name__ == "__main__":
    main()
