"""`make invoke`: `sam local invoke` without a container, under AWS's runtime interface client.

The function's build for this machine (made first when missing or stale) runs in a fresh
process under `awslambdaric`, with the environment the template gives it, and answers one
event through a loopback Runtime API. As with `sam local invoke`, the response goes to
stdout, the function's log and Lambda's START/END/REPORT lines to stderr. Exit status: 0
when every invocation answered, 1 on a function error, an init error or a failed build,
2 on a usage error.

    python -m local_api.invoke [--event FILE|-] [--function LOGICAL_ID] [--env KEY=VALUE]...
                               [--env-vars FILE] [--repeat N] [--template FILE] [--build-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from local_api.build import BuildError, ensure_built
from local_api.runtime_api import ExecutionEnvironment, FunctionConfig, Invocation, Outcome
from local_api.template import TEMPLATE_PATH, FunctionSpec, functions, load_template

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UsageError(Exception):
    """Bad input from the person at the keyboard: said plainly, never as a traceback."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if importlib.util.find_spec("awslambdaric") is None:
            raise UsageError("awslambdaric is not installed: `make install` installs it (it ships Linux wheels only)")
        template_path: Path = args.template.resolve()
        spec = _choose_function(template_path, args.function)
        event = _read_event(args.event)
        environment = _environment(spec, _read_env_vars(args.env_vars), args.env)
        build_dir = args.build_dir or template_path.parent / ".aws-sam" / "invoke"
        artifact = ensure_built(spec, build_dir)
    except UsageError as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 2
    except BuildError as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 1
    config = FunctionConfig(
        name=spec.logical_id,
        code_dir=artifact,
        handler=spec.handler,
        memory_size_mb=spec.memory_size,
        timeout_seconds=spec.timeout,
        log_format=spec.log_format,
        log_level=spec.application_log_level,
        region=environment.get("AWS_REGION", FunctionConfig.region),
        environment=environment,
    )
    invocations: list[Invocation] = []
    try:
        with ExecutionEnvironment(config) as execution:
            for _ in range(args.repeat):
                invocation = execution.invoke(raw=event)
                invocations.append(invocation)
                _print_log(invocation, config)
                sys.stdout.write(invocation.payload.decode("utf-8", "replace") + "\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    if args.repeat > 1:
        _print_summary(invocations)
    return 0 if all(invocation.ok for invocation in invocations) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_api.invoke", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--event", "-e", help="event file, or - for standard input (default: {}, like --no-event)")
    parser.add_argument("--function", "-f", help="logical id of the function (default: the template's first)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="set a variable (repeatable; wins over all)"
    )
    parser.add_argument("--env-vars", "-n", type=Path, help="JSON file in sam's --env-vars format")
    parser.add_argument("--repeat", type=_positive, default=1, help="invocations of the same environment")
    parser.add_argument("--template", "-t", type=Path, default=TEMPLATE_PATH, help="SAM template (template.yaml)")
    parser.add_argument("--build-dir", type=Path, help="where builds are kept (default: .aws-sam/invoke)")
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _choose_function(template_path: Path, logical_id: str | None) -> FunctionSpec:
    if not template_path.is_file():
        raise UsageError(f"no template at {template_path}")
    try:
        specs = functions(load_template(template_path), base_dir=template_path.parent)
    except Exception as error:  # noqa: BLE001 - cfn-lint's loader raises many kinds; all mean "not a template"
        raise UsageError(f"cannot read {template_path}: {error}") from None
    if not specs:
        raise UsageError(f"{template_path} defines no AWS::Serverless::Function")
    if logical_id is None:
        return next(iter(specs.values()))
    if logical_id not in specs:
        raise UsageError(f"no function {logical_id!r} in {template_path.name}; it has: {', '.join(specs)}")
    spec = specs[logical_id]
    if not spec.runtime.startswith("python"):
        raise UsageError(f"{logical_id} runs on {spec.runtime}; make invoke runs Python functions only")
    return spec


def _read_event(source: str | None) -> bytes:
    """The event as Lambda would receive it: a JSON document (`{}` when none is given)."""
    if source is None:
        return b"{}"
    if source == "-":
        data, name = sys.stdin.buffer.read(), "standard input"
    else:
        try:
            data, name = Path(source).read_bytes(), source
        except OSError as error:
            raise UsageError(f"cannot read the event {source}: {error.strerror}") from None
    try:
        json.loads(data)
    except ValueError as error:
        raise UsageError(f"the event in {name} is not JSON: {error}") from None
    return data


def _read_env_vars(path: Path | None) -> dict[str, dict[str, str]]:
    """sam's --env-vars file: {"LogicalId": {"KEY": "VALUE"}} and/or {"Parameters": {...}} for every function."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_bytes())
    except OSError as error:
        raise UsageError(f"cannot read the env-vars file {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"the env-vars file {path} is not JSON: {error}") from None
    if not isinstance(document, dict) or not all(isinstance(section, dict) for section in document.values()):
        raise UsageError(f'{path}: expected {{"LogicalId": {{"KEY": "VALUE"}}, "Parameters": {{...}}}}')
    sections: dict[str, dict[str, str]] = {}
    for name, section in document.items():
        sections[name] = {}
        for key, value in section.items():
            if isinstance(value, dict | list):
                raise UsageError(f"{path}: {name}.{key} must be a string, number or boolean")
            sections[name][key] = _stringify(value)
    return sections


def _stringify(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _environment(spec: FunctionSpec, env_vars: dict[str, dict[str, str]], assignments: list[str]) -> dict[str, str]:
    """The template's variables, then (as sam does) the shell's value of each, the env-vars file, then --env."""
    environment = {name: os.environ.get(name, value) for name, value in spec.environment.items()}
    environment.update(env_vars.get("Parameters", {}))
    environment.update(env_vars.get(spec.logical_id, {}))
    for assignment in assignments:
        key, separator, value = assignment.partition("=")
        if not separator or not _VARIABLE_NAME.fullmatch(key):
            raise UsageError(f'--env {assignment!r}: expected KEY=VALUE (make invoke ENV="KEY=VALUE ...")')
        environment[key] = value
    return environment


# --- what Lambda would log around the function's own lines ---------------------------------


def _print_log(invocation: Invocation, config: FunctionConfig) -> None:
    request_id = invocation.request_id
    lines = [_shown(line.text) for line in invocation.init_log]
    if invocation.outcome is Outcome.INIT_ERROR:
        lines.append(
            f"INIT_REPORT Init Duration: {invocation.init_duration_ms or 0:.2f} ms\tPhase: init\tStatus: error"
            f"\tError Type: {invocation.error_type}"
        )
    lines.append(f"START RequestId: {request_id} Version: $LATEST")
    lines.extend(_shown(line.text) for line in invocation.log)
    lines.append(f"END RequestId: {request_id}")
    lines.append(_report_line(invocation, config))
    print("\n".join(lines), file=sys.stderr, flush=True)


def _report_line(invocation: Invocation, config: FunctionConfig) -> str:
    """Lambda's REPORT line. Since August 2025 a cold start's init is billed too, so it is in Billed Duration."""
    billed = math.ceil(invocation.duration_ms + (invocation.init_duration_ms or 0))
    fields = [
        f"REPORT RequestId: {invocation.request_id}",
        f"Duration: {invocation.duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {config.memory_size_mb} MB",
    ]
    if invocation.max_memory_used_mb is not None:
        fields.append(f"Max Memory Used: {invocation.max_memory_used_mb} MB")
    if invocation.init_duration_ms is not None:
        fields.append(f"Init Duration: {invocation.init_duration_ms:.2f} ms")
    if invocation.error_type == "Sandbox.Timedout":
        fields.append("Status: timeout")
    elif invocation.outcome is Outcome.INIT_ERROR or invocation.error_type == "Runtime.ExitError":
        fields.extend(["Status: error", f"Error Type: {invocation.error_type}"])
    return "\t".join(fields)


def _shown(text: str) -> str:
    """The runtime separates a traceback's lines with \\r (one CloudWatch event); a terminal needs \\n."""
    return text.replace("\r", "\n").rstrip("\n")


def _print_summary(invocations: list[Invocation]) -> None:
    cold = [invocation for invocation in invocations if invocation.cold]
    warm = [invocation.duration_ms for invocation in invocations if not invocation.cold]
    lines = [f"{len(invocations)} invocations, {len(cold)} cold:"]
    lines.extend(
        f"  cold: Init Duration {invocation.init_duration_ms or 0:.2f} ms + Duration {invocation.duration_ms:.2f} ms"
        for invocation in cold
    )
    if warm:
        lines.append(
            f"  warm: Duration median {statistics.median(warm):.2f} ms, "
            f"min {min(warm):.2f} ms, max {max(warm):.2f} ms over {len(warm)}"
        )
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
