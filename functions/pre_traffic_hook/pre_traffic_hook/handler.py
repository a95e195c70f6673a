"""Lambda entry point of the pre-traffic hook (handler `pre_traffic_hook.handler.lambda_handler`).

CodeDeploy invokes it asynchronously with `{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}`
and waits for the status it reports; what the handler returns is ignored.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pre_traffic_hook.clients import AwsClients
from pre_traffic_hook.hook import run_hook

# The build copies the repository's events/ to the artifact root, next to this package.
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"

logger = logging.getLogger(__name__)
clients = AwsClients()  # made on the first invocation, reused while the environment is warm


def lambda_handler(event: Any, context: Any) -> None:
    """Never raises: a raised error would be retried by Lambda's async invoke, not reported."""
    try:
        run_hook(event, context, environ=os.environ, events_dir=EVENTS_DIR, clients=clients)
    except Exception:  # the last line of defence; run_hook is written not to raise
        logger.exception("The pre-traffic hook failed unexpectedly")
