"""The user's records: profile, opportunities, interviews, contacts, notes, activity and the dashboard.

Each operation is one database round trip (one atomic batch), with ownership in every WHERE clause.
Links between records are composite (user_id, id) foreign keys, so a write that names another user's
record fails as a whole; only then is a second query made, to say which link was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pydantic_core import from_json

from common.clock import new_id, to_iso, utc_now
from common.cursors import MAX_PAGE_BYTES, PageRequest, encoded_sizes, list_scope, rows_size_bound
from common.db import ConstraintError, Database, Result, Statement, Value
from common.errors import NotFoundError, ValidationFailedError
from records import repository as repo
from records import stats
from records.schemas import (
    ActivityCreate,
    ContactCreate,
    ContactUpdate,
    InterviewCreate,
    InterviewUpdate,
    NoteCreate,
    NoteUpdate,
    OpportunityCreate,
    OpportunityUpdate,
    ProfileUpdate,
)

Row = dict[str, Any]
Loc = tuple[str | int, ...]
Link = tuple[Loc, str, str]  # where in the body, the table, the id

_WHAT = {"opportunities": "opportunity", "interviews": "interview", "contacts": "contact"}
_SALARY = {"salary_range": (("body", "salary_max"), "must not be less than salary_min")}
_MANUAL = {
    "manual_needs_opportunity": (
        ("body", "opportunity_id"),
        "an interview added by hand must belong to one of your opportunities",
    )
}
UPCOMING_DAYS = 7


def _now() -> tuple[datetime, str]:
    moment = utc_now()
    return moment, to_iso(moment)


def _column_value(value: Any) -> Value:
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value  # type: ignore[no-any-return]


def _columns(model: BaseModel, *, only_set: bool, exclude: frozenset[str] = frozenset()) -> dict[str, Value]:
    fields = model.model_dump(exclude_unset=only_set, exclude=set(exclude))
    return {name: _column_value(value) for name, value in fields.items()}


def _write(
    db: Database,
    statements: Sequence[Statement],
    *,
    user_id: str,
    links: Sequence[Link] = (),
    checks: Mapping[str, tuple[Loc, str]] | None = None,
) -> list[Result]:
    """Run a batch; a rejected link or cross-field rule becomes a 422 naming the offending field."""
    try:
        return db.batch(statements)
    except ConstraintError as exc:
        if checks and exc.constraint is not None and exc.constraint in checks:
            loc, message = checks[exc.constraint]
            raise ValidationFailedError([(loc, message)]) from None
        if exc.constraint != "foreign_key" or not links:
            raise
        errors = _missing_links(db, user_id=user_id, links=links)
        if not errors:
            raise
        raise ValidationFailedError(errors) from None


def _missing_links(db: Database, *, user_id: str, links: Sequence[Link]) -> list[tuple[Loc, str]]:
    tables: dict[str, list[str]] = {}
    for _, table, row_id in links:
        tables.setdefault(table, []).append(row_id)
    found = {table: repo.existing_ids(db, table, user_id=user_id, ids=ids) for table, ids in tables.items()}
    return [
        (loc, f"no such {_WHAT[table]} among yours")
        for loc, table, row_id in links
        if row_id not in found[table]
    ]


def _one(result: Result, what: str, view: Callable[[Row], Row]) -> Row:
    row = result.first()
    if row is None:
        raise NotFoundError(what)
    return view(row)


def _page(
    db: Database,
    page: PageRequest,
    scope: str,
    statement: Callable[[Any], Statement],
    view: Callable[[Row], Row],
) -> Row:
    result = db.execute(*_unpack(statement(page.position(scope))))
    # A list statement's last column is the sort key (repository._page); the others are the item's.
    *columns, sort_key = result.columns
    if sort_key != "sort_key":
        raise ValueError(f"a list statement must end with sort_key, not {sort_key}")
    rows = result.rows  # limit + 1 of them when there is a next page
    shown = rows[: page.limit]
    # Each item a copy of one dict of the columns, filled: one allocation of the final size, where
    # dict(zip(...)) grew each of the 50 dicts twice (~20 us a page of 50 opportunities).
    template = dict.fromkeys(columns)
    items = []
    for row in shown:
        item = template.copy()
        item.update(zip(columns, row, strict=False))  # the row ends with sort_key
        items.append(view(item))
    # Encoding every item to measure it was ~1/5 of a list request; a bound from the rows' string
    # lengths clears the usual page, and only a page that might pass the byte cap is measured.
    sizes = None if rows_size_bound(columns, shown) <= MAX_PAGE_BYTES else encoded_sizes(items)
    id_at = columns.index("id")
    count, next_cursor = page.page(scope, rows, sizes, lambda row: (row[-1], row[id_at]))
    return {"items": items[:count] if count < len(items) else items, "next_cursor": next_cursor}


def _unpack(statement: Statement) -> tuple[str, Sequence[Value]]:
    return statement.sql, statement.params


# ---- views: rows as the API shows them -----------------------------------------------------------
# A view takes a fresh row dict (Result.first/all, or a list page's item) holding exactly the record's
# columns (record_fields), and turns its JSON and boolean columns into API values in place (JSON parsed
# by pydantic_core: ~4x faster than json.loads on these short arrays, which every list item has).


def opportunity_view(row: Row) -> Row:
    row["tags"] = from_json(row["tags"])
    row["archived"] = bool(row["archived"])
    return row


def interview_view(row: Row) -> Row:
    row["interviewers"] = from_json(row["interviewers"])
    return row


def contact_view(row: Row) -> Row:
    row["opportunity_ids"] = from_json(row["opportunity_ids"] or "[]")
    return row


def note_view(row: Row) -> Row:
    return row


def activity_view(row: Row) -> Row:
    return row


def _activity(
    *, user_id: str, kind: str, summary: str, now: str, occurred_at: str | None = None, **links: Value
) -> Statement:
    return repo.insert_activity(
        {
            "id": new_id(),
            "user_id": user_id,
            "kind": kind,
            "summary": summary,
            **links,
            "occurred_at": occurred_at or now,
            "created_at": now,
            "updated_at": now,
        }
    )


# ---- profile --------------------------------------------------------------------------------------


def _profile_view(row: Row | None) -> Row:
    if row is None:
        return {"headline": "", "resume_text": "", "linkedin_summary": "", "updated_at": None}
    return dict(row)


def get_profile(db: Database, *, user_id: str) -> Row:
    """The profile; empty strings and a null updated_at until it is first saved."""
    stmt = repo.select_profile(user_id)
    return _profile_view(db.execute(stmt.sql, stmt.params).first())


def put_profile(db: Database, *, user_id: str, data: ProfileUpdate) -> Row:
    """Save the given fields (omitted ones keep their value; null clears to "")."""
    _, now = _now()
    changes = {name: value or "" for name, value in data.model_dump(exclude_unset=True).items()}
    results = db.batch(
        [repo.upsert_profile(user_id=user_id, changes=changes, now=now), repo.select_profile(user_id)]
    )
    row = results[1].first()
    if row is None:
        raise NotFoundError("account")
    return _profile_view(row)


# ---- opportunities --------------------------------------------------------------------------------


def create_opportunity(db: Database, *, user_id: str, data: OpportunityCreate) -> Row:
    """Add an opportunity; its creation opens the status ledger."""
    _, now = _now()
    opportunity_id = new_id()
    values = _columns(data, only_set=False)
    if data.status == "applied" and data.applied_at is None:
        values["applied_at"] = now
    values.update(
        id=opportunity_id,
        user_id=user_id,
        company_key=data.company.casefold(),
        created_at=now,
        updated_at=now,
    )
    results = _write(
        db,
        [
            repo.insert_opportunity(values),
            _activity(
                user_id=user_id,
                kind="created",
                summary=f"Added {data.role} at {data.company} ({data.status})",
                now=now,
                opportunity_id=opportunity_id,
                to_status=data.status,
            ),
            repo.select_opportunity(user_id=user_id, opportunity_id=opportunity_id),
        ],
        user_id=user_id,
    )
    return _one(results[-1], "opportunity", opportunity_view)


def get_opportunity(db: Database, *, user_id: str, opportunity_id: str) -> Row:
    stmt = repo.select_opportunity(user_id=user_id, opportunity_id=opportunity_id)
    return _one(db.execute(stmt.sql, stmt.params), "opportunity", opportunity_view)


def list_opportunities(
    db: Database,
    page: PageRequest,
    *,
    user_id: str,
    archived: bool,
    status: str | None,
    tag: str | None,
    q: str | None,
    sort: str,
) -> Row:
    """One page of opportunities, filtered, searched and sorted."""
    tag = tag.strip() if tag and tag.strip() else None
    q = q.strip() if q and q.strip() else None
    scope = list_scope(user_id, "opportunities", archived=archived, status=status, tag=tag, q=q, sort=sort)
    match = repo.search_expression(user_id, q) if q else None
    if q and match is None:  # only punctuation: nothing can match
        page.position(scope)  # still refuse a bad cursor
        return {"items": [], "next_cursor": None}
    keyset = repo.OPPORTUNITY_SORTS[sort]
    return _page(
        db,
        page,
        scope,
        lambda position: repo.list_opportunities(
            user_id=user_id,
            archived=archived,
            status=status,
            tag=tag,
            match=match,
            keyset=keyset,
            position=position,
            limit=page.limit + 1,
        ),
        opportunity_view,
    )


def update_opportunity(db: Database, *, user_id: str, opportunity_id: str, data: OpportunityUpdate) -> Row:
    """Partial update; a status change is recorded in the ledger (and sets applied_at on `applied`)."""
    changes = _columns(data, only_set=True)
    select = repo.select_opportunity(user_id=user_id, opportunity_id=opportunity_id)
    if not changes:
        return _one(db.execute(select.sql, select.params), "opportunity", opportunity_view)
    _, now = _now()
    if "company" in changes:
        changes["company_key"] = str(changes["company"]).casefold()
    statements = []
    status = changes.get("status")
    if status is not None:
        statements.append(
            repo.log_status_change(
                activity_id=new_id(),
                user_id=user_id,
                opportunity_id=opportunity_id,
                to_status=str(status),
                now=now,
            )
        )
    update_at = len(statements)
    statements.append(
        repo.update_row("opportunities", user_id=user_id, row_id=opportunity_id, changes=changes, now=now)
    )
    if status == "applied" and "applied_at" not in changes:
        statements.append(
            repo.set_applied_at_if_unset(user_id=user_id, opportunity_id=opportunity_id, now=now)
        )
    statements.append(select)
    results = _write(db, statements, user_id=user_id, checks=_SALARY)
    if results[update_at].rows_affected == 0:
        raise NotFoundError("opportunity")
    return _one(results[-1], "opportunity", opportunity_view)


def delete_opportunity(db: Database, *, user_id: str, opportunity_id: str) -> None:
    """Delete it with its interviews, notes, activity and prep documents; contacts are detached."""
    (result,) = db.batch([repo.delete_row("opportunities", user_id=user_id, row_id=opportunity_id)])
    if result.rows_affected == 0:
        raise NotFoundError("opportunity")


# ---- interviews -----------------------------------------------------------------------------------

_KIND_LABELS = {"phone_screen": "Phone screen", "take_home": "Take-home", "hiring_manager": "Hiring manager"}


def _kind_label(kind: str) -> str:
    return _KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def _when(value: Value) -> str:
    return f"{value[:16].replace('T', ' ')} UTC" if isinstance(value, str) else "no date"


def create_interview(db: Database, *, user_id: str, data: InterviewCreate) -> Row:
    """Add an interview to one of the caller's opportunities; the timeline records it."""
    _, now = _now()
    interview_id = new_id()
    values = _columns(data, only_set=False)
    values.update(id=interview_id, user_id=user_id, source="manual", created_at=now, updated_at=now)
    when = values["scheduled_at"]
    summary = f"{_kind_label(data.kind)} interview " + (f"scheduled for {_when(when)}" if when else "added")
    results = _write(
        db,
        [
            repo.insert_interview(values),
            _activity(
                user_id=user_id,
                kind="interview_scheduled",
                summary=summary,
                now=now,
                opportunity_id=data.opportunity_id,
                interview_id=interview_id,
            ),
            repo.select_interview(user_id=user_id, interview_id=interview_id),
        ],
        user_id=user_id,
        links=[(("body", "opportunity_id"), "opportunities", data.opportunity_id)],
    )
    return _one(results[-1], "interview", interview_view)


def get_interview(db: Database, *, user_id: str, interview_id: str) -> Row:
    stmt = repo.select_interview(user_id=user_id, interview_id=interview_id)
    return _one(db.execute(stmt.sql, stmt.params), "interview", interview_view)


def list_interviews(
    db: Database,
    page: PageRequest,
    *,
    user_id: str,
    opportunity_id: str | None,
    start: datetime | None,
    end: datetime | None,
    outcome: str | None,
) -> Row:
    """One page of interviews in schedule order (unscheduled last)."""
    start_iso = to_iso(start) if start else None
    end_iso = to_iso(end) if end else None
    scope = list_scope(
        user_id, "interviews", opportunity_id=opportunity_id, start=start_iso, end=end_iso, outcome=outcome
    )
    return _page(
        db,
        page,
        scope,
        lambda position: repo.list_interviews(
            user_id=user_id,
            opportunity_id=opportunity_id,
            start=start_iso,
            end=end_iso,
            outcome=outcome,
            position=position,
            limit=page.limit + 1,
        ),
        interview_view,
    )


def update_interview(db: Database, *, user_id: str, interview_id: str, data: InterviewUpdate) -> Row:
    """Partial update; a new time or outcome is recorded on the timeline."""
    changes = _columns(data, only_set=True)
    select = repo.select_interview(user_id=user_id, interview_id=interview_id)
    if not changes:
        return _one(db.execute(select.sql, select.params), "interview", interview_view)
    _, now = _now()
    statements = []
    logged = [
        (
            "scheduled_at",
            "scheduled_at IS NOT ?",
            "Rescheduled to " + _when(changes.get("scheduled_at")),
        ),
        ("outcome", "outcome != ?", f"Outcome: {data.outcome}"),
    ]
    for field, condition, summary in logged:
        if field in changes:
            statements.append(
                repo.log_interview_change(
                    activity_id=new_id(),
                    user_id=user_id,
                    interview_id=interview_id,
                    summary=summary,
                    changed_when=condition,
                    value=changes[field],
                    new_opportunity=("opportunity_id" in changes, changes.get("opportunity_id")),
                    now=now,
                )
            )
    update_at = len(statements)
    statements.append(
        repo.update_row("interviews", user_id=user_id, row_id=interview_id, changes=changes, now=now)
    )
    statements.append(select)
    new_opportunity = changes.get("opportunity_id")
    links = [(("body", "opportunity_id"), "opportunities", str(new_opportunity))] if new_opportunity else []
    results = _write(db, statements, user_id=user_id, links=links, checks=_MANUAL)
    if results[update_at].rows_affected == 0:
        raise NotFoundError("interview")
    return _one(results[-1], "interview", interview_view)


def delete_interview(db: Database, *, user_id: str, interview_id: str) -> None:
    """Delete it with its notes, timeline entries and prep documents."""
    (result,) = db.batch([repo.delete_row("interviews", user_id=user_id, row_id=interview_id)])
    if result.rows_affected == 0:
        raise NotFoundError("interview")


# ---- contacts -------------------------------------------------------------------------------------


def _opportunity_links(ids: Sequence[str]) -> list[Link]:
    return [(("body", "opportunity_ids", i), "opportunities", oid) for i, oid in enumerate(ids)]


def create_contact(db: Database, *, user_id: str, data: ContactCreate) -> Row:
    """Add a contact, optionally linked to some of the caller's opportunities."""
    _, now = _now()
    contact_id = new_id()
    values = _columns(data, only_set=False, exclude=frozenset({"opportunity_ids"}))
    values.update(
        id=contact_id, user_id=user_id, name_key=data.name.casefold(), created_at=now, updated_at=now
    )
    statements = [repo.insert_contact(values)]
    if data.opportunity_ids:
        statements.append(
            repo.link_contact(user_id=user_id, contact_id=contact_id, opportunity_ids=data.opportunity_ids)
        )
    statements.append(repo.select_contact(user_id=user_id, contact_id=contact_id))
    results = _write(db, statements, user_id=user_id, links=_opportunity_links(data.opportunity_ids))
    return _one(results[-1], "contact", contact_view)


def get_contact(db: Database, *, user_id: str, contact_id: str) -> Row:
    stmt = repo.select_contact(user_id=user_id, contact_id=contact_id)
    return _one(db.execute(stmt.sql, stmt.params), "contact", contact_view)


def list_contacts(
    db: Database, page: PageRequest, *, user_id: str, q: str | None, opportunity_id: str | None
) -> Row:
    """One page of contacts A->Z, optionally searched or limited to one opportunity's."""
    q = q.strip() if q and q.strip() else None
    scope = list_scope(user_id, "contacts", q=q, opportunity_id=opportunity_id)
    return _page(
        db,
        page,
        scope,
        lambda position: repo.list_contacts(
            user_id=user_id, q=q, opportunity_id=opportunity_id, position=position, limit=page.limit + 1
        ),
        contact_view,
    )


def update_contact(db: Database, *, user_id: str, contact_id: str, data: ContactUpdate) -> Row:
    """Partial update; `opportunity_ids`, when given, replaces the whole set of links."""
    changes = _columns(data, only_set=True, exclude=frozenset({"opportunity_ids"}))
    relink = "opportunity_ids" in data.model_fields_set
    select = repo.select_contact(user_id=user_id, contact_id=contact_id)
    if not changes and not relink:
        return _one(db.execute(select.sql, select.params), "contact", contact_view)
    _, now = _now()
    if "name" in changes:
        changes["name_key"] = str(changes["name"]).casefold()
    statements = [repo.update_row("contacts", user_id=user_id, row_id=contact_id, changes=changes, now=now)]
    ids = data.opportunity_ids or []
    if relink:
        statements.append(repo.unlink_contact(user_id=user_id, contact_id=contact_id))
        if ids:
            statements.append(repo.link_contact(user_id=user_id, contact_id=contact_id, opportunity_ids=ids))
    statements.append(select)
    results = _write(db, statements, user_id=user_id, links=_opportunity_links(ids))
    if results[0].rows_affected == 0:
        raise NotFoundError("contact")
    return _one(results[-1], "contact", contact_view)


def delete_contact(db: Database, *, user_id: str, contact_id: str) -> None:
    """Delete a contact; notes about it stay, detached."""
    _, now = _now()
    results = db.batch(
        [
            repo.detach_contact_from_notes(user_id=user_id, contact_id=contact_id, now=now),
            repo.delete_row("contacts", user_id=user_id, row_id=contact_id),
        ]
    )
    if results[1].rows_affected == 0:
        raise NotFoundError("contact")


# ---- notes ----------------------------------------------------------------------------------------

_NOTE_LINKS = (
    ("opportunity_id", "opportunities"),
    ("interview_id", "interviews"),
    ("contact_id", "contacts"),
)


def _note_links(values: Mapping[str, Value]) -> list[Link]:
    return [
        (("body", field), table, str(values[field]))
        for field, table in _NOTE_LINKS
        if values.get(field) is not None
    ]


def create_note(db: Database, *, user_id: str, data: NoteCreate) -> Row:
    """Add a note, optionally about one of the caller's opportunities, interviews or contacts."""
    _, now = _now()
    note_id = new_id()
    values = _columns(data, only_set=False)
    values.update(id=note_id, user_id=user_id, created_at=now, updated_at=now)
    statements = [repo.insert_note(values)]
    if data.opportunity_id is not None:
        statements.append(
            _activity(
                user_id=user_id,
                kind="note",
                summary="Note added",
                now=now,
                opportunity_id=data.opportunity_id,
            )
        )
    statements.append(repo.select_note(user_id=user_id, note_id=note_id))
    results = _write(db, statements, user_id=user_id, links=_note_links(values))
    return _one(results[-1], "note", note_view)


def get_note(db: Database, *, user_id: str, note_id: str) -> Row:
    stmt = repo.select_note(user_id=user_id, note_id=note_id)
    return _one(db.execute(stmt.sql, stmt.params), "note", note_view)


def list_notes(db: Database, page: PageRequest, *, user_id: str, links: Mapping[str, str | None]) -> Row:
    """One page of notes, newest first."""
    scope = list_scope(user_id, "notes", **links)
    return _page(
        db,
        page,
        scope,
        lambda position: repo.list_notes(
            user_id=user_id, links=links, position=position, limit=page.limit + 1
        ),
        note_view,
    )


def update_note(db: Database, *, user_id: str, note_id: str, data: NoteUpdate) -> Row:
    changes = _columns(data, only_set=True)
    select = repo.select_note(user_id=user_id, note_id=note_id)
    if not changes:
        return _one(db.execute(select.sql, select.params), "note", note_view)
    _, now = _now()
    results = _write(
        db,
        [repo.update_row("notes", user_id=user_id, row_id=note_id, changes=changes, now=now), select],
        user_id=user_id,
        links=_note_links(changes),
    )
    if results[0].rows_affected == 0:
        raise NotFoundError("note")
    return _one(results[-1], "note", note_view)


def delete_note(db: Database, *, user_id: str, note_id: str) -> None:
    (result,) = db.batch([repo.delete_row("notes", user_id=user_id, row_id=note_id)])
    if result.rows_affected == 0:
        raise NotFoundError("note")


# ---- activity -------------------------------------------------------------------------------------


def create_activity(db: Database, *, user_id: str, data: ActivityCreate) -> Row:
    """Record an email, call, message or other event on the timeline."""
    _, now = _now()
    statement = _activity(
        user_id=user_id,
        kind=data.kind,
        summary=data.summary,
        now=now,
        occurred_at=to_iso(data.occurred_at) if data.occurred_at else None,
        opportunity_id=data.opportunity_id,
    )
    activity_id = str(statement.params[0])
    links = (
        [(("body", "opportunity_id"), "opportunities", data.opportunity_id)] if data.opportunity_id else []
    )
    results = _write(
        db,
        [statement, repo.select_activity(user_id=user_id, activity_id=activity_id)],
        user_id=user_id,
        links=links,
    )
    return _one(results[-1], "activity entry", activity_view)


def list_activity(
    db: Database, page: PageRequest, *, user_id: str, opportunity_id: str | None, kind: str | None
) -> Row:
    """One page of the timeline, newest first."""
    scope = list_scope(user_id, "activity", opportunity_id=opportunity_id, kind=kind)
    return _page(
        db,
        page,
        scope,
        lambda position: repo.list_activity(
            user_id=user_id, opportunity_id=opportunity_id, kind=kind, position=position, limit=page.limit + 1
        ),
        activity_view,
    )


# ---- dashboard ------------------------------------------------------------------------------------


def get_stats(db: Database, *, user_id: str) -> Row:
    """Pipeline counts, response rate and time in stage from the ledger, and the week's interviews."""
    now_dt, now = _now()
    week_start, week_end = stats.week_bounds(now_dt)
    counts, ledger_result, upcoming, this_week = db.batch(
        repo.stats_statements(
            user_id=user_id,
            now=now,
            week_ahead=to_iso(now_dt + timedelta(days=UPCOMING_DAYS)),
            week_start=to_iso(week_start),
            week_end=to_iso(week_end),
        )
    )
    stays = [(row[0], row[1], float(row[2]), bool(row[3])) for row in ledger_result.rows]
    return {
        "by_status": stats.by_status((row[0], row[1]) for row in counts.rows),
        "upcoming_interviews": [interview_view(row) for row in upcoming.all()],
        "response_rate": stats.response_rate(stays),
        "interviews_this_week": int(this_week.scalar() or 0),
        "time_in_stage": stats.time_in_stage(stays),
    }
