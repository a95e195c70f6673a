"""Hypothesis profiles for the adversarial suite.

`make test` runs the "test" profile: derandomized (the same examples on every machine and in
CI), at least 10,000 events. `make fuzz` selects "fuzz" (`--hypothesis-profile=fuzz`): random,
many more examples, and the failing example is printed for a regression test.
"""

from __future__ import annotations

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
settings.load_profile("test")
