"""SQL of the export function. Every statement names the caller's user id, except the lookup of a local
download link's export by id, which runs only for a link whose HMAC signature the service checks against
that row (the link is the credential; no bearer token comes with it).

Collections are read a page at a time in keyset order along an index that starts with user_id, so an
export of any size holds one page in memory. A page ends at MAX_PAGE_ROWS rows or once its long texts
pass MAX_PAGE_BYTES (after at least one row): a page of rows with 100,000-character texts stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.calendar import status_statement
from common.db import Statement
from common.prep_data import PREP_COLUMNS
from common.record_fields import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    CONTACT_LINKS,
    INTERVIEW_COLUMNS,
    NOTE_COLUMNS,
    OPPORTUNITY_COLUMNS,
)

MAX_PAGE_ROWS = 1000
MAX_PAGE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Collection:
    """One collection of the export: its table, the columns of its API view, its keyset order (an index
    of the table leads with user_id and follows this order) and the columns whose bytes fill a page."""

    name: str
    table: str
    columns: tuple[str, ...]
    order: tuple[str, ...]
    sized: tuple[str, ...]
    extra: str = ""  # further SELECT expressions (a contact's opportunity ids)
    extra_fields: tuple[str, ...] = ()  # their names
    booleans: tuple[str, ...] = ()  # 0/1 columns (true/false in CSV)

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of a page's columns, in order."""
        return self.columns + self.extra_fields


# In the order of the JSON document. Tables whose (user_id, id) is UNIQUE are read by id (new_id() is
# time-ordered, so that is creation order); notes and activity along their time indexes.
COLLECTIONS = (
    Collection(
        "opportunities",
        "opportunities",
        OPPORTUNITY_COLUMNS,
        ("id",),
        ("company", "role", "job_description", "url", "location", "source", "tags"),
        booleans=("archived",),
    ),
    Collection(
        "interviews",
        "interviews",
        INTERVIEW_COLUMNS,
        ("id",),
        ("title", "location", "meeting_url", "interviewers", "debrief", "calendar_event_id"),
    ),
    Collection(
        "contacts",
        "contacts",
        CONTACT_COLUMNS,
        ("id",),
        ("name", "email", "phone", "company", "title", "linkedin_url", "notes"),
        extra=", " + CONTACT_LINKS,
        extra_fields=("opportunity_ids",),
    ),
    Collection("notes", "notes", NOTE_COLUMNS, ("created_at", "id"), ("body",)),
    Collection("activity", "activity", ACTIVITY_COLUMNS, ("occurred_at", "id"), ("summary",)),
    Collection("preps", "preps", PREP_COLUMNS, ("id",), ("error", "content", "ai_processing")),
)


# OWASP's CSV-injection rule (export.writers.csv_cell), applied by SQLite as it reads each value: a text
# that starts with = + - @ tab or carriage return gets a leading quote. Done here, not per cell in Python,
# because it runs for every cell of every row (bench/export.py: the CSV export costs what a plain
# csv.writer over the same rows costs, plus compression).
_FORMULA_START = "('=', '+', '-', '@', char(9), char(13))"


def csv_value(column: str) -> str:
    """SQL for one column as a CSV cell: formula-escaped text, anything else as stored."""
    return (
        f"CASE WHEN typeof({column}) = 'text' AND substr({column}, 1, 1) IN {_FORMULA_START} "
        f"THEN '''' || {column} ELSE {column} END"
    )


def _select_list(collection: Collection, *, for_csv: bool) -> str:
    if not for_csv:
        return ", ".join(collection.columns) + collection.extra
    parts = []
    for column in collection.columns:
        if column in collection.booleans:
            parts.append(f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS {column}")
        elif column in collection.order:
            parts.append(column)  # keyset columns stay raw: ids are hex, times start with the year
        else:
            parts.append(f"{csv_value(column)} AS {column}")
    return ", ".join(parts) + collection.extra  # the extra is JSON text: it starts with [


def page(
    collection: Collection, *, user_id: str, after: Sequence[Any] | None, for_csv: bool = False
) -> Statement:
    """The next page of the caller's rows of a collection, after the keyset position `after` (for CSV:
    values as CSV cells, see csv_value).

    The subquery walks up to MAX_PAGE_ROWS keys with the size of their long texts (octet_length takes a
    value's length from the record header) and counts the rows that fit MAX_PAGE_BYTES (at least one);
    the page is that many rows along the same index.
    """
    order = ", ".join(collection.order)
    after_sql = ""
    after_params: tuple[Any, ...] = ()
    if after is not None:
        after_sql = f" AND ({order}) > ({', '.join('?' * len(collection.order))})"
        after_params = tuple(after)
    size = " + ".join(f"coalesce(octet_length({column}), 0)" for column in collection.sized)
    table = collection.table
    fitting = (
        "SELECT coalesce(max(n), 0) FROM (SELECT row_number() OVER w AS n, sum(size) OVER w AS running "
        f"FROM (SELECT {order}, {size} AS size FROM {table} WHERE user_id = ?{after_sql} "
        f"ORDER BY {order} LIMIT ?) WINDOW w AS (ORDER BY {order} ROWS UNBOUNDED PRECEDING)) "
        "WHERE n = 1 OR running <= ?"
    )
    return Statement(
        f"SELECT {_select_list(collection, for_csv=for_csv)} FROM {table} WHERE user_id = ?{after_sql} "
        f"ORDER BY {order} LIMIT ({fitting})",
        (user_id, *after_params, user_id, *after_params, MAX_PAGE_ROWS, MAX_PAGE_BYTES),
    )


def row_count_probe(collection: Collection, *, user_id: str) -> Statement:
    """How many rows of the collection the caller has, counted up to one more than a page holds: read
    with the first page, it tells whether that page was the whole collection (no further read)."""
    return Statement(
        f"SELECT count(*) FROM (SELECT 1 FROM {collection.table} WHERE user_id = ? LIMIT ?)",
        (user_id, MAX_PAGE_ROWS + 1),
    )


def account_statements(user_id: str) -> list[Statement]:
    """The user (as GET /v1/me shows it), their profile and their calendar connection's status."""
    return [
        Statement(
            "SELECT id, email, name, picture_url, google_sub, created_at, updated_at FROM users WHERE id = ?",
            (user_id,),
        ),
        Statement(
            "SELECT headline, resume_text, linkedin_summary, updated_at FROM profiles WHERE user_id = ?",
            (user_id,),
        ),
        status_statement(user_id),
    ]


# ---- the exports ledger -----------------------------------------------------------------------------


def reserve_export(
    *,
    export_id: str,
    user_id: str,
    export_format: str,
    object_key: str,
    now: str,
    window_start: str,
    kept_since: str,
    hourly_limit: int,
) -> list[Statement]:
    """Forget the caller's exports older than a day, then record this one unless `hourly_limit` exports
    were started within the window (checked inside one atomic batch, so parallel requests cannot pass it
    together). The last statement reads the oldest export of the window, for Retry-After."""
    return [
        Statement("DELETE FROM exports WHERE user_id = ? AND created_at < ?", (user_id, kept_since)),
        Statement(
            "INSERT INTO exports (id, user_id, format, status, object_key, created_at) "
            "SELECT ?, id, ?, 'writing', ?, ? FROM users WHERE id = ? "
            "AND (SELECT count(*) FROM exports WHERE user_id = ? AND created_at > ?) < ?",
            (export_id, export_format, object_key, now, user_id, user_id, window_start, hourly_limit),
        ),
        Statement(
            "SELECT min(created_at) FROM exports WHERE user_id = ? AND created_at > ?",
            (user_id, window_start),
        ),
    ]


def finish_export(
    *, export_id: str, user_id: str, size_bytes: int, sha256: str, expires_at: str
) -> Statement:
    """Mark the export written; changes nothing when the account (and so the row) was deleted meanwhile."""
    return Statement(
        "UPDATE exports SET status = 'ready', size_bytes = ?, sha256 = ?, expires_at = ? "
        "WHERE id = ? AND user_id = ? AND status = 'writing'",
        (size_bytes, sha256, expires_at, export_id, user_id),
    )


def discard_export(*, export_id: str, user_id: str) -> Statement:
    return Statement("DELETE FROM exports WHERE id = ? AND user_id = ?", (export_id, user_id))


def find_download(export_id: str) -> Statement:
    """A written export by id, for a local download link (see the module docstring)."""
    return Statement(
        "SELECT id, user_id, format, object_key, created_at, expires_at FROM exports "
        "WHERE id = ? AND status = 'ready'",
        (export_id,),
    )
