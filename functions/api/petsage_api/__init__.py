"""The PetSage API as one Lambda function: a Powertools resolver with a router per feature.

`app` is the composition root; `health`, `root` and `docs` are the features; the other modules
are what every request shares: sorting invocations, finishing responses, errors, observability.
"""
