"""SQL of the records function. Every statement names the caller's user id in its WHERE clause (or
inserts it), and every link between records is a composite (user_id, id) foreign key, so a row of one
user can never reach a row of another.

Column names in dynamic UPDATEs come from the fixed allow-lists below, never from the request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.db import Database, Statement, Value
from common.record_fields import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    CONTACT_LINKS,
    INTERVIEW_COLUMNS,
    NOTE_COLUMNS,
    OPPORTUNITY_COLUMNS,
)

# What a PATCH may set, per table (request field -> column).
_WRITABLE = {
    "opportunities": frozenset(OPPORTUNITY_COLUMNS) - {"id", "created_at", "updated_at"} | {"company_key"},
    "interviews": frozenset(INTERVIEW_COLUMNS)
    - {"id", "source", "calendar_event_id", "prep_status", "created_at", "updated_at"},
    "contacts": frozenset(CONTACT_COLUMNS) - {"id", "created_at", "updated_at"} | {"name_key"},
    "notes": frozenset(NOTE_COLUMNS) - {"id", "created_at", "updated_at"},
}


# The select lists, written once: statements are built on every request.
_OPPORTUNITY_SELECT = ", ".join(OPPORTUNITY_COLUMNS)
_ACTIVITY_SELECT = ", ".join(ACTIVITY_COLUMNS)
_INTERVIEW_SELECT = ", ".join(INTERVIEW_COLUMNS)
_CONTACT_SELECT = ", ".join(CONTACT_COLUMNS)
_NOTE_SELECT = ", ".join(NOTE_COLUMNS)


def _insert(table: str, values: Mapping[str, Value]) -> Statement:
    names = list(values)
    return Statement(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        tuple(values.values()),
    )


def update_row(table: str, *, user_id: str, row_id: str, changes: Mapping[str, Value], now: str) -> Statement:
    """UPDATE one of the caller's rows; `changes` keys must be writable columns of `table`."""
    unknown = set(changes) - _WRITABLE[table]
    if unknown:
        raise ValueError(f"not writable in {table}: {sorted(unknown)}")
    assignments = [f"{name} = ?" for name in changes] + ["updated_at = ?"]
    return Statement(
        f"UPDATE {table} SET {', '.join(assignments)} WHERE id = ? AND user_id = ?",
        (*changes.values(), now, row_id, user_id),
    )


def delete_row(table: str, *, user_id: str, row_id: str) -> Statement:
    if table not in _WRITABLE:
        raise ValueError(f"unknown table {table}")
    return Statement(f"DELETE FROM {table} WHERE id = ? AND user_id = ?", (row_id, user_id))


def existing_ids(db: Database, table: str, *, user_id: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are the caller's rows of `table` (to say which link of a failed write was bad)."""
    if table not in ("opportunities", "interviews", "contacts") or not ids:
        return set()
    marks = ", ".join("?" * len(ids))
    result = db.execute(f"SELECT id FROM {table} WHERE user_id = ? AND id IN ({marks})", (user_id, *ids))
    return {row[0] for row in result.rows}


# ---- keyset pagination ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Keyset:
    """A list's order: one sort expression, then id as the tie-breaker, both in one direction."""

    expression: str
    descending: bool

    def after(self, position: Sequence[Any] | None) -> tuple[str, tuple[Value, ...]]:
        """Rows past `position`: `(expression, id) > (key, id)` (`<` descending), in a form SQLite seeks
        an index to. It seeks to a row value only when its terms are plain columns; for an expression
        key (`coalesce(applied_at, '')`) it walked the index from the list's first row and filtered, so
        page n cost the n - 1 pages before it. An expression is bounded on its own, which it seeks, with
        the tie-break filtered after (sort keys are never NULL: NOT NULL columns or coalesced)."""
        if position is None:
            return "", ()
        op = "<" if self.descending else ">"
        key, row_id = position[0], position[1]
        if self.expression.isidentifier():
            return f" AND ({self.expression}, id) {op} (?, ?)", (key, row_id)
        return (
            f" AND {self.expression} {op}= ? AND ({self.expression} {op} ? OR id {op} ?)",
            (key, key, row_id),
        )

    def order(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        return f" ORDER BY {self.expression} {direction}, id {direction}"


OPPORTUNITY_SORTS = {
    "updated_at": Keyset("updated_at", descending=True),
    "created_at": Keyset("created_at", descending=True),
    "company": Keyset("company_key", descending=False),
    "applied_at": Keyset("coalesce(applied_at, '')", descending=True),  # never-applied last
}
INTERVIEW_ORDER = Keyset("coalesce(scheduled_at, '~')", descending=False)  # unscheduled last
CONTACT_ORDER = Keyset("name_key", descending=False)
NOTE_ORDER = Keyset("created_at", descending=True)
ACTIVITY_ORDER = Keyset("occurred_at", descending=True)


class Where:
    """A list query's WHERE clause: always the caller's rows, then any filters."""

    def __init__(self, user_id: str) -> None:
        self.clauses = ["user_id = ?"]
        self.params: list[Value] = [user_id]

    def add(self, clause: str, *params: Value) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def equals(self, column: str, value: Value) -> Where:
        """`column = value`, unless value is None (no filter)."""
        return self if value is None else self.add(f"{column} = ?", value)

    def sql(self) -> str:
        return " AND ".join(self.clauses)


def _page(
    table: str, columns: str, keyset: Keyset, where: Where, *, position: Sequence[Any] | None, limit: int
) -> Statement:
    after_sql, after_params = keyset.after(position)
    return Statement(
        f"SELECT {columns}, {keyset.expression} AS sort_key FROM {table} WHERE {where.sql()}{after_sql}"
        f"{keyset.order()} LIMIT ?",
        (*where.params, *after_params, limit),
    )


# ---- profile --------------------------------------------------------------------------------------


def upsert_profile(*, user_id: str, changes: Mapping[str, str], now: str) -> Statement:
    names = [n for n in ("headline", "resume_text", "linkedin_summary") if n in changes]
    columns = ["user_id", *names, "updated_at"]
    updates = [f"{n} = excluded.{n}" for n in names] + ["updated_at = excluded.updated_at"]
    return Statement(
        f"INSERT INTO profiles ({', '.join(columns)}) SELECT {', '.join('?' * len(columns))} "
        f"WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) "
        f"ON CONFLICT (user_id) DO UPDATE SET {', '.join(updates)}",
        (user_id, *(changes[n] for n in names), now, user_id),
    )


def select_profile(user_id: str) -> Statement:
    return Statement(
        "SELECT headline, resume_text, linkedin_summary, updated_at FROM profiles WHERE user_id = ?",
        (user_id,),
    )


# ---- opportunities --------------------------------------------------------------------------------


def insert_opportunity(values: Mapping[str, Value]) -> Statement:
    return _insert("opportunities", values)


def select_opportunity(*, user_id: str, opportunity_id: str) -> Statement:
    return Statement(
        f"SELECT {_OPPORTUNITY_SELECT} FROM opportunities WHERE id = ? AND user_id = ?",
        (opportunity_id, user_id),
    )


_SEARCH_COLUMNS = "{company role job_description tags}"
_WORDS = re.compile(r"\w+")
MAX_SEARCH_WORDS = 16


def search_expression(user_id: str, text: str) -> str | None:
    """An FTS5 query: every word of `text` as a prefix in the searchable columns, within the caller's
    rows. Words are quoted, so no input can inject FTS syntax. None when `text` has no word."""
    words = _WORDS.findall(text)[:MAX_SEARCH_WORDS]
    if not words:
        return None
    terms = " AND ".join('"' + word.replace('"', '""') + '"*' for word in words)
    return f'user_id:"{user_id}" AND {_SEARCH_COLUMNS}: ({terms})'


def list_opportunities(
    *,
    user_id: str,
    archived: bool,
    status: str | None,
    tag: str | None,
    match: str | None,
    keyset: Keyset,
    position: Sequence[Any] | None,
    limit: int,
) -> Statement:
    where = Where(user_id).equals("archived", int(archived)).equals("status", status)
    if tag is not None:
        where.add(
            "id IN (SELECT opportunity_id FROM opportunity_tags WHERE user_id = ? AND tag_key = lower(?))",
            user_id,
            tag,
        )
    if match is not None:
        where.add("pk IN (SELECT rowid FROM opportunities_fts WHERE opportunities_fts MATCH ?)", match)
    return _page("opportunities", _OPPORTUNITY_SELECT, keyset, where, position=position, limit=limit)


def log_status_change(
    *, activity_id: str, user_id: str, opportunity_id: str, to_status: str, now: str
) -> Statement:
    """Ledger entry for a status change, written only if the opportunity is the caller's and its status
    really changes. Runs before the UPDATE, so it reads the old status."""
    return Statement(
        "INSERT INTO activity (id, user_id, kind, summary, opportunity_id, from_status, to_status, "
        "occurred_at, created_at, updated_at) "
        "SELECT ?, user_id, 'status_changed', 'Status changed from ' || status || ' to ' || ?, id, status, "
        "?, ?, ?, ? FROM opportunities WHERE id = ? AND user_id = ? AND status != ?",
        (activity_id, to_status, to_status, now, now, now, opportunity_id, user_id, to_status),
    )


def set_applied_at_if_unset(*, user_id: str, opportunity_id: str, now: str) -> Statement:
    return Statement(
        "UPDATE opportunities SET applied_at = ? WHERE id = ? AND user_id = ? AND applied_at IS NULL",
        (now, opportunity_id, user_id),
    )


# ---- activity -------------------------------------------------------------------------------------


def insert_activity(values: Mapping[str, Value]) -> Statement:
    return _insert("activity", values)


def select_activity(*, user_id: str, activity_id: str) -> Statement:
    return Statement(
        f"SELECT {_ACTIVITY_SELECT} FROM activity WHERE id = ? AND user_id = ?", (activity_id, user_id)
    )


def list_activity(
    *, user_id: str, opportunity_id: str | None, kind: str | None, position: Sequence[Any] | None, limit: int
) -> Statement:
    where = Where(user_id).equals("opportunity_id", opportunity_id).equals("kind", kind)
    return _page("activity", _ACTIVITY_SELECT, ACTIVITY_ORDER, where, position=position, limit=limit)


def log_interview_change(
    *,
    activity_id: str,
    user_id: str,
    interview_id: str,
    summary: str,
    changed_when: str,
    value: Value,
    new_opportunity: tuple[bool, Value],
    now: str,
) -> Statement:
    """An interview_updated entry, written only if the interview is the caller's and `changed_when`
    (a condition on its current row, with one `?` for the new value) holds. Runs before the UPDATE, so
    the entry names the opportunity the PATCH moves it to, if it does (`new_opportunity`)."""
    moves, opportunity_id = new_opportunity
    opportunity = "?" if moves else "opportunity_id"
    opportunity_params: tuple[Value, ...] = (opportunity_id,) if moves else ()
    return Statement(
        "INSERT INTO activity (id, user_id, kind, summary, opportunity_id, interview_id, occurred_at, "
        f"created_at, updated_at) SELECT ?, user_id, 'interview_updated', ?, {opportunity}, id, ?, ?, ? "
        f"FROM interviews WHERE id = ? AND user_id = ? AND {changed_when}",
        (activity_id, summary, *opportunity_params, now, now, now, interview_id, user_id, value),
    )


# ---- interviews -----------------------------------------------------------------------------------


def insert_interview(values: Mapping[str, Value]) -> Statement:
    return _insert("interviews", values)


def select_interview(*, user_id: str, interview_id: str) -> Statement:
    return Statement(
        f"SELECT {_INTERVIEW_SELECT} FROM interviews WHERE id = ? AND user_id = ?",
        (interview_id, user_id),
    )


def list_interviews(
    *,
    user_id: str,
    opportunity_id: str | None,
    start: str | None,
    end: str | None,
    outcome: str | None,
    position: Sequence[Any] | None,
    limit: int,
) -> Statement:
    where = Where(user_id).equals("opportunity_id", opportunity_id).equals("outcome", outcome)
    if start is not None:
        where.add("scheduled_at >= ?", start)
    if end is not None:
        where.add("scheduled_at < ?", end)
    return _page("interviews", _INTERVIEW_SELECT, INTERVIEW_ORDER, where, position=position, limit=limit)


# ---- contacts -------------------------------------------------------------------------------------


def insert_contact(values: Mapping[str, Value]) -> Statement:
    return _insert("contacts", values)


def link_contact(*, user_id: str, contact_id: str, opportunity_ids: Sequence[str]) -> Statement:
    """Link the caller's contact to opportunities, in the given order. Inserts nothing when the contact is
    not theirs; an opportunity that is not theirs fails the (user_id, opportunity_id) foreign key."""
    rows = ", ".join("(?, ?)" for _ in opportunity_ids)
    params: list[Value] = []
    for position, opportunity_id in enumerate(opportunity_ids):
        params += [opportunity_id, position]
    return Statement(
        "INSERT INTO contact_opportunities (user_id, contact_id, opportunity_id, position) "
        f"SELECT c.user_id, c.id, v.column1, v.column2 FROM (VALUES {rows}) AS v "
        "JOIN contacts AS c ON c.id = ? AND c.user_id = ?",
        (*params, contact_id, user_id),
    )


def unlink_contact(*, user_id: str, contact_id: str) -> Statement:
    return Statement(
        "DELETE FROM contact_opportunities WHERE contact_id = ? AND user_id = ?", (contact_id, user_id)
    )


def select_contact(*, user_id: str, contact_id: str) -> Statement:
    return Statement(
        f"SELECT {_CONTACT_SELECT}, {CONTACT_LINKS} FROM contacts WHERE id = ? AND user_id = ?",
        (contact_id, user_id),
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_contacts(
    *, user_id: str, q: str | None, opportunity_id: str | None, position: Sequence[Any] | None, limit: int
) -> Statement:
    where = Where(user_id)
    if q is not None:
        pattern = _like(q)
        where.add(
            "(name_key LIKE ? ESCAPE '\\' OR lower(coalesce(email, '')) LIKE ? ESCAPE '\\' "
            "OR lower(coalesce(company, '')) LIKE ? ESCAPE '\\' "
            "OR lower(coalesce(title, '')) LIKE ? ESCAPE '\\')",
            *[pattern] * 4,
        )
    if opportunity_id is not None:
        where.add(
            "id IN (SELECT contact_id FROM contact_opportunities WHERE user_id = ? AND opportunity_id = ?)",
            user_id,
            opportunity_id,
        )
    columns = f"{_CONTACT_SELECT}, {CONTACT_LINKS}"
    return _page("contacts", columns, CONTACT_ORDER, where, position=position, limit=limit)


def detach_contact_from_notes(*, user_id: str, contact_id: str, now: str) -> Statement:
    return Statement(
        "UPDATE notes SET contact_id = NULL, updated_at = ? WHERE user_id = ? AND contact_id = ?",
        (now, user_id, contact_id),
    )


# ---- notes ----------------------------------------------------------------------------------------


def insert_note(values: Mapping[str, Value]) -> Statement:
    return _insert("notes", values)


def select_note(*, user_id: str, note_id: str) -> Statement:
    return Statement(f"SELECT {_NOTE_SELECT} FROM notes WHERE id = ? AND user_id = ?", (note_id, user_id))


def list_notes(
    *, user_id: str, links: Mapping[str, str | None], position: Sequence[Any] | None, limit: int
) -> Statement:
    where = Where(user_id)
    for column in ("opportunity_id", "interview_id", "contact_id"):
        where.equals(column, links.get(column))
    return _page("notes", _NOTE_SELECT, NOTE_ORDER, where, position=position, limit=limit)


# ---- stats ----------------------------------------------------------------------------------------


def stats_statements(
    *, user_id: str, now: str, week_ahead: str, week_start: str, week_end: str
) -> list[Statement]:
    return [
        Statement(
            "SELECT status, count(*) FROM opportunities WHERE user_id = ? AND archived = 0 GROUP BY status",
            (user_id,),
        ),
        # The ledger as stays: each status an opportunity entered, for how many days (up to now when it
        # is still there), and whether it is still there. Days are computed by SQLite (julianday).
        Statement(
            "SELECT opportunity_id, to_status, julianday(coalesce(left_at, ?)) - julianday(occurred_at), "
            "left_at IS NULL FROM (SELECT opportunity_id, to_status, occurred_at, lead(occurred_at) OVER "
            "(PARTITION BY opportunity_id ORDER BY occurred_at, id) AS left_at "
            "FROM activity WHERE user_id = ? AND to_status IS NOT NULL)",
            (now, user_id),
        ),
        Statement(
            f"SELECT {_INTERVIEW_SELECT} FROM interviews WHERE user_id = ? AND scheduled_at >= ? "
            "AND scheduled_at < ? AND outcome != 'cancelled' ORDER BY scheduled_at, id LIMIT 200",
            (user_id, now, week_ahead),
        ),
        Statement(
            "SELECT count(*) FROM interviews WHERE user_id = ? AND scheduled_at >= ? AND scheduled_at < ? "
            "AND outcome != 'cancelled'",
            (user_id, week_start, week_end),
        ),
    ]
