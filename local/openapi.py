"""`make openapi`: write the OpenAPI document of every route (the composed app) for the auth function."""

from __future__ import annotations

import json
from typing import Any

from auth.handler import OPENAPI_DOCUMENT
from local.app import build_app


def render() -> str:
    document: dict[str, Any] = build_app().openapi()
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def main() -> None:
    OPENAPI_DOCUMENT.write_text(render())
    print(f"wrote {OPENAPI_DOCUMENT.name}")


if __name__ == "__main__":
    main()
