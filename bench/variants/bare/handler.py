"""The floor: a handler that answers the liveness contract with json.dumps and imports nothing else.

No `from __future__` and no `typing`: the floor's process imports only `json` (bench/coldstart.py).
"""

import json


def lambda_handler(event: object, context: object) -> dict[str, object]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"status": "ok", "message": "PetSage API is purring!"}),
    }
