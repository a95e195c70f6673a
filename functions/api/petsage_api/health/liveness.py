"""Liveness: the answer to "is this code running?".

It touches no dependency on purpose: a load balancer that fails every instance because a
shared table blinked causes the very outage it was meant to detect.
"""

from __future__ import annotations

from petsage_api.health.models import HealthCheckResponse


def liveness() -> HealthCheckResponse:
    """Answer from this process alone; reaching this line is the proof of life."""
    return HealthCheckResponse()
