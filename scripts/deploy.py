"""`make deploy`: `sam deploy --config-env ENV`, with the things SAM alone does not do.

`make deploy` runs this module twice: with `--preflight` before building, to check the
configuration, that AWS credentials can be found, and that the account can take the stack (one
line saying what to do, not a failed stack after a minute of building), then after `make build`
to deploy.

1. It refuses a deploy whose alarms would notify no one, where the environment asks for a
   subscriber (`RequireAlarmSubscriber=true`, set for prod); the template's `Rules` refuse it
   again in CloudFormation, for whoever deploys without make. It refuses a stack that
   CloudFormation can only delete (ROLLBACK_COMPLETE), naming the command, and a reserved
   concurrency that would leave the account fewer than the 100 unreserved executions Lambda
   keeps (the create would fail late, and leave such a stack).
2. It passes `VersionFingerprint`, which SAM uses as the version's hash instead of its own
   (AutoPublishCodeSha256). SAM's own hashes parameter `Ref`s unresolved, so a parameter-only
   change (ReleaseId, the readiness resources, EnableSnapStart…) would leave the `live` alias on
   the old version. The fingerprint hashes what a published Lambda version holds: the built
   artifact, the function's properties as the built template has them (Globals applied), and the
   values of the parameters those properties use. Properties that are no part of a version
   (NOT_VERSIONED) are left out, so changing only the deployment strategy or the reserved
   concurrency runs no needless deployment.

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
import os
import shlex
import subprocess  # runs SAM CLI with a fixed argv, no shell  # nosec B404
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_api.template import REPO_ROOT, load_template, with_globals

SAMCONFIG = REPO_ROOT / "samconfig.toml"
ARTIFACT = REPO_ROOT / ".aws-sam" / "build" / "HealthFunction"
FUNCTION = "HealthFunction"
# What a published version does not hold, or what the artifact's hash already covers. "After you
# publish a function version, its code, runtime, architecture, memory, layers, and most other
# configuration settings are immutable" (Lambda developer guide, "Manage Lambda function
# versions"); concurrency "applies to the function as a whole, including all published versions"
# ("Configuring reserved concurrency"); provisioned concurrency, triggers (Events) and
# asynchronous invocation are set on an alias or version, not in it; the role's policies are the
# role's. Everything else (MemorySize, Timeout, Environment, Layers, SnapStart, Handler, Role,
# LoggingConfig, Tracing, Description…) is hashed, including properties added later.
NOT_VERSIONED = frozenset(
    {
        "AutoPublishAlias",
        "AutoPublishAliasAllProperties",
        "AutoPublishCodeSha256",
        "CodeUri",  # the artifact's files are hashed instead of the path sam build wrote here
        "DeploymentPreference",
        "EventInvokeConfig",
        "Events",
        "FunctionUrlConfig",
        "Policies",
        "ProvisionedConcurrencyConfig",
        "ReservedConcurrentExecutions",
        "Tags",
        "VersionDeletionPolicy",
    }
)
FINGERPRINT = "VersionFingerprint"
SUBSCRIBERS = ("AlarmEmail", "AlarmHttpsEndpoint", "AlarmNotificationTopicArn")
# "Lambda reserves 100 units of concurrency for functions that don't have reserved concurrency"
# (Lambda developer guide, "Configuring reserved concurrency for a function").
UNRESERVED_MINIMUM = 100


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


def version_properties(template: Mapping[str, Any], logical_id: str = FUNCTION) -> dict[str, Any]:
    """The function's properties that a published version holds, with Globals.Function applied."""
    merged = with_globals(
        template.get("Globals", {}).get("Function", {}), template["Resources"][logical_id]["Properties"]
    )
    return {name: value for name, value in merged.items() if name not in NOT_VERSIONED}


def parameters_used_by(template: Mapping[str, Any], logical_id: str = FUNCTION) -> set[str]:
    """Every parameter the version's properties reference, directly or through a condition."""
    parameters = set(template.get("Parameters", {}))
    conditions: dict[str, Any] = template.get("Conditions", {})
    used: set[str] = set()
    pending: list[Any] = [version_properties(template, logical_id)]
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


def fingerprint(artifact: Path, properties: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """SHA-256 of the artifact's files (bytecode excepted: it derives from the sources), the
    version's properties as the template writes them, and the values of the parameters they use."""
    digest = hashlib.sha256()
    files = sorted(path for path in artifact.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    if not files:
        raise DeployRefusedError(f"no build artifact in {artifact}: run `make build` (make deploy does)")
    for path in files:
        digest.update(str(path.relative_to(artifact)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    configuration = {"properties": properties, "parameters": dict(values)}
    digest.update(json.dumps(configuration, sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()


def checked_parameters(config_env: str, extra: list[str]) -> dict[str, str]:
    """Every parameter's value for this deploy, refused where it would deploy something unsafe."""
    values = effective_parameters(load_template(), {**samconfig_overrides(config_env), **parse_overrides(extra)})
    check_alarm_subscriber(values)
    return values


def deploy_overrides(config_env: str, extra: list[str], artifact: Path = ARTIFACT) -> dict[str, str]:
    """Every parameter's value for `sam deploy`, checked, the fingerprint included.

    The version's properties come from the template `sam build` wrote beside the artifact: what
    `sam deploy` will send.
    """
    values = checked_parameters(config_env, extra)
    built = artifact.parent / "template.yaml"
    if not built.is_file():
        raise DeployRefusedError(f"no built template at {built}: run `make build` (make deploy does)")
    template = load_template(built)
    used = parameters_used_by(template, FUNCTION)
    values[FINGERPRINT] = fingerprint(artifact, version_properties(template, FUNCTION), {n: values[n] for n in used})
    return values


def global_settings(config_env: str, samconfig: Path = SAMCONFIG) -> dict[str, str]:
    """samconfig.toml's global parameters of the environment (stack_name, region, profile), over the default's."""
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    settings = {**config.get("default", {}).get("global", {}).get("parameters", {})}
    settings.update(config.get(config_env, {}).get("global", {}).get("parameters", {}))
    return settings


@dataclass(frozen=True)
class Target:
    """Where the deploy goes: a botocore session as SAM CLI resolves it, its region, said in words."""

    session: Any
    region: str
    description: str


def deploy_target(config_env: str) -> Target:
    """The session and region of the deploy, refused in one line when there are no credentials.

    botocore's own chain: environment, shared files, SSO cache, credential_process, container and
    instance roles. Only samconfig's profile is passed: given AWS_PROFILE explicitly, botocore would
    skip the environment's keys, which SAM CLI (reading AWS_PROFILE itself) still uses.
    """
    import botocore.exceptions  # only the deploy path needs botocore
    import botocore.session

    settings = global_settings(config_env)
    session = botocore.session.Session(profile=settings.get("profile") or None)
    region = settings.get("region") or session.get_config_variable("region")
    shown = settings.get("profile") or os.environ.get("AWS_PROFILE") or "default"
    how = (
        "set AWS_PROFILE to a profile from `aws configure` or `aws configure sso` (then `aws sso login`), "
        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and run make deploy again"
    )
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as problem:
        raise DeployRefusedError(f"cannot read AWS credentials for profile {shown!r} ({problem}): {how}") from None
    if credentials is None:
        raise DeployRefusedError(
            f"no AWS credentials found for profile {shown!r} (region {region}, samconfig.toml [{config_env}]): {how}"
        )
    if not region:
        raise DeployRefusedError(f"no region for [{config_env}]: set region in samconfig.toml or AWS_REGION")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    target = f" at {endpoint}" if endpoint else ""
    return Target(
        session, region, f"credentials from {credentials.method} (profile {shown!r}), region {region}{target}"
    )


def check_account(session: Any, region: str, stack_name: str, values: Mapping[str, str]) -> None:
    """What the account must allow before anything is built: the stack can be updated, and the
    reservation leaves Lambda its unreserved minimum. Read-only calls; refused in one line."""
    from botocore.exceptions import BotoCoreError, ClientError

    cloudformation = session.create_client("cloudformation", region_name=region)
    try:
        try:
            [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if "does not exist" not in str(error):
                raise
            stack = None
        if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
            raise DeployRefusedError(
                f"stack {stack_name} is in ROLLBACK_COMPLETE: its first create failed, and CloudFormation can only "
                f"delete it: `aws cloudformation delete-stack --stack-name {stack_name} --region {region}`, "
                "then make deploy again (docs/deploying.md: what a failed create leaves)"
            )
        requested = int(values.get("ReservedConcurrency") or 0)
        if requested:
            check_concurrency(session, region, cloudformation, stack_name if stack else None, requested)
    except ClientError as error:
        raise DeployRefusedError(
            f"cannot read the account's state in {region} ({error.operation_name}: {error.response['Error']['Code']}): "
            "the deploying principal needs cloudformation:DescribeStacks and DescribeStackResource, "
            "lambda:GetAccountSettings and GetFunctionConcurrency"
        ) from None
    except BotoCoreError as error:
        raise DeployRefusedError(f"cannot reach AWS in {region} ({type(error).__name__})") from None


def check_concurrency(session: Any, region: str, cloudformation: Any, stack_name: str | None, requested: int) -> None:
    """The reservation, less what this function reserves today, must leave UNRESERVED_MINIMUM unreserved."""
    lambda_ = session.create_client("lambda", region_name=region)
    limit = lambda_.get_account_settings()["AccountLimit"]
    current = 0  # what the deployed function reserves already counts as reserved in the account's figures
    if stack_name is not None:
        resource = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=FUNCTION)
        function = resource["StackResourceDetail"]["PhysicalResourceId"]
        current = lambda_.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions", 0)
    left = limit["UnreservedConcurrentExecutions"] + current - requested
    if left < UNRESERVED_MINIMUM:
        raise DeployRefusedError(
            f"ReservedConcurrency={requested} would leave {left} of this account's {limit['ConcurrentExecutions']} "
            f"concurrent executions in {region} unreserved, and Lambda keeps at least {UNRESERVED_MINIMUM}: ask for "
            "a higher quota (Service Quotas, Lambda, Concurrent executions), or deploy with "
            "PARAMS=ReservedConcurrency=0 until then"
        )


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
    parser.add_argument(
        "--confirm",
        choices=["true", "false"],
        help="ask to confirm the change set, or not (a pipeline); default: the environment's confirm_changeset",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="parameter overrides for this deploy")
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--preflight",
        action="store_true",
        help="check the configuration, the credentials and the account, before anything is built; deploy nothing",
    )
    what.add_argument(
        "--print-overrides",
        action="store_true",
        help="print the checked overrides (fingerprint included) for `sam deploy --parameter-overrides`, and stop",
    )
    args = parser.parse_args(argv)
    try:
        if args.preflight:
            values = checked_parameters(args.config_env, args.overrides)
            target = deploy_target(args.config_env)
            check_account(target.session, target.region, global_settings(args.config_env)["stack_name"], values)
            print(f"make deploy: {args.config_env}: {target.description}", file=sys.stderr)
            return 0
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
    if args.confirm:
        command.append("--confirm-changeset" if args.confirm == "true" else "--no-confirm-changeset")
    return subprocess.run(command, check=False).returncode  # fixed argv, no shell  # nosec B603


if __name__ == "__main__":
    sys.exit(main())
