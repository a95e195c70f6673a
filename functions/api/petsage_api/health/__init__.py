"""Health: liveness, readiness of the configured dependencies, and the details for on-call."""
