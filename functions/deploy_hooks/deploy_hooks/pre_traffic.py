"""The pre-traffic (BeforeAllowTraffic) hook: the new version, invoked directly, before it takes any traffic.

CodeDeploy invokes it (`Handler: deploy_hooks.pre_traffic.lambda_handler`) before `live` moves.
Each check of the contract is sent as the payload 2.0 event API Gateway would send, to the
published version itself, never the alias; a direct invoke (`{}`, as `aws lambda invoke` sends)
must get the liveness object itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable
from typing import Any

from boto3.session import Session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from deploy_hooks.codedeploy import HookStatus, NoAnswerError, logger, run_checks, run_hook
from deploy_hooks.contract import CHECKS, LIVENESS, Answer, Check, excerpt

TARGET_VERSION_ARN = "TARGET_VERSION_ARN"
# A published version's qualified ARN (`!Ref HealthFunction.Version`): an alias or $LATEST is refused,
# since the hook must check the version CodeDeploy is about to shift traffic to, and nothing else.
_VERSION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}:(?P<version>[0-9]+)")
# The API function's own timeout (5 s) and a cold start: an honest answer never takes longer. One
# retry, in botocore's standard mode, absorbs one throttle (a new version starts with no execution
# environment) or one dropped connection.
INVOKE_CONFIG = Config(connect_timeout=2, read_timeout=8, retries={"mode": "standard", "total_max_attempts": 2})
INVOKE_WORST_CASE_SECONDS = 2 * (2 + 8) + (1 + 5)  # both attempts time out, with the longest backoff between


def _direct_liveness(answer: Answer) -> list[str]:
    try:
        payload = json.loads(answer.body)
    except ValueError:
        payload = None
    return [] if payload == LIVENESS else ["the answer is not the liveness object"]


DIRECT_INVOKE = Check("direct invoke", "INVOKE", "{}", _direct_liveness)


def lambda_handler(event: Any, context: Any) -> None:
    run_hook(event, context, _verdict)


def _verdict(session: Session, seconds_left: Callable[[], float]) -> HookStatus:
    arn = os.environ.get(TARGET_VERSION_ARN, "").strip()
    match = _VERSION_ARN.fullmatch(arn)
    if match is None:
        logger.error("The pre-traffic hook is misconfigured", extra={"problem": f"{TARGET_VERSION_ARN} is {arn!r}"})
        return HookStatus.FAILED
    client = session.client("lambda", config=INVOKE_CONFIG)

    def answer(check: Check) -> Answer:
        payload = {} if check is DIRECT_INVOKE else request_event(check)
        raw = invoke(client, arn, match["version"], payload)
        return Answer(200, {}, raw) if check is DIRECT_INVOKE else proxy_answer(raw)

    return run_checks([*CHECKS, DIRECT_INVOKE], answer, seconds_left, INVOKE_WORST_CASE_SECONDS, where=arn)


def request_event(check: Check) -> dict[str, Any]:
    """The HTTP API (payload 2.0) event API Gateway sends for this check's request."""
    http = {"method": check.method, "path": check.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"}
    context: dict[str, Any] = {
        "http": http,
        "requestId": "pre-traffic-hook",
        "routeKey": "$default",
        "stage": "$default",
    }
    if check.signed:  # what API Gateway's IAM authorizer adds for a SigV4-signed caller
        context["authorizer"] = {"iam": {"userArn": "arn:aws:sts::000000000000:assumed-role/pre-traffic-hook"}}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": check.path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "user-agent": "petsage-pre-traffic-hook"},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def invoke(client: Any, version_arn: str, version: str, payload: dict[str, Any]) -> str:
    """One synchronous invoke of the published version: what it returned, or NoAnswerError with why not."""
    try:
        response = client.invoke(
            FunctionName=version_arn, InvocationType="RequestResponse", Payload=json.dumps(payload)
        )
        raw = str(response["Payload"].read().decode("utf-8", errors="replace"))
    except ClientError as exc:  # refused after the SDK's retries: throttled, denied, not found
        error, metadata = exc.response.get("Error", {}), exc.response.get("ResponseMetadata", {})
        attempts = int(metadata.get("RetryAttempts", 0)) + 1
        raise NoAnswerError(
            f"Invoke failed: {error.get('Code')} (HTTP {metadata.get('HTTPStatusCode')}), {attempts} attempts"
        ) from exc
    except ReadTimeoutError as exc:
        raise NoAnswerError("no answer within the read timeout") from exc
    except BotoCoreError as exc:  # refused, DNS, connect timeout
        raise NoAnswerError(f"could not invoke the version ({type(exc).__name__})") from exc
    if response.get("FunctionError"):
        # The function raised or timed out: its error type and message, never its stack trace.
        error = _json(raw)
        detail = (
            f"{error.get('errorType')}: {excerpt(str(error.get('errorMessage')))}" if isinstance(error, dict) else ""
        )
        raise NoAnswerError(f"function error ({response['FunctionError']}) {detail}".strip())
    if response.get("ExecutedVersion") != version:
        raise NoAnswerError(f"Lambda ran version {response.get('ExecutedVersion')!r}, not {version!r}", excerpt(raw))
    return raw


def proxy_answer(raw: str) -> Answer:
    """The payload 2.0 proxy response the function returned, as the HTTP answer API Gateway would send."""
    payload = _json(raw)
    if not isinstance(payload, dict) or type(payload.get("statusCode")) is not int:
        raise NoAnswerError("the answer is not an HTTP API response", excerpt(raw))
    headers, body = payload.get("headers") or {}, payload.get("body") or ""
    if not isinstance(headers, dict) or not isinstance(body, str):
        raise NoAnswerError("the answer's headers or body are malformed", excerpt(raw))
    if payload.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError) as exc:
            raise NoAnswerError("the answer claims a base64 body that is not", excerpt(raw)) from exc
    return Answer(payload["statusCode"], {str(name).lower(): str(value) for name, value in headers.items()}, body)


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
