"""The liveness contract, stated once for every test: what GET /api/v1/health answers, byte for byte,
and what a direct invocation returns as it is.

The canary (canary/api_canary.py) and the deploy hooks (deploy_hooks/contract.py) keep
their own copies: they are deployed on their own, and check the function from outside.
"""

from __future__ import annotations

import json

LIVENESS = {"status": "ok", "message": "PetSage API is purring!"}
# The exact body: compact JSON, `status` first.
LIVENESS_BODY = json.dumps(LIVENESS, separators=(",", ":"))
