"""The benchmark's child: one cold start, or a warm loop, of one handler, in a process that imports only json.

The same launcher runs every variant, the floor included, so the floor is CPython's own startup
plus `json` (what a bare `json.dumps` handler needs) and every ratio against it is honest: this
file imports nothing else (no `from __future__`, no typing, no os): `sys` and `time` are built into
the interpreter and `io` is loaded by its startup. The parent (bench.py) runs it as `python -I -S -B coldstart.py ...`.

Usage: coldstart.py cold|warm REPORT_FD HANDLER EVENT_FILE INVOCATIONS CODE_DIR [RUNTIME_DIR...]
  HANDLER      "module.function", as Lambda's Handler setting names it
  REPORT_FD    a file descriptor the parent passed, for JSON lines: cold, one the moment the
               first answer is in (its status, the CPU ms spent so far), then the peak RSS;
               warm, one with the median µs per invocation and the peak RSS
  INVOCATIONS  warm: invocations, timed in 10 batches; cold: ignored
  CODE_DIR, RUNTIME_DIR...  become sys.path's first entries, in this order, as /var/task and
               the runtime's packages (boto3) are on Lambda; this script's directory is not
The function's own stdout (its JSON logs and EMF metrics) is whatever the parent gave it.
"""

import io  # loaded by CPython's startup already: importing it loads nothing
import json
import sys
import time


class Context:
    """The attributes of the runtime's context object that the handlers read."""

    function_name = "HealthFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:HealthFunction"
    log_group_name = "/aws/lambda/HealthFunction"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def answer_fields(answer: object) -> dict[str, object]:
    """What the parent checks: the status code and the content encoding, when it is a proxy answer."""
    if not isinstance(answer, dict):
        return {"status": None, "content_encoding": None}
    headers = answer.get("headers") or {}
    encoding = next((value for name, value in headers.items() if name.lower() == "content-encoding"), None)
    return {"status": answer.get("statusCode"), "content_encoding": encoding}


def peak_rss_kib() -> int | None:
    """This process's own peak RSS (VmHWM): wait4()'s ru_maxrss would also count the parent's
    memory, which the child borrowed between fork and exec. None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:  # noqa: PTH123 - no pathlib import
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def send(report: io.TextIOWrapper, fields: dict[str, object]) -> None:
    report.write(json.dumps(fields) + "\n")
    report.flush()


def main() -> None:
    mode, report_fd, handler_name, event_file, invocations, *path = sys.argv[1:]
    sys.path[0:1] = path
    report = open(int(report_fd), "w", encoding="utf-8")  # noqa: PTH123, SIM115 - a descriptor, open until exit
    with open(event_file, encoding="utf-8") as file:  # noqa: PTH123 - pathlib would be one more import
        event = json.load(file)
    module_name, _, attribute = handler_name.rpartition(".")
    __import__(module_name)
    handler = getattr(sys.modules[module_name], attribute)
    context = Context()
    fields = answer_fields(handler(event, context))
    if mode == "cold":
        fields["cpu_ms"] = time.process_time() * 1000
        send(report, fields)  # the parent's clock stops here: what follows is not the cold start
        fields = {}
    else:
        batch = max(1, int(invocations) // 10)
        per_call = []
        for _ in range(10):
            start = time.perf_counter()
            for _ in range(batch):
                handler(event, context)
            per_call.append((time.perf_counter() - start) / batch * 1e6)
        per_call.sort()
        fields["us_per_invocation"] = (per_call[4] + per_call[5]) / 2
    fields["peak_rss_kib"] = peak_rss_kib()
    send(report, fields)


if __name__ == "__main__":
    main()
