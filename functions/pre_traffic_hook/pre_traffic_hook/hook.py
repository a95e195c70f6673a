"""One run of the hook: check the new version against the contract, then report the verdict once.

Nothing here raises to the caller. Any failure before the verdict (configuration, a missing
event file, an SDK error) is a reported `Failed`; only a hook event without CodeDeploy's ids, or
no way to build the CodeDeploy client, leaves nothing to report to, and is logged instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pre_traffic_hook import contract
from pre_traffic_hook.clients import (
    INVOKE_WORST_CASE_SECONDS,
    REPORT_WORST_CASE_SECONDS,
    CodeDeployClient,
    LambdaClient,
)
from pre_traffic_hook.codedeploy import HookExecution, HookStatus, event_shape, report
from pre_traffic_hook.settings import ConfigurationError, Settings
from pre_traffic_hook.target import InvokeError, Target

logger = logging.getLogger(__name__)

# Used only when the context cannot say how long is left (a hand-made context): the planned timeout.
FALLBACK_BUDGET_SECONDS = 60.0


class Clients(Protocol):
    def lambda_client(self) -> LambdaClient: ...

    def codedeploy_client(self) -> CodeDeployClient: ...


class Deadline:
    """Time left before Lambda stops this invocation, from the runtime's context object."""

    def __init__(self, context: Any) -> None:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            self._remaining_ms: Callable[[], Any] = remaining
        else:
            end = time.monotonic() + FALLBACK_BUDGET_SECONDS
            self._remaining_ms = lambda: (end - time.monotonic()) * 1000

    def seconds_left(self) -> float:
        return float(self._remaining_ms()) / 1000


@dataclass(frozen=True)
class CheckResult:
    check: contract.Check
    problems: list[str]
    fields: dict[str, Any] = field(default_factory=dict)  # what came back, for the log


def run_hook(event: Any, context: Any, *, environ: Mapping[str, str], events_dir: Path, clients: Clients) -> None:
    execution = HookExecution.from_event(event)
    if execution is None:
        logger.error(
            "Not a CodeDeploy hook event (no DeploymentId and LifecycleEventHookExecutionId): nothing to report to",
            extra=event_shape(event),
        )
        return
    try:
        codedeploy = clients.codedeploy_client()
    except Exception as exc:  # noqa: BLE001 - without a client the verdict cannot be delivered; say so
        logger.error(
            "Could not create the CodeDeploy client: the hook status cannot be reported",
            extra={**execution.log_fields, "error_code": type(exc).__name__},
        )
        return
    status = _verdict(Deadline(context), environ, events_dir, clients)
    report(codedeploy, execution, status)


def _verdict(deadline: Deadline, environ: Mapping[str, str], events_dir: Path, clients: Clients) -> HookStatus:
    """Succeeded only when every gating check passed; every other outcome, exceptions included, is Failed."""
    try:
        settings = Settings.from_environ(environ)
        wanted = contract.checks(gate_on_readiness=settings.gate_on_readiness)
        events = contract.load_events(events_dir, wanted)
        target = Target(clients.lambda_client(), settings.target_version_arn, settings.target_version)
        results = [_run(check, target, events[check.event], deadline) for check in wanted]
    except ConfigurationError as exc:
        logger.error("The pre-traffic hook is misconfigured", extra={"problem": str(exc)})
        return HookStatus.FAILED
    except Exception:  # an unexpected error fails the deploy, never the hook
        logger.exception("The pre-traffic checks could not run")
        return HookStatus.FAILED
    failed = [result.check.name for result in results if result.problems and result.check.gating]
    summary = {"target_version_arn": settings.target_version_arn, "checks": [check.name for check in wanted]}
    if failed:
        logger.error("The new version failed the pre-traffic checks", extra={**summary, "failed_checks": failed})
        return HookStatus.FAILED
    logger.info("The new version passed the pre-traffic checks", extra=summary)
    return HookStatus.SUCCEEDED


def _run(check: contract.Check, target: Target, event: Any, deadline: Deadline) -> CheckResult:
    result = _outcome(check, target, event, deadline)
    fields = {"check": check.name, "event": f"{check.event}.json", **result.fields}
    if not result.problems:
        logger.info("Check passed", extra=fields)
    elif check.gating:
        logger.error("Check failed", extra={**fields, "problems": result.problems})
    else:
        logger.warning("Check failed, not gating this deploy", extra={**fields, "problems": result.problems})
    return result


def _outcome(check: contract.Check, target: Target, event: Any, deadline: Deadline) -> CheckResult:
    # A check starts only if it can take its longest and still leave the report its longest.
    needed = INVOKE_WORST_CASE_SECONDS + REPORT_WORST_CASE_SECONDS
    left = deadline.seconds_left()
    if left < needed:
        return CheckResult(check, [f"not run: {left:.1f} s left, a check and the report may need {needed:.0f} s"])
    try:
        answer = target.invoke(event)
    except InvokeError as exc:
        return CheckResult(check, [exc.reason], {"body_excerpt": exc.excerpt} if exc.excerpt else {})
    return CheckResult(check, check.expect(answer.payload), contract.answer_fields(answer.payload))
