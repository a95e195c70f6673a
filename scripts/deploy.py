"""`make deploy`: `sam deploy --config-env ENV`, with the two things SAM alone does not do.

1. It refuses a deploy whose alarms would notify no one, where the environment asks for a
   subscriber (`RequireAlarmSubscriber=true`, set for prod); the template's `Rules` refuse it
   again in CloudFormation, for whoever deploys without make.
2. It passes `VersionFingerprint`: SAM names the version AutoPublishAlias publishes after the
   code and the function's properties with parameter `Ref`s unresolved, so a parameter-only
   change (ReleaseId, the readiness resources, EnableSnapStart…) would leave the `live` alias on
   the old version. The fingerprint hashes the built artifact and the values of every parameter
   the function's properties use.

It passes every parameter of the template: samconfig's `parameter_overrides` (which
`--parameter-overrides` would replace, not extend), then those given here (`PARAMS=` in make),
then the template's defaults. SAM CLI sends a parameter it is not given as `UsePreviousValue`, so
CloudFormation would keep a value an earlier deploy set, and the checks above would have judged
values that are not the ones deployed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess  # runs SAM CLI with a fixed argv, no shell  # nosec B404
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from local_api.template import REPO_ROOT, load_template

SAMCONFIG = REPO_ROOT / "samconfig.toml"
ARTIFACT = REPO_ROOT / ".aws-sam" / "build" / "HealthFunction"
FUNCTION = "HealthFunction"
FINGERPRINT = "VersionFingerprint"
SUBSCRIBERS = ("AlarmEmail", "AlarmHttpsEndpoint", "AlarmNotificationTopicArn")


class DeployRefusedError(Exception):
    """What is missing, in words that say what to set."""


def samconfig_overrides(config_env: str, samconfig: Path = SAMCONFIG) -> dict[str, str]:
    """The environment's `deploy` parameter_overrides (a "K=V K=V" string or a list of them)."""
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    if config_env not in config:
        raise DeployRefusedError(f"samconfig.toml has no [{config_env}] environment")
    overrides = config[config_env].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    tokens = shlex.split(overrides) if isinstance(overrides, str) else list(overrides)
    return parse_overrides(tokens)


def parse_overrides(tokens: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for token in tokens:
        key, equals, value = token.partition("=")
        if not equals or not key:
            raise DeployRefusedError(f"parameter override {token!r} is not KEY=VALUE")
        pairs[key] = value
    return pairs


def effective_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """What CloudFormation will use: each parameter's override, else its default, as a string."""
    parameters: dict[str, Any] = template.get("Parameters", {})
    unknown = set(overrides) - set(parameters)
    if unknown:
        raise DeployRefusedError(f"template.yaml has no parameter {', '.join(sorted(unknown))}")
    values = {name: str(spec.get("Default", "")) for name, spec in parameters.items()}
    values.update(overrides)
    return values


def check_alarm_subscriber(values: Mapping[str, str]) -> None:
    if values.get("RequireAlarmSubscriber") == "true" and not any(values.get(name) for name in SUBSCRIBERS):
        raise DeployRefusedError(
            "this environment requires someone to receive its alarms (RequireAlarmSubscriber=true), "
            "and none is configured: add AlarmEmail=<address>, AlarmHttpsEndpoint=<https URL> or "
            "AlarmNotificationTopicArn=<SNS topic ARN> to its parameter_overrides in samconfig.toml "
            "(or PARAMS='AlarmEmail=...' for this deploy only)"
        )


def parameters_used_by(template: Mapping[str, Any], logical_id: str) -> set[str]:
    """Every parameter the resource's properties reference, directly or through a condition."""
    parameters = set(template.get("Parameters", {}))
    conditions: dict[str, Any] = template.get("Conditions", {})
    used: set[str] = set()
    pending = [template["Resources"][logical_id].get("Properties", {})]
    seen_conditions: set[str] = set()
    while pending:
        for name in _references(pending.pop()):
            if name in parameters:
                used.add(name)
            elif name in conditions and name not in seen_conditions:
                seen_conditions.add(name)
                pending.append(conditions[name])
    return used - {FINGERPRINT}


def _references(node: Any) -> Iterator[str]:
    """Names a template fragment refers to: Ref targets, ${Name} in Fn::Sub, Fn::If conditions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                yield from (part.split("}", 1)[0] for part in str(text).split("${")[1:])
            elif key in {"Fn::If", "Condition"} and value:
                yield value[0] if isinstance(value, list) else value
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def fingerprint(artifact: Path, values: Mapping[str, str]) -> str:
    """SHA-256 of the artifact's files (bytecode excepted: it derives from the sources) and the values."""
    digest = hashlib.sha256()
    files = sorted(path for path in artifact.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    if not files:
        raise DeployRefusedError(f"no build artifact in {artifact}: run `make build` (make deploy does)")
    for path in files:
        digest.update(str(path.relative_to(artifact)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(dict(sorted(values.items())), separators=(",", ":")).encode())
    return digest.hexdigest()


def deploy_overrides(config_env: str, extra: list[str], artifact: Path = ARTIFACT) -> dict[str, str]:
    """Every parameter's value for `sam deploy`, checked, the fingerprint included."""
    template = load_template()
    values = effective_parameters(template, {**samconfig_overrides(config_env), **parse_overrides(extra)})
    check_alarm_subscriber(values)
    used = parameters_used_by(template, FUNCTION)
    values[FINGERPRINT] = fingerprint(artifact, {name: values[name] for name in used})
    return values


def as_sam_overrides(values: Mapping[str, str]) -> list[str]:
    """`Key="value"` pairs: SAM CLI reads an unquoted value only up to a space, and no empty one."""
    quoted = [name for name, value in values.items() if '"' in value]
    if quoted:
        raise DeployRefusedError(f"a parameter value cannot hold a double quote: {', '.join(quoted)}")
    return [f'{name}="{value}"' for name, value in values.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-env", required=True, help="samconfig.toml environment, e.g. dev or prod")
    parser.add_argument("--sam", default=str(REPO_ROOT / ".tools" / "sam" / "bin" / "sam"), help="SAM CLI")
    parser.add_argument("--artifact", type=Path, default=ARTIFACT, help="the built function (sam build's output)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="parameter overrides for this deploy")
    parser.add_argument(
        "--print-overrides",
        action="store_true",
        help="print the checked overrides (fingerprint included) for `sam deploy --parameter-overrides`, and stop",
    )
    args = parser.parse_args(argv)
    try:
        overrides = deploy_overrides(args.config_env, args.overrides, args.artifact)
        pairs = as_sam_overrides(overrides)
    except DeployRefusedError as refusal:
        print(f"make deploy: refused: {refusal}", file=sys.stderr)
        return 2
    if args.print_overrides:  # for pipelines that run `sam deploy` themselves
        print(" ".join(pairs))
        return 0
    print(f"{FINGERPRINT}={overrides[FINGERPRINT]}", file=sys.stderr)
    command = [args.sam, "deploy", "--config-env", args.config_env, "--parameter-overrides", *pairs]
    return subprocess.run(command, check=False).returncode  # fixed argv, no shell  # nosec B603


if __name__ == "__main__":
    sys.exit(main())
