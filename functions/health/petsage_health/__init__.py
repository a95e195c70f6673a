"""The PetSage API health function: liveness, docs and the HTTP API contract around them."""
