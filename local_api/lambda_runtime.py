"""Loading a function's handler in-process and invoking it the way the Lambda runtime does."""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from local_api.template import FunctionSpec

Handler = Callable[[Any, Any], Any]


class LocalLambdaContext(LambdaContext):
    """The runtime's context object, with the attributes handlers and Powertools read."""

    def __init__(self, function_name: str, memory_limit_in_mb: int = 1024, timeout_ms: int = 5000) -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self._memory_limit_in_mb = memory_limit_in_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = f"local/{self._aws_request_id}"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # a staticmethod stub upstream
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One execution environment: the handler is imported once and serves one event at a time."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        for name, value in spec.environment.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", spec.logical_id)
        module_name, _, function_name = spec.handler.rpartition(".")
        sys.path.insert(0, str(spec.code_dir))
        # What the function writes to stdout (JSON logs, EMF metrics) is its log stream, as in
        # Lambda: it stays on stdout; the local API writes its own lines to stderr.
        self._handler: Handler = getattr(importlib.import_module(module_name), function_name)

    def invoke(self, event: Any) -> Any:
        # Lambda never runs two events at once in one environment; Powertools relies on it.
        with self._lock:
            return self._handler(event, LocalLambdaContext(function_name=self.spec.logical_id))
