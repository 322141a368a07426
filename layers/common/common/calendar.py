"""The calendar connection's status as the API shows it (User.calendar, GET /v1/me/calendar, exports).

One reading of the `calendar_connections` row, shared by every function that shows it.
"""

from __future__ import annotations

from typing import Any

from common.db import Statement

STATUS_SQL = (
    "SELECT status AS calendar_status, error AS calendar_error, last_synced_at, interviews_found "
    "FROM calendar_connections WHERE user_id = ?"
)


def status_statement(user_id: str) -> Statement:
    return Statement(STATUS_SQL, (user_id,))


def calendar_status(row: dict[str, Any] | None) -> dict[str, Any]:
    """CalendarStatus from a row with calendar_status, calendar_error, last_synced_at and
    interviews_found (all None when the user never connected a calendar)."""
    status = (row or {}).get("calendar_status") or "disconnected"
    return {
        "connected": status == "connected",
        "status": status,
        "last_synced_at": (row or {}).get("last_synced_at"),
        "interviews_found": int((row or {}).get("interviews_found") or 0),
        "error": (row or {}).get("calendar_error"),
    }


def refresh_token_context(user_id: str) -> str:
    """Associated data of a sealed Google refresh token: it opens only for its own user."""
    return f"google-refresh-token:{user_id}"


def access_token_context(user_id: str) -> str:
    return f"google-access-token:{user_id}"
