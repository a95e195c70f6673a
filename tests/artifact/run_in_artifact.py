"""Run in a fresh interpreter: import the handler from a build artifact and answer committed events.

Usage: python -B run_in_artifact.py ARTIFACT_DIR EVENTS_DIR EVENT_NAME...

Prints one JSON report: each event's response, every module compiled from source while
importing and answering (none, when the shipped .pyc are used), every module name the
import system was asked for (attempts that failed included) and the modules left loaded.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

artifact, events = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
sys.path.insert(0, str(artifact))

compiled: list[str] = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code


def recording_source_to_code(self: Any, data: Any, path: Any, *, _optimize: int = -1) -> Any:
    """The import system compiles here only when no valid .pyc is there to load."""
    compiled.append(str(path))
    return source_to_code(self, data, path, _optimize=_optimize)


importlib.machinery.SourceFileLoader.source_to_code = recording_source_to_code  # type: ignore[method-assign]


class ImportRecorder(importlib.abc.MetaPathFinder):
    """Sees every import attempt first, including those of modules that are not installed."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        self.names.append(fullname)
        return None


recorder = ImportRecorder()
sys.meta_path.insert(0, recorder)


class Context:
    """The attributes of the runtime's context object that the handler and Powertools read."""

    function_name = "HealthFunction"
    memory_limit_in_mb = 1024
    aws_request_id = "artifact-test"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:HealthFunction"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5000  # the template's timeout; readiness bounds its deadline by it


from handler import lambda_handler  # noqa: E402 - the recorders must be in place before the import

responses = {
    name: lambda_handler(
        json.loads((events / f"{name}.json").read_text(encoding="utf-8")), cast("LambdaContext", Context())
    )
    for name in sys.argv[3:]
}
loaded = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
report = {"responses": responses, "compiled": compiled, "attempted": recorder.names, "modules": loaded}
print(json.dumps(report))  # noqa: T201 - the report is this script's output
