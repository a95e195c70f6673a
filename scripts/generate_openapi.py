"""Write the OpenAPI document the function serves at /openapi.json (used by `make openapi`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "api"))

from petsage_api.app import app
from petsage_api.docs import documents


def main(destination: str) -> None:
    document = json.loads(documents.openapi_json(app))
    Path(destination).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {destination} ({len(document['paths'])} paths)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "openapi.json")
