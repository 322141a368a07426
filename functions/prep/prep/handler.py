"""Lambda entry point of the prep function (not deployed until the AI prep issue lands)."""

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Raising keeps any message on the queue (and eventually in its DLQ) instead of dropping it.
    raise NotImplementedError("prep generation is not implemented yet")
