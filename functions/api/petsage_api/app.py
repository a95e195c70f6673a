"""The composition root: the resolver, and every feature's router under its prefix.

A new feature is a package with a `router.py` and a `models.py`, and one `include_router` line
here (docs/adding-a-route.md). The documentation routes come last, so that they describe every
route included before them.
"""

from __future__ import annotations

from petsage_api import DESCRIPTION, TITLE, VERSION, docs
from petsage_api.health import router as health
from petsage_api.health.models import HealthCheckResponse
from petsage_api.http_api import Resolver
from petsage_api.root import router as root

API_V1 = "/api/v1"

# What answers an invocation that is no HTTP request (`aws lambda invoke`, a schedule): liveness,
# so that a direct invoke doubles as a smoke test.
app = Resolver(direct_answer=HealthCheckResponse)
app.configure_openapi(title=TITLE, version=VERSION, description=DESCRIPTION)

app.include_router(root.router)
app.include_router(health.router, prefix=API_V1)
docs.enable(app)
