"""Lambda entry point of the calendar_poll function (not deployed until calendar polling lands)."""

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("calendar polling is not implemented yet")
