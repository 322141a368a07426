"""The database port: statements in, results out, batch-oriented.

A unit of work is one `execute` or one atomic `batch`, so the remote driver (Turso, Hrana over HTTP)
can send each as one round trip. Conditional writes are expressed in SQL (`INSERT ... SELECT ... WHERE
EXISTS`, `changes()`), never as read-then-write across round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

Value = None | int | float | str | bytes
Params = Sequence[Value]  # positional `?` parameters only: the one style both drivers share


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    params: Params = ()


@dataclass(slots=True)
class Result:
    columns: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rows_affected: int = 0

    def all(self) -> list[dict[str, Any]]:
        cols = self.columns
        return [dict(zip(cols, row, strict=True)) for row in self.rows]

    def first(self) -> dict[str, Any] | None:
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


_READ_ONLY_PREFIXES = ("SELECT", "VALUES", "EXPLAIN")


def is_read_only(sql: str) -> bool:
    """Whether a statement only reads (conservatively: a `WITH ...` counts as a write)."""
    return sql.lstrip()[:7].upper().startswith(_READ_ONLY_PREFIXES)


class DatabaseError(Exception):
    """A database failure; the message is for logs, never for API responses."""


class ConstraintError(DatabaseError):
    """A constraint (UNIQUE, FOREIGN KEY, CHECK, NOT NULL) rejected a write.

    `constraint` names it for the service: "foreign_key", the name of a named CHECK constraint
    (`CONSTRAINT salary_range CHECK (...)`), or None when the driver cannot tell.
    """

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class DatabaseBusyError(DatabaseError):
    """The database could not be reached or stayed locked; safe to retry later."""


class Database(Protocol):
    def execute(self, sql: str, params: Params = ()) -> Result: ...

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        """Run all statements atomically (all or none) and return one result each."""
        ...

    def purge_deleted(self) -> None:
        """Make rows deleted so far unrecoverable from storage (embedded: checkpoint and truncate
        the WAL, whose old frames secure_delete does not reach)."""
        ...

    def close(self) -> None: ...


def open_database(url: str, auth_token: str | None = None) -> Database:
    if url.startswith("file:"):
        from common.db.embedded import EmbeddedDatabase

        return EmbeddedDatabase(url.removeprefix("file:"))
    if url.lower().startswith(("libsql://", "https://", "http://")):
        # Turso / a libSQL server over Hrana v3 HTTP; http:// is accepted for loopback hosts only.
        from common.db.remote import RemoteDatabase

        return RemoteDatabase(url, auth_token)
    raise DatabaseError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]!r}")


@lru_cache(maxsize=1)
def get_database() -> Database:
    """The process-wide database, migrated on first use (safe when several processes start at once)."""
    from common.db.migrate import migrate
    from common.settings import get_settings

    settings = get_settings()
    token = settings.DATABASE_AUTH_TOKEN.get_secret_value() if settings.DATABASE_AUTH_TOKEN else None
    db = open_database(settings.DATABASE_URL, token)
    migrate(db)
    return db
