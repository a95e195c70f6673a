"""The PetSage API as one Lambda function: Powertools' resolver with a router per feature.

Read it in this order: `handler.py` (Lambda's entry point), `app.py` (the composition root),
`http_api.py` (what every request shares), then a feature's `router.py` and `models.py`.
"""

TITLE = "PetSage API"
VERSION = "1.0.0"
DESCRIPTION = "The official API for the PetSage Pet Care Companion."
