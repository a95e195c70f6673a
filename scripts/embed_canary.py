"""Copy canary/api_canary.py into operations/monitoring.yaml as the canary's inline script (`make canary`).

CloudFormation takes a Python canary either from S3 or inline, and SAM does not package
AWS::Synthetics::Canary code, so the script is embedded verbatim; tests/infrastructure keep the two equal.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "canary" / "api_canary.py"
TEMPLATE = REPO_ROOT / "operations" / "monitoring.yaml"
# The one literal block in the template that holds the canary (its key is unique).
SCRIPT_KEY = re.compile(r"^(?P<indent> +)Script: \|\n", re.MULTILINE)


def embed(template: str, script: str) -> str:
    """The template with its inline canary script replaced by `script`."""
    match = SCRIPT_KEY.search(template)
    if match is None:
        raise SystemExit(f"{TEMPLATE.name} has no 'Script: |' block")
    block_indent = match.group("indent") + "  "
    lines = template[match.end() :].splitlines(keepends=True)
    end = 0
    while end < len(lines) and (lines[end].startswith(block_indent) or not lines[end].strip()):
        end += 1
    while end > 0 and not lines[end - 1].strip():  # blank lines after the block belong to the template
        end -= 1
    body = "".join(block_indent + line if line.strip() else "\n" for line in script.splitlines(keepends=True))
    return template[: match.end()] + body + "".join(lines[end:])


def main() -> int:
    template = TEMPLATE.read_text(encoding="utf-8")
    updated = embed(template, SCRIPT.read_text(encoding="utf-8"))
    if updated != template:
        TEMPLATE.write_text(updated, encoding="utf-8")
        print(f"embedded {SCRIPT.relative_to(REPO_ROOT)} in {TEMPLATE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
