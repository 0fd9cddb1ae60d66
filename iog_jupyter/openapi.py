"""Print the OpenAPI document of the REST API (``python -m iog_jupyter.openapi > openapi.json``).

The committed ``openapi.json`` and the frontend's ``labextension/src/api/schema.d.ts`` are
generated from it by ``scripts/gen-api.sh``; a test fails when either differs from the code.
"""

from __future__ import annotations

import json
from typing import Any

from .handlers.contract import openapi_document
from .handlers.routes import ROUTES


def document(base_url: str = "/") -> dict[str, Any]:
    """The OpenAPI document for a server mounted at ``base_url``."""
    return openapi_document(ROUTES, base_url)


def document_text() -> str:
    """The document as committed: sorted keys, two-space indent, a final newline."""
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(document_text(), end="")
