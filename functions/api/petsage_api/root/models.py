"""The API root's response model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

WELCOME_MESSAGE = "Welcome to the PetSage API! Find our docs at /docs"


class WelcomeResponse(BaseModel):
    """Greeting served at the API root, pointing people at the docs."""

    model_config = ConfigDict(defer_build=True)

    message: str = Field(
        default=WELCOME_MESSAGE,
        description="A welcome message that says where the API documentation lives.",
        examples=[WELCOME_MESSAGE],
    )
