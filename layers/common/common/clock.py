"""Time and identifiers: UTC everywhere, stored as fixed-width RFC 3339 text that sorts correctly."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Fixed-width UTC text (four-digit year, microseconds, `Z`), so string order is time order in SQL.

    `isoformat`, not `strftime("%Y...")`: glibc's %Y does not pad a year below 1000 ("999-01-01..."),
    which sorted wrong and could not be read back; isoformat pads, and takes half the time. A moment whose
    UTC time is outside years 1..9999 raises OverflowError (request input is refused before: schemas)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time must carry an offset")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def utc_now_iso() -> str:
    return to_iso(utc_now())


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def new_id() -> str:
    """An opaque id: 48-bit milliseconds then 80 random bits, hex (time-ordered, unguessable)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"
