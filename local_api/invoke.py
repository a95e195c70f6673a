"""`make invoke`: `sam local invoke` without a container, under AWS's runtime interface client.

The function's build for this machine (made first when missing or stale, local_api/build.py)
runs in a fresh process under `awslambdaric`, with the environment the template gives it, and
answers the event through a loopback Runtime API (local_api/runtime_api.py). As with `sam local
invoke`, the response goes to stdout, the function's log and Lambda's START/END/REPORT lines
to stderr. Exit status: 0 when every invocation answered, 1 on a function error, an init error
or a failed build, 2 on a usage error.

    python -m local_api.invoke [--event FILE|-] [--function LOGICAL_ID] [--env KEY=VALUE]...
                               [--env-vars FILE] [--repeat N] [--template FILE] [--build-dir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from local_api.build import BuildError, ensure_built
from local_api.runtime_api import ExecutionEnvironment
from local_api.template import TEMPLATE_PATH, FunctionSpec, functions, load_template

_VARIABLE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)", re.DOTALL)


class UsageError(Exception):
    """Bad input from the person at the keyboard: said plainly, never as a traceback."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    template: Path = args.template.resolve()
    try:
        if importlib.util.find_spec("awslambdaric") is None:
            raise UsageError("awslambdaric is not installed: `make install` installs it (it ships Linux wheels only)")
        spec = _choose_function(template, args.function)
        event = _read_event(args.event)
        environment = _environment(spec, args.env_vars, args.env)
        artifact = ensure_built(spec, template, args.build_dir or template.parent / ".aws-sam" / "invoke")
    except UsageError as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 2
    except BuildError as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 1
    answered = True
    try:
        function = dataclasses.replace(spec, code_dir=artifact, environment=environment)
        with ExecutionEnvironment(function, log=sys.stderr) as execution:
            for _ in range(args.repeat):
                invocation = execution.invoke(event)
                answered = answered and invocation.error_type is None
                print(invocation.payload.decode("utf-8", "replace"), flush=True)
    except KeyboardInterrupt:
        return 130
    return 0 if answered else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_api.invoke", description=__doc__.splitlines()[0])
    parser.add_argument("--event", "-e", help="event file, or - for standard input (default: {}, like --no-event)")
    parser.add_argument("--function", "-f", help="logical id of the function (default: the template's first)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="set a variable (wins over all)"
    )
    parser.add_argument("--env-vars", "-n", type=Path, help="JSON file in sam's --env-vars format")
    parser.add_argument("--repeat", type=_positive, default=1, metavar="N", help="invocations of one environment")
    parser.add_argument("--template", "-t", type=Path, default=TEMPLATE_PATH, help="SAM template (template.yaml)")
    parser.add_argument("--build-dir", type=Path, help="where builds are kept (default: .aws-sam/invoke)")
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _choose_function(template: Path, logical_id: str | None) -> FunctionSpec:
    specs = functions(load_template(template), base_dir=template.parent)
    if logical_id is None:
        return next(iter(specs.values()))
    if logical_id not in specs:
        raise UsageError(f"no function {logical_id!r} in {template.name}; it has: {', '.join(specs)}")
    return specs[logical_id]


def _read_event(source: str | None) -> bytes:
    """The event as Lambda would receive it: a JSON document (`{}` when none is given)."""
    if source is None:
        return b"{}"
    name = "standard input" if source == "-" else source
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        json.loads(data)
    except OSError as error:
        raise UsageError(f"cannot read the event {name}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"the event in {name} is not JSON: {error}") from None
    return data


def _environment(spec: FunctionSpec, env_vars: Path | None, assignments: list[str]) -> dict[str, str]:
    """The template's variables, then (as sam does) the shell's value of each, the env-vars file, then --env."""
    environment = {name: os.environ.get(name, value) for name, value in spec.environment.items()}
    if env_vars is not None:
        sections = _read_env_vars(env_vars)
        for section in (sections.get("Parameters", {}), sections.get(spec.logical_id, {})):
            for key, value in section.items():
                environment[key] = value if isinstance(value, str) else json.dumps(value)  # 512, true
    for assignment in assignments:
        variable = _VARIABLE.fullmatch(assignment)
        if variable is None:
            raise UsageError(f'--env {assignment!r}: expected KEY=VALUE (make invoke ENV="KEY=VALUE ...")')
        environment[variable["key"]] = variable["value"]
    return environment


def _read_env_vars(path: Path) -> dict[str, dict[str, Any]]:
    """sam's --env-vars file: {"LogicalId": {"KEY": "VALUE"}} and/or {"Parameters": {...}} for every function."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the env-vars file {path}: {error}") from None
    if not isinstance(document, dict) or not all(isinstance(section, dict) for section in document.values()):
        raise UsageError(f'{path}: expected {{"LogicalId": {{"KEY": "VALUE"}}, "Parameters": {{...}}}}')
    return document


if __name__ == "__main__":
    sys.exit(main())
