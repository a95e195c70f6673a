"""What both hooks share: the lifecycle event that called them, the checks within their time, the one report."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from boto3.session import Session
from botocore.config import Config
from botocore.exceptions import ClientError

from deploy_hooks.contract import Answer, Check

logger = logging.getLogger("deploy_hooks")

# Lengths CodeDeploy's API accepts are far below this; anything longer did not come from CodeDeploy.
_ID = re.compile(r"[\x21-\x7e]{1,1024}")
ALREADY_COMPLETED = "LifecycleEventAlreadyCompletedException"
# The report is the one call that must get through. If an attempt landed but its answer was lost,
# the retry gets LifecycleEventAlreadyCompletedException, which counts as delivered.
REPORT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 3})
# Its longest: every attempt times out, with botocore's longest backoffs between (standard mode:
# at most 2**(i-1) s before retry i, and up to 5 s more when CodeDeploy sends x-amz-retry-after).
REPORT_WORST_CASE_SECONDS = 3 * (2 + 3) + (1 + 5) + (2 + 5)


class HookStatus(StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class NoAnswerError(Exception):
    """The version gave no answer to check: the call failed, timed out, or the function raised."""

    def __init__(self, reason: str, excerpt: str = "") -> None:
        super().__init__(reason)
        self.reason, self.excerpt = reason, excerpt


class CodeDeployClient(Protocol):
    def put_lifecycle_event_hook_execution_status(
        self,
        *,
        deploymentId: str,  # noqa: N803 - the API's names
        lifecycleEventHookExecutionId: str,  # noqa: N803
        status: str,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class HookExecution:
    """The lifecycle event CodeDeploy waits on; without it no verdict can be delivered."""

    deployment_id: str
    execution_id: str

    @classmethod
    def from_event(cls, event: Any) -> HookExecution | None:
        if not isinstance(event, dict):
            return None
        deployment_id, execution_id = event.get("DeploymentId"), event.get("LifecycleEventHookExecutionId")
        for value in (deployment_id, execution_id):
            if not (isinstance(value, str) and _ID.fullmatch(value)):
                return None
        return cls(str(deployment_id), str(execution_id))

    @property
    def log_fields(self) -> dict[str, str]:
        return {"deployment_id": self.deployment_id, "lifecycle_event_hook_execution_id": self.execution_id}


def run_hook(event: Any, context: Any, verdict: Callable[[Session, Callable[[], float]], HookStatus]) -> None:
    """Decide (`verdict`, given an AWS session and the seconds left) and report it once; never
    raises to Lambda, whose asynchronous retry would run the hook again instead of reporting."""
    execution = HookExecution.from_event(event)
    if execution is None:
        keys = sorted(str(key)[:64] for key in event)[:20] if isinstance(event, dict) else []
        logger.error(
            "Not a CodeDeploy hook event (no DeploymentId and LifecycleEventHookExecutionId): nothing to report to",
            extra={"event_type": type(event).__name__, "event_keys": keys},
        )
        return
    session = Session()
    try:
        client = session.client("codedeploy", config=REPORT_CONFIG)
    except Exception as exc:  # noqa: BLE001 - without a client the verdict cannot be delivered; say so
        logger.error(
            "Could not create the CodeDeploy client: the hook status cannot be reported",
            extra={**execution.log_fields, "error_code": type(exc).__name__},
        )
        return
    try:
        status = verdict(session, _seconds_left(context))
    except Exception:  # an unexpected error fails the deploy, never the hook
        logger.exception("The checks could not run")
        status = HookStatus.FAILED
    report(client, execution, status)


def _seconds_left(context: Any) -> Callable[[], float]:
    """Time left before Lambda stops this invocation; a hand-made context gets the hooks' 60 s."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return lambda: float(remaining()) / 1000
    end = time.monotonic() + 60
    return lambda: end - time.monotonic()


def run_checks(
    checks: Iterable[Check],
    answer: Callable[[Check], Answer],
    seconds_left: Callable[[], float],
    longest_answer_seconds: float,
    where: str,
) -> HookStatus:
    """Each check that may still take its longest and leave the report its own; Succeeded only if all pass."""
    failed = []
    needed = longest_answer_seconds + REPORT_WORST_CASE_SECONDS
    for check in checks:
        fields: dict[str, Any] = {"check": check.name, "request": f"{check.method} {check.path}"}
        left = seconds_left()
        if left < needed:
            problems = [f"not run: {left:.1f} s left, a check and the report may need {needed:.0f} s"]
        else:
            try:
                got = answer(check)
            except NoAnswerError as exc:
                problems = [exc.reason]
                fields.update({"body_excerpt": exc.excerpt} if exc.excerpt else {})
            else:
                problems = check.expect(got)
                fields.update(got.log_fields)
        if problems:
            failed.append(check.name)
            logger.error("Check failed", extra={**fields, "problems": problems})
        else:
            logger.info("Check passed", extra=fields)
    summary = {"checked": where, "checks": [check.name for check in checks]}
    if failed:
        logger.error("The new version failed its checks", extra={**summary, "failed_checks": failed})
        return HookStatus.FAILED
    logger.info("The new version passed its checks", extra=summary)
    return HookStatus.SUCCEEDED


def report(client: CodeDeployClient, execution: HookExecution, status: HookStatus) -> None:
    """Deliver the verdict; a failure is logged, since CodeDeploy then fails the deploy at the hook timeout."""
    fields = {**execution.log_fields, "hook_status": status.value}
    try:
        client.put_lifecycle_event_hook_execution_status(
            deploymentId=execution.deployment_id,
            lifecycleEventHookExecutionId=execution.execution_id,
            status=status.value,
        )
    except Exception as exc:  # noqa: BLE001 - the SDK's own errors and anything else: logged, never raised
        code = exc.response.get("Error", {}).get("Code", "unknown error") if isinstance(exc, ClientError) else None
        if code == ALREADY_COMPLETED:
            # A retried attempt whose first try landed, or a rerun of an event already decided.
            logger.warning("CodeDeploy already has a status for this hook execution", extra=fields)
            return
        logger.error(
            "Could not report the hook status: CodeDeploy will fail the deployment when the hook times out",
            extra={**fields, "error_code": code or type(exc).__name__},
        )
        return
    logger.info("Reported the hook status to CodeDeploy", extra=fields)
