"""The CodeDeploy side of the hook: which lifecycle event called it, and reporting the verdict."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from pre_traffic_hook.clients import CodeDeployClient

logger = logging.getLogger(__name__)

# Lengths CodeDeploy's API accepts are far below this; anything longer did not come from CodeDeploy.
_ID = re.compile(r"[\x21-\x7e]{1,1024}")
ALREADY_COMPLETED = "LifecycleEventAlreadyCompletedException"


class HookStatus(StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class HookExecution:
    """The lifecycle event CodeDeploy is waiting on; without it no verdict can be delivered."""

    deployment_id: str
    execution_id: str

    @classmethod
    def from_event(cls, event: Any) -> HookExecution | None:
        if not isinstance(event, dict):
            return None
        deployment_id, execution_id = event.get("DeploymentId"), event.get("LifecycleEventHookExecutionId")
        if not (isinstance(deployment_id, str) and _ID.fullmatch(deployment_id)):
            return None
        if not (isinstance(execution_id, str) and _ID.fullmatch(execution_id)):
            return None
        return cls(deployment_id, execution_id)

    @property
    def log_fields(self) -> dict[str, str]:
        return {"deployment_id": self.deployment_id, "lifecycle_event_hook_execution_id": self.execution_id}


def event_shape(event: Any) -> dict[str, Any]:
    """What a malformed hook event looked like, for the log: its type and key names, never its values."""
    keys = sorted(str(key)[:64] for key in event)[:20] if isinstance(event, dict) else []
    return {"event_type": type(event).__name__, "event_keys": keys}


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
