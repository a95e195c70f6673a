"""The floor: a handler that answers the liveness contract with json.dumps and nothing else."""

from __future__ import annotations

import json
from typing import Any


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"status": "ok", "message": "PetSage API is purring!"}),
    }
