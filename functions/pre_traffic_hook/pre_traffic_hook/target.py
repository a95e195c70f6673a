"""Invoking the new version directly, and turning every way that can go wrong into a stated reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as SdkConnectionError

from pre_traffic_hook.clients import LambdaClient

EXCERPT_CHARS = 200


class InvokeError(Exception):
    """The new version gave no answer to check: the call failed, or the function raised."""

    def __init__(self, reason: str, excerpt: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.excerpt = excerpt


@dataclass(frozen=True)
class Answer:
    """What the function returned, decoded, and the start of it as it came, for the log."""

    payload: Any
    excerpt: str


@dataclass(frozen=True)
class Target:
    client: LambdaClient
    version_arn: str
    version: str

    def invoke(self, event: Any) -> Answer:
        """One synchronous invoke of the published version; raises InvokeError with the reason."""
        try:
            response = self.client.invoke(
                FunctionName=self.version_arn,
                InvocationType="RequestResponse",
                Payload=json.dumps(event).encode(),
            )
            raw: bytes = response["Payload"].read()
        except ClientError as exc:
            raise InvokeError(_refused(exc)) from exc
        except ReadTimeoutError as exc:
            raise InvokeError(f"no answer within the read timeout ({type(exc).__name__})") from exc
        except SdkConnectionError as exc:  # refused, DNS, connect timeout
            raise InvokeError(f"could not reach Lambda ({type(exc).__name__})") from exc
        except BotoCoreError as exc:
            raise InvokeError(f"the SDK call failed ({type(exc).__name__})") from exc
        if response.get("FunctionError"):
            # The reason holds the error's type and message; the payload also holds its stack trace.
            raise InvokeError(_function_error(response["FunctionError"], raw))
        excerpt = excerpt_of(raw.decode("utf-8", errors="replace"))
        executed = response.get("ExecutedVersion")
        if executed != self.version:
            raise InvokeError(f"Lambda ran version {executed!r}, not {self.version!r}", excerpt)
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise InvokeError("the function's answer is not JSON", excerpt) from exc
        return Answer(payload, excerpt)


def excerpt_of(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _refused(exc: ClientError) -> str:
    """Lambda refused or failed the call itself (throttled, denied, not found), after the SDK's retries."""
    error = exc.response.get("Error", {})
    metadata = exc.response.get("ResponseMetadata", {})
    attempts = int(metadata.get("RetryAttempts", 0)) + 1
    reason = f"Invoke failed: {error.get('Code', 'unknown error')} (HTTP {metadata.get('HTTPStatusCode', '?')})"
    return f"{reason} after {attempts} attempt{'s' if attempts > 1 else ''}"


def _function_error(kind: str, raw: bytes) -> str:
    """The function raised or timed out: its error type and the start of its message, never its stack trace."""
    try:
        error = json.loads(raw)
    except ValueError:
        error = None
    if not isinstance(error, dict):
        return f"function error ({kind})"
    message = excerpt_of(str(error.get("errorMessage", "")))
    return f"function error ({kind}): {error.get('errorType', 'unknown type')}: {message}"
