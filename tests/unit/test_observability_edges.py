"""Which loggers the function takes over: the SDK's, even those imported later, and no one else's."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from petsage_health import observability
from tests.conftest import REPO_ROOT


def test_sdk_loggers_imported_after_the_clients_are_made_write_warnings_as_json() -> None:
    # A fresh interpreter: urllib3 is not imported yet when readiness quiets the SDK's loggers.
    script = (
        "import logging, sys\n"
        "from petsage_health import observability\n"
        "assert 'urllib3' not in sys.modules\n"
        "observability.quiet_third_party_loggers()\n"
        "import urllib3\n"
        "logging.getLogger('urllib3.connectionpool').info('Starting new HTTPS connection')\n"
        "logging.getLogger('urllib3.connectionpool').warning('Retrying')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT / "functions" / "health",
        capture_output=True,
        text=True,
        check=True,
    )
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (line["message"], line["level"], line["service"]) == ("Retrying", "WARNING", "petsage-health")
    assert result.stderr == ""  # nothing reached Python's last-resort handler in plain text


def test_only_the_sdks_loggers_are_taken_over() -> None:
    unrelated = logging.getLogger("petsage_unrelated_library")
    observability.quiet_third_party_loggers()
    assert (unrelated.level, unrelated.handlers, unrelated.propagate) == (logging.NOTSET, [], True)
