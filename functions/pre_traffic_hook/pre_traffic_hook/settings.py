"""The hook's configuration, read from the environment the template sets.

A bad value fails the deploy (a reported `Failed`) instead of falling back to a default: a gate
that silently ignores its configuration is worse than a deploy that has to be retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

TARGET_VERSION_ARN = "TARGET_VERSION_ARN"
GATE_ON_READINESS = "GATE_ON_READINESS"

# A qualified ARN of a published version (`!Ref HealthFunction.Version`). An alias or $LATEST is
# refused: the hook must test the version CodeDeploy is about to shift traffic to, and nothing else.
_VERSION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}:(?P<version>[0-9]+)")


class ConfigurationError(Exception):
    """The hook cannot run as configured; the message names the setting, never a secret."""


@dataclass(frozen=True)
class Settings:
    target_version_arn: str
    target_version: str
    gate_on_readiness: bool

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        arn = environ.get(TARGET_VERSION_ARN, "").strip()
        match = _VERSION_ARN.fullmatch(arn)
        if match is None:
            problem = "is not set" if not arn else "is not the ARN of a published function version"
            raise ConfigurationError(f"{TARGET_VERSION_ARN} {problem}")
        return cls(arn, match["version"], _flag(environ, GATE_ON_READINESS))


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in {"", "false"}:
        return False
    if value == "true":
        return True
    raise ConfigurationError(f"{name} must be true or false")
