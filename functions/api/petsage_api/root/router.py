"""The API root's route: the greeting at `/`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from petsage_api.root.models import WelcomeResponse

router = APIGatewayHttpRouter()


@router.get("/", tags=["Root"], summary="Read Root")
def read_root() -> WelcomeResponse:
    """Greets the caller and points at the interactive documentation."""
    return WelcomeResponse()
