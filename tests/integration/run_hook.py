"""Run in a fresh interpreter: the pre-traffic hook from an assembled artifact, called as Lambda calls it.

Usage: python -I run_hook.py ARTIFACT_DIR HOOK_EVENT_JSON

The hook reaches AWS only through the SDK's standard settings in the environment (endpoints,
credentials, region). Logs go to stderr one JSON object a line, built the way Lambda's JSON log
format builds them from stdlib records (message plus `extra` fields, no fallback for values JSON
cannot encode); stdout gets one JSON line naming the file the handler was imported from.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

artifact = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(artifact))

# LogRecord's own attributes; everything else on a record came from `extra`.
RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LambdaJsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {key: value for key, value in vars(record).items() if key not in RECORD_ATTRIBUTES}
        line = {"level": record.levelname, "message": record.getMessage(), "logger": record.name, **fields}
        if record.exc_info:
            line["errorType"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(line)


class Context:
    """The runtime's context object: what the hook reads of it."""

    function_name = "CodeDeployHook_petsage-health-e2e"
    aws_request_id = "e2e"
    _deadline = time.monotonic() + 60  # the hook's planned timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(LambdaJsonLines())
logging.basicConfig(level=logging.INFO, handlers=[handler])  # ApplicationLogLevel INFO

from pre_traffic_hook import handler as hook  # noqa: E402 - the artifact must be on sys.path first

hook.lambda_handler(json.loads(sys.argv[2]), Context())
print(json.dumps({"handler_file": hook.__file__}))  # noqa: T201 - this script's output
