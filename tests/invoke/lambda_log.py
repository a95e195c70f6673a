"""Reading a log stream as Lambda frames it: an invocation's lines sit between its START and END lines."""

from __future__ import annotations


def by_invocation(log: str) -> dict[str, list[str]]:
    """The lines each invocation wrote, by request id."""
    lines: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in log.splitlines():
        if line.startswith("START RequestId: "):
            current = lines.setdefault(line.split()[2], [])
        elif line.startswith("END RequestId: "):
            current = None
        elif current is not None:
            current.append(line)
    return lines
