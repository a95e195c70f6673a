"""Lambda's entry point for the PetSage API (`Handler: handler.lambda_handler`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from petsage_api.app import app
from petsage_api.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: an event holds headers (a SigV4
# Authorization among them), cookies and bodies, which no log line may carry.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True, log_event=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Every invocation, request or not, is answered by the app and recorded once."""
    return app.answer(event, context)
