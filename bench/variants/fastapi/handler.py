"""The peer: the same contract (health, welcome, docs) in FastAPI behind Mangum, as its docs build it."""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel, Field

app = FastAPI(
    title="PetSage API",
    version="1.0.0",
    description="The official API for the PetSage Pet Care Companion.",
)


class HealthCheckResponse(BaseModel):
    """Response model for the system health check endpoint."""

    status: str = Field(default="ok", description="The operational status of the system.")
    message: str = Field(default="PetSage API is purring!", description="A friendly confirmation message.")


class WelcomeResponse(BaseModel):
    """Greeting served at the API root, pointing people at the docs."""

    message: str = Field(default="Welcome to the PetSage API! Find our docs at /docs")


@app.get("/", tags=["Root"], summary="Read Root")
def read_root() -> WelcomeResponse:
    return WelcomeResponse()


@app.get("/api/v1/health", tags=["System"], summary="Perform a System Health Check")
def perform_health_check() -> HealthCheckResponse:
    return HealthCheckResponse()


lambda_handler = Mangum(app, lifespan="off")
