"""Print template.yaml's functions as JSON: code directory, handler and environment of each.

For tools whose interpreter has no CloudFormation YAML loader: `make bench` pipes this (run by
.venv, which has cfn-lint) into bench/bench.py, so the benchmark's children get the environment
the template ships, read by the same rule as the local API (literal values; `!Ref Parameter` as
the parameter's default; other intrinsics left unset).
"""

from __future__ import annotations

import json

from local_api.template import functions, load_template


def main() -> None:
    specs = functions(load_template())
    document = {
        logical_id: {"code_dir": str(spec.code_dir), "handler": spec.handler, "environment": spec.environment}
        for logical_id, spec in sorted(specs.items())
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
