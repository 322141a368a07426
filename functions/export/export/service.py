"""Exports: every record of the caller, streamed from the database into one file in the BlobStore, and a
time-limited URL to fetch it.

What an export holds is decided here: the user as GET /v1/me shows them, the profile, every opportunity,
interview, contact, note, timeline entry and prep document (with its AI-processing record) as the API
shows them, and the calendar connection's status. Never a password hash, a token (session, refresh,
Google, prep claim), a key, a sync cursor or queue bookkeeping: the views below are allow-lists of
columns, and tests/integration/test_export_completeness.py accounts for every column of every table.

Rows are read page by page (the repository's keyset pages) and written as they come, so memory does not
grow with the user's data. The account and the first page of every collection are read in the same
batch as the rate-limited reservation, so a small account's export is one consistent snapshot and two
round trips (that batch, then marking the export ready). Further pages are separate reads: a record
changed while a large export runs may appear in its old or new form, but every record that exists
throughout appears exactly once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common.calendar import calendar_status
from common.clock import from_iso, new_id, to_iso
from common.db import Database, Result, Statement
from common.errors import DomainError, NotFoundError, RateLimitedError
from common.prep_data import prep_view
from common.storage import BlobStore, LinkSigner, new_key, user_prefix
from export import repository as repo
from export import writers
from export.schemas import ExportFormat

Row = dict[str, Any]

RATE_WINDOW = timedelta(hours=1)
KEEP_FOR = timedelta(days=1)  # as the S3 lifecycle rule keeps the objects
HOURLY_LIMIT = 10  # each export reads every record of the user: a few an hour is plenty

_MEDIA = {"json": "application/json", "csv": "application/zip"}
_EXTENSION = {"json": "json", "csv": "zip"}


class DownloadLinkError(DomainError):
    """A local download link whose signature does not match, or whose time is up."""

    status = 403
    type_slug = "invalid-download-link"
    title = "Forbidden"


@dataclass(frozen=True)
class ExportPolicy:
    url_ttl_seconds: int
    hourly_limit: int = HOURLY_LIMIT


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    media_type: str


# ---- views: rows as the API shows them (records' views, for the columns this function reads) --------


def _opportunity(row: Row) -> Row:
    return {**row, "tags": json.loads(row["tags"]), "archived": bool(row["archived"])}


def _interview(row: Row) -> Row:
    return {**row, "interviewers": json.loads(row["interviewers"])}


def _contact(row: Row) -> Row:
    return {**row, "opportunity_ids": json.loads(row["opportunity_ids"] or "[]")}


def _as_is(row: Row) -> Row:
    return row


_VIEWS: dict[str, Callable[[Row], Row]] = {
    "opportunities": _opportunity,
    "interviews": _interview,
    "contacts": _contact,
    "notes": _as_is,
    "activity": _as_is,
    "preps": prep_view,
}


def user_view(row: Row, calendar: Row | None) -> Row:
    """The User of API.md, as GET /v1/me shows it."""
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "picture_url": row["picture_url"],
        "google_linked": row["google_sub"] is not None,
        "calendar": calendar_status(calendar),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def profile_view(row: Row | None) -> Row:
    if row is None:
        return {"headline": "", "resume_text": "", "linkedin_summary": "", "updated_at": None}
    return dict(row)


# ---- reading ----------------------------------------------------------------------------------------


def _pages(
    db: Database,
    collection: repo.Collection,
    *,
    user_id: str,
    for_csv: bool,
    first: list[tuple[Any, ...]] | None = None,
    complete: bool = False,
) -> Iterator[list[tuple[Any, ...]]]:
    """The caller's rows of one collection, a keyset page at a time (for CSV: as CSV cells), starting
    with `first` when it was already read (and ending there when it was `complete`)."""
    after: tuple[Any, ...] | None = None
    positions = [collection.fields.index(column) for column in collection.order]
    rows = first
    while True:
        if rows is None:
            stmt = repo.page(collection, user_id=user_id, after=after, for_csv=for_csv)
            result = db.execute(stmt.sql, stmt.params)
            assert not result.rows or result.columns == collection.fields, (result.columns, collection.fields)
            rows = result.rows
        if not rows:
            return
        after = tuple(rows[-1][position] for position in positions)
        yield rows
        if complete:
            return
        rows = None


def read_statements(user_id: str, *, for_csv: bool) -> list[Statement]:
    """What an export reads up front, in one snapshot: the account, then the first page of each
    collection with its row-count probe. A small account needs no other read."""
    statements = repo.account_statements(user_id)
    for collection in repo.COLLECTIONS:
        statements.append(repo.page(collection, user_id=user_id, after=None, for_csv=for_csv))
        statements.append(repo.row_count_probe(collection, user_id=user_id))
    return statements


def read_content(
    db: Database, results: Sequence[Result], *, user_id: str, now: datetime, for_csv: bool = False
) -> writers.ExportContent:
    """Everything of the user, from the `results` of read_statements, with the rest of any collection
    that did not fit its first page still to be read (lazily, page by page)."""
    user, profile, calendar, *firsts = results
    user_row = user.first()
    if user_row is None:
        raise NotFoundError("account")
    collections = []
    for index, collection in enumerate(repo.COLLECTIONS):
        first, probe = firsts[2 * index], firsts[2 * index + 1]
        assert not first.rows or first.columns == collection.fields, (first.columns, collection.fields)
        pages = _pages(
            db,
            collection,
            user_id=user_id,
            for_csv=for_csv,
            first=first.rows,
            complete=probe.scalar() == len(first.rows),
        )
        collections.append(
            writers.Collection(
                name=collection.name, fields=collection.fields, pages=pages, item=_VIEWS[collection.name]
            )
        )
    return writers.ExportContent(
        exported_at=to_iso(now),
        user=user_view(user_row, calendar.first()),
        profile=profile_view(profile.first()),
        calendar=calendar_status(calendar.first()),
        collections=tuple(collections),
    )


class _Measured:
    """The bytes of a stream, counted and hashed on their way to the store."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self._sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if chunk:
                self.size += len(chunk)
                self._sha256.update(chunk)
                yield chunk

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


def filename(export_format: ExportFormat, now: datetime) -> str:
    return f"interview-tracker-export-{now.strftime('%Y%m%dT%H%M%SZ')}.{_EXTENSION[export_format]}"


# ---- creating an export ---------------------------------------------------------------------------


def create_export(
    db: Database,
    store: BlobStore,
    policy: ExportPolicy,
    *,
    user_id: str,
    export_format: ExportFormat,
    now: datetime,
) -> Row:
    """Write an export of all the caller's data and return a signed URL to it."""
    export_id = new_id()
    key = new_key(user_id, export_id, _EXTENSION[export_format])
    for_csv = export_format == "csv"
    # One snapshot: the rate-limited reservation and everything a small account's export reads.
    reserve = repo.reserve_export(
        export_id=export_id,
        user_id=user_id,
        export_format=export_format,
        object_key=key,
        now=to_iso(now),
        window_start=to_iso(now - RATE_WINDOW),
        kept_since=to_iso(now - KEEP_FOR),
        hourly_limit=policy.hourly_limit,
    )
    results = db.batch([*reserve, *read_statements(user_id, for_csv=for_csv)])
    if results[1].rows_affected == 0:
        oldest = results[len(reserve) - 1].scalar()
        wait = from_iso(oldest) + RATE_WINDOW - now if oldest else RATE_WINDOW
        raise RateLimitedError(
            f"At most {policy.hourly_limit} exports an hour; try again later",
            retry_after=int(wait.total_seconds()) + 1,
        )
    store.prune(user_prefix(user_id), older_than=now - KEEP_FOR)
    name = filename(export_format, now)
    try:
        content = read_content(db, results[len(reserve) :], user_id=user_id, now=now, for_csv=for_csv)
        write = writers.json_document if export_format == "json" else writers.csv_zip
        measured = _Measured(write(content))
        store.put(key, measured, content_type=_MEDIA[export_format], filename=name)
    except BaseException:
        db.execute(*_sql(repo.discard_export(export_id=export_id, user_id=user_id)))
        raise
    expires_at = (now + timedelta(seconds=policy.url_ttl_seconds)).replace(microsecond=0)
    finished = db.execute(
        *_sql(
            repo.finish_export(
                export_id=export_id,
                user_id=user_id,
                size_bytes=measured.size,
                sha256=measured.sha256,
                expires_at=to_iso(expires_at),
            )
        )
    )
    if finished.rows_affected == 0:
        # The account was deleted while this export was written: its file must not outlive it.
        store.delete(key)
        raise NotFoundError("account")
    return {
        "id": export_id,
        "format": export_format,
        "url": store.download_url(key, export_id=export_id, expires_at=expires_at, filename=name),
        "expires_at": to_iso(expires_at),
        "size_bytes": measured.size,
        "sha256": measured.sha256,
    }


def _sql(statement: Statement) -> tuple[str, Any]:
    return statement.sql, statement.params


# ---- local download links -------------------------------------------------------------------------


def open_download(
    db: Database,
    store: BlobStore,
    signer: LinkSigner,
    *,
    export_id: str,
    expires: str | None,
    signature: str | None,
    now: datetime,
) -> Download:
    """The file behind a signed local download link: 404 for an unknown export, 403 for a signature that
    does not match the export and expiry, or an expired link."""
    row = db.execute(*_sql(repo.find_download(export_id))).first()
    if row is None:
        raise NotFoundError("export")
    valid_until = signer.verify(export_id, expires, signature)
    if valid_until is None:
        raise DownloadLinkError("The download link is invalid or was altered")
    if now.timestamp() >= valid_until:
        raise DownloadLinkError("The download link has expired; create a new export", slug="link-expired")
    path = store.local_file(row["object_key"])
    if path is None or not path.is_file():
        raise NotFoundError("export")
    return Download(path, filename(row["format"], from_iso(row["created_at"])), _MEDIA[row["format"]])
