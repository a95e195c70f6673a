"""Hypothesis profiles for the adversarial suite.

`make test` runs the "test" profile: derandomized (the same examples on every machine and in
CI), 3,000 events. `make fuzz` selects "fuzz" (PETSAGE_HYPOTHESIS_PROFILE=fuzz):
random, fifty times the examples, failures kept in .hypothesis/ and replayed first next time.
`make mutation` selects "mutation": derandomized like "test", a twentieth of the examples, as
each surviving mutant of the handler's path runs these tests again (scripts/mutation.py).
The choice is an environment variable because this conftest loads after pytest's
--hypothesis-profile option is applied, and would override it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_DATA_IS_THE_POINT = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    "test",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_DATA_IS_THE_POINT,
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_DATA_IS_THE_POINT,
)
settings.register_profile("mutation", parent=settings.get_profile("test"))
settings.load_profile(os.environ.get("PETSAGE_HYPOTHESIS_PROFILE", "test"))
