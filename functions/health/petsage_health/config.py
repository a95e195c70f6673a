"""Readiness configuration, read once from the environment at cold start.

A bad value never crashes the function: timeouts fall back to safe defaults, and
malformed resource names become a failing check, so a misconfiguration is visible in the
readiness answer instead of silently narrowing what is checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_SECONDS = 2.0
MAX_TIMEOUT_SECONDS = 25.0  # API Gateway gives up on an integration after 30 s
DEFAULT_CACHE_TTL_SECONDS = 10.0

# Environment variable -> (service, what a valid name looks like)
DEPENDENCY_VARIABLES: dict[str, tuple[str, re.Pattern[str]]] = {
    "HEALTH_DYNAMODB_TABLES": ("dynamodb", re.compile(r"[A-Za-z0-9_.\-]{3,255}")),
    "HEALTH_S3_BUCKETS": ("s3", re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")),
    # Hierarchical names only: the template's IAM ARN is "...:parameter" + name.
    "HEALTH_SSM_PARAMETERS": ("ssm", re.compile(r"/[A-Za-z0-9_.\-/]{1,2047}")),
}


@dataclass(frozen=True)
class Dependency:
    service: str  # "dynamodb" | "s3" | "ssm"
    name: str

    @property
    def component_name(self) -> str:
        # The draft wants exactly one colon in a check key; names may hold dots and slashes.
        return f"{self.service}/{self.name}"


@dataclass(frozen=True)
class ReadinessConfig:
    dependencies: tuple[Dependency, ...] = ()
    # Variables that held names we cannot check: reported as failing checks.
    invalid: Mapping[str, int] = field(default_factory=dict)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    cache_ttl_seconds: float = DEFAULT_CACHE_TTL_SECONDS
    release_id: str = "unknown"
    problems: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ReadinessConfig:
        problems: list[str] = []
        dependencies: list[Dependency] = []
        invalid: dict[str, int] = {}
        for variable, (service, valid_name) in DEPENDENCY_VARIABLES.items():
            names = [name.strip() for name in environ.get(variable, "").split(",") if name.strip()]
            bad = [name for name in names if not valid_name.fullmatch(name)]
            if bad:
                invalid[variable] = len(bad)
                problems.append(f"{variable}: {len(bad)} name(s) are not valid {service} names; reported as fail")
            dependencies += [Dependency(service, name) for name in dict.fromkeys(names) if name not in bad]
        timeout = _seconds(environ, "HEALTH_CHECK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, problems, minimum=0.001)
        if timeout > MAX_TIMEOUT_SECONDS:
            problems.append(f"HEALTH_CHECK_TIMEOUT_SECONDS={timeout:g} is over {MAX_TIMEOUT_SECONDS:g}; using that")
            timeout = MAX_TIMEOUT_SECONDS
        ttl = _seconds(environ, "HEALTH_CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL_SECONDS, problems, minimum=0.0)
        release_id = environ.get("HEALTH_RELEASE_ID") or environ.get("AWS_LAMBDA_FUNCTION_VERSION") or "unknown"
        return cls(tuple(dependencies), invalid, timeout, ttl, release_id, tuple(problems))


def _seconds(environ: Mapping[str, str], variable: str, default: float, problems: list[str], minimum: float) -> float:
    raw = environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        problems.append(f"{variable}={raw[:40]!r} is not a number of seconds >= {minimum:g}; using {default:g}")
        return default
    return value
