"""The hook's two AWS clients, with timeouts and retries sized so that a run always keeps time to report.

Importing boto3 is nearly all of this function's init (about 0.2 s with compiled bytecode, 0.6 s
without) and the two clients take about 75 ms more. The hook runs once per deploy, off every
request path, so none of it is deferred.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from boto3.session import Session
from botocore.config import Config

CONNECT_TIMEOUT_SECONDS = 2
# The health function's own timeout (5 s) plus a cold start: an honest answer never takes longer.
# Lambda answers a timed-out function with a FunctionError, so only a hung connection reaches this.
INVOKE_READ_TIMEOUT_SECONDS = 8
# One retry, in botocore's standard mode: it absorbs one TooManyRequestsException (a new version
# starts with no execution environment, and the account may briefly be at its concurrency limit)
# or one dropped connection. A version still throttled after that would be throttled under real
# traffic too, and more attempts would only spend the budget the report needs.
INVOKE_MAX_ATTEMPTS = 2
# The report is the one call that must get through. If an attempt landed but its answer was lost,
# the retry gets LifecycleEventAlreadyCompletedException, which the report treats as done.
REPORT_READ_TIMEOUT_SECONDS = 3
REPORT_MAX_ATTEMPTS = 3


# Standard mode lengthens a backoff to a service's `x-amz-retry-after` header, by at most this.
RETRY_AFTER_MAX_EXTRA_SECONDS = 5


def worst_case_seconds(attempts: int, read_timeout: float) -> float:
    """The longest one SDK call can take: every attempt times out, with the longest backoff between.

    Standard mode waits at most 2**(i-1) s before retry i (for throttling errors; 5% of that
    otherwise), and up to 5 s more when the service asks for it with `x-amz-retry-after`.
    """
    backoff = sum((1 << retry) + RETRY_AFTER_MAX_EXTRA_SECONDS for retry in range(attempts - 1))
    return attempts * (CONNECT_TIMEOUT_SECONDS + read_timeout) + backoff


INVOKE_WORST_CASE_SECONDS = worst_case_seconds(INVOKE_MAX_ATTEMPTS, INVOKE_READ_TIMEOUT_SECONDS)
REPORT_WORST_CASE_SECONDS = worst_case_seconds(REPORT_MAX_ATTEMPTS, REPORT_READ_TIMEOUT_SECONDS)

INVOKE_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": INVOKE_MAX_ATTEMPTS},
)
REPORT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=REPORT_READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": REPORT_MAX_ATTEMPTS},
)


class LambdaClient(Protocol):
    """The one Lambda call the hook makes (IAM: lambda:InvokeFunction on the health function's versions)."""

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]: ...  # noqa: N803


class CodeDeployClient(Protocol):
    """The one CodeDeploy call the hook makes (IAM: codedeploy:PutLifecycleEventHookExecutionStatus)."""

    def put_lifecycle_event_hook_execution_status(
        self,
        *,
        deploymentId: str,  # noqa: N803
        lifecycleEventHookExecutionId: str,  # noqa: N803
        status: str,
    ) -> dict[str, Any]: ...


class AwsClients:
    """Clients made on first use and kept while the environment is warm.

    A failure (no region, say) is raised to the caller each time it asks, never cached.
    """

    def __init__(self, session_factory: Callable[[], Session] = Session) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self._lambda: LambdaClient | None = None
        self._codedeploy: CodeDeployClient | None = None

    def lambda_client(self) -> LambdaClient:
        if self._lambda is None:
            client: LambdaClient = self._session_or_new().client("lambda", config=INVOKE_CONFIG)
            self._lambda = client
        return self._lambda

    def codedeploy_client(self) -> CodeDeployClient:
        if self._codedeploy is None:
            client: CodeDeployClient = self._session_or_new().client("codedeploy", config=REPORT_CONFIG)
            self._codedeploy = client
        return self._codedeploy

    def _session_or_new(self) -> Session:
        if self._session is None:
            self._session = self._session_factory()
        return self._session
