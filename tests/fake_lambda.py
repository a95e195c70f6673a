"""Lambda's Invoke API (2015-03-31) and CodeDeploy's hook-status call, answered in-process.

Shared by the pre-traffic hook's unit tests (answered at botocore's send step) and its
end-to-end test (answered over loopback HTTP): the deployed code is a Python function, by
default the real health handler, and each call gets the answer Lambda's REST API would give.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from local_api.lambda_runtime import LocalLambdaContext
from tests.conftest import load_event

Function = Callable[[Any], Any]  # the deployed code: event -> return value; raising is a function error

INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")
HOOK_STATUS_TARGET = "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
VERSION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:petsage-health-dev-health:7"
LIVENESS_ROUTE = ("GET", "/api/v1/health")
HOOK_EVENT = load_event("codedeploy-pre-traffic")  # what CodeDeploy sends the hook
# What the hook sends, in order: the committed events, readiness last.
SENT_EVENTS = ["health", "health-head", "direct-invoke", "root", "openapi", "ready"]


def reported(status: str) -> list[dict[str, str]]:
    """The one call CodeDeploy must receive."""
    return [
        {
            "deploymentId": HOOK_EVENT["DeploymentId"],
            "lifecycleEventHookExecutionId": HOOK_EVENT["LifecycleEventHookExecutionId"],
            "status": status,
        }
    ]


class Throttled(Exception):  # noqa: N818 - named after what Lambda answers, not an error of the code
    """Raised by a fake function to make Lambda refuse the call with 429 TooManyRequestsException."""


class Hang(Exception):  # noqa: N818
    """Raised by a fake function to make the call time out (the unit tests' transport raises ReadTimeoutError)."""


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Invocation:
    function_name: str  # as the URL named it, decoded
    event: Any


@dataclass
class FakeLambda:
    """One function behind the Invoke API; records every call, including refused ones."""

    function: Function
    invocations: list[Invocation] = field(default_factory=list)
    executed_version: str | None = None  # what Lambda says it ran; None: the qualifier that was asked for
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, path: str, body: bytes) -> HttpReply:
        match = INVOKE_PATH.fullmatch(path)
        if match is None:
            return _lambda_error(404, "ResourceNotFoundException", "Function not found")
        name = unquote(match["name"])
        event = json.loads(body) if body else None
        with self._lock:  # one execution environment: one event at a time
            self.invocations.append(Invocation(name, event))
            try:
                result = self.function(event)
            except Throttled:
                return _lambda_error(429, "TooManyRequestsException", "Rate Exceeded.")
            except Hang:
                raise
            except Exception as exc:  # noqa: BLE001 - the function raised: Lambda's Unhandled function error
                error = {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": ["  File ..."]}
                return self._reply(name, json.dumps(error).encode(), {"X-Amz-Function-Error": "Unhandled"})
        return self._reply(name, json.dumps(result).encode(), {})

    def _reply(self, name: str, body: bytes, extra: dict[str, str]) -> HttpReply:
        version = self.executed_version or (name.rsplit(":", 1)[1] if name.count(":") == 7 else "$LATEST")
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": version, **extra}
        return HttpReply(200, headers, body)


@dataclass
class FakeCodeDeploy:
    """Records PutLifecycleEventHookExecutionStatus calls (JSON 1.1 protocol); answers `error` when set."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[int, str] | None = None

    def call(self, target: str | None, body: bytes) -> HttpReply:
        if target != HOOK_STATUS_TARGET:
            return _json_error(400, "UnknownOperationException", "")
        request = json.loads(body)
        self.reports.append(request)
        if self.error is not None:
            return _json_error(self.error[0], self.error[1], "stand-in error")
        answer = {"lifecycleEventHookExecutionId": request.get("lifecycleEventHookExecutionId")}
        return HttpReply(200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(answer).encode())


def health_function(event: Any) -> Any:
    """The real health handler, as Lambda runs the published version."""
    from handler import lambda_handler

    return lambda_handler(event, LocalLambdaContext(function_name="HealthFunction"))


def route(event: Any) -> tuple[str, str] | None:
    try:
        return event["requestContext"]["http"]["method"], event["rawPath"]
    except (KeyError, TypeError):
        return None


def broken_on(target: tuple[str, str], change: Callable[[Any], Any], function: Function = health_function) -> Function:
    """The health handler with one route's answer changed (or replaced by raising); the rest untouched."""

    def deployed(event: Any) -> Any:
        answer = function(event)
        return change(answer) if route(event) == target else answer

    return deployed


def _lambda_error(status: int, code: str, message: str) -> HttpReply:
    headers = {"Content-Type": "application/json", "X-Amzn-ErrorType": code}
    return HttpReply(status, headers, json.dumps({"Type": "User", "message": message}).encode())


def _json_error(status: int, code: str, message: str) -> HttpReply:
    body = json.dumps({"__type": code, "message": message}).encode()
    return HttpReply(status, {"Content-Type": "application/x-amz-json-1.1"}, body)
