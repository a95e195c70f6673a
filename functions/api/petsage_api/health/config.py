"""Readiness configuration, read once from the environment at cold start.

A bad value never crashes the function: timeouts fall back to safe defaults, and malformed
resource names, URLs or optional-dependency keys become a failing check, so a misconfiguration
is visible in the readiness answer instead of silently narrowing what is checked.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

# A check's deadline, by default. Route 53 health checkers wait 2 s after connecting for an answer:
# a cold environment's readiness answer is its init, the SDK's import and clients (~0.25 s), then
# this (docs/readiness.md measures it), so 1 s leaves room where 2 s would not.
DEFAULT_TIMEOUT_SECONDS = 1.0
MAX_TIMEOUT_SECONDS = 25.0  # API Gateway gives up on an integration after 30 s
DEFAULT_CACHE_TTL_SECONDS = 10.0
HTTP_ENDPOINTS = "HEALTH_HTTP_ENDPOINTS"
OPTIONAL_DEPENDENCIES = "HEALTH_OPTIONAL_DEPENDENCIES"
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?")
# RFC 3986 path characters except ":" (a check key holds exactly one colon), at most 512: with
# "http/", a 253-character host and "_65535" the key stays inside a CloudWatch dimension value's
# 1,024 characters (docs: CloudWatch API reference, "Dimension"), or its metrics would be dropped.
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=@%/\-]{0,511}")


def _matching(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda name: compiled.fullmatch(name) is not None


def _is_url(name: str) -> bool:
    return http_endpoint(name) is not None


# Environment variable -> (service, what a valid name looks like)
DEPENDENCY_VARIABLES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "HEALTH_DYNAMODB_TABLES": ("dynamodb", _matching(r"[A-Za-z0-9_.\-]{3,255}")),
    "HEALTH_S3_BUCKETS": ("s3", _matching(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")),
    # Hierarchical names only: the template's IAM ARN is "...:parameter" + name. At most 1,011
    # characters (docs: SSM API reference, "PutParameter", Name), so "ssm/" + name is a valid
    # CloudWatch dimension value.
    "HEALTH_SSM_PARAMETERS": ("ssm", _matching(r"/[A-Za-z0-9_.\-/]{1,1010}")),
    HTTP_ENDPOINTS: ("http", _is_url),
}


def http_endpoint(url: str) -> SplitResult | None:
    """An acceptable downstream health URL, or None.

    https only, except loopback hosts (local runs and tests); no credentials, query or fragment
    (secrets ride there, and the URL is shown to authorized callers); no IPv6 literal (a check
    key may hold no colon). Nothing is resolved here: a DNS name is checked when it is called.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if not _HOSTNAME.fullmatch(host) or parts.username is not None or parts.password is not None:
        return None
    if parts.query or parts.fragment or "?" in url or "#" in url or not _PATH.fullmatch(parts.path or "/"):
        return None
    if port is not None and not 0 < port < 65536:
        return None
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return parts
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Dependency:
    service: str  # "dynamodb" | "s3" | "ssm" | "http"
    name: str  # the table, bucket or parameter name, or the URL
    optional: bool = False  # failing makes readiness "warn", not "fail"

    @property
    def component_name(self) -> str:
        """`{service}/{resource}`: the check key without its measurement (and the optional-list key).

        The draft wants exactly one colon in a check key; names may hold dots and slashes. A URL
        becomes `http/<host><path>`, a non-default port written `<host>_<port>` (no hostname
        holds an underscore).
        """
        if self.service != "http":
            return f"{self.service}/{self.name}"
        parts = urlsplit(self.name)
        port = f"_{parts.port}" if parts.port is not None else ""
        return f"http/{(parts.hostname or '').lower()}{port}{parts.path or '/'}"


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
        for variable, (service, valid) in DEPENDENCY_VARIABLES.items():
            names = _listed(environ, variable)
            bad = [name for name in names if not valid(name)]
            if bad:
                invalid[variable] = len(bad)
                problems.append(f"{variable}: {len(bad)} value(s) are not valid {service} names; reported as fail")
            dependencies += [Dependency(service, name) for name in dict.fromkeys(names) if name not in bad]
        dependencies = _unique_keys(dependencies, invalid, problems)
        dependencies = _mark_optional(dependencies, _listed(environ, OPTIONAL_DEPENDENCIES), invalid, problems)
        timeout = _seconds(environ, "HEALTH_CHECK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, problems, minimum=0.001)
        if timeout > MAX_TIMEOUT_SECONDS:
            problems.append(f"HEALTH_CHECK_TIMEOUT_SECONDS={timeout:g} is over {MAX_TIMEOUT_SECONDS:g}; using that")
            timeout = MAX_TIMEOUT_SECONDS
        ttl = _seconds(environ, "HEALTH_CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL_SECONDS, problems, minimum=0.0)
        release_id = environ.get("HEALTH_RELEASE_ID") or environ.get("AWS_LAMBDA_FUNCTION_VERSION") or "unknown"
        return cls(tuple(dependencies), invalid, timeout, ttl, release_id, tuple(problems))


def _listed(environ: Mapping[str, str], variable: str) -> list[str]:
    return [name.strip() for name in environ.get(variable, "").split(",") if name.strip()]


def _unique_keys(dependencies: list[Dependency], invalid: dict[str, int], problems: list[str]) -> list[Dependency]:
    """URLs differing only by scheme (http and https on loopback) or by the host's case share a
    check key: the second is invalid."""
    kept: dict[str, Dependency] = {}
    for dependency in dependencies:
        if dependency.component_name in kept:
            invalid[HTTP_ENDPOINTS] = invalid.get(HTTP_ENDPOINTS, 0) + 1
            problems.append(
                f"{HTTP_ENDPOINTS}: two URLs give the check key {dependency.component_name}; reported as fail"
            )
        else:
            kept[dependency.component_name] = dependency
    return list(kept.values())


def _mark_optional(
    dependencies: list[Dependency], keys: list[str], invalid: dict[str, int], problems: list[str]
) -> list[Dependency]:
    configured = {dependency.component_name for dependency in dependencies}
    unknown = [key for key in dict.fromkeys(keys) if key not in configured]
    if unknown:
        invalid[OPTIONAL_DEPENDENCIES] = len(unknown)
        problems.append(
            f"{OPTIONAL_DEPENDENCIES}: {len(unknown)} key(s) name no configured dependency; reported as fail"
        )
    optional = set(keys)
    return [
        Dependency(dependency.service, dependency.name, dependency.component_name in optional)
        for dependency in dependencies
    ]


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
