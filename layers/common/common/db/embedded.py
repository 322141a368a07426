"""Embedded database: a libSQL file (the engine Turso runs).

libsql keeps the GIL while SQLite's busy handler waits for a lock, so two threads of one process
contending for the write lock deadlock until busy_timeout expires (measured: the lock holder cannot
run its COMMIT). So a process uses one connection behind one lock: statements of one process never
wait on each other inside SQLite, and busy_timeout covers other processes (`make run` beside
`make migrate`, two local servers on one file). Embedded statements take microseconds, so
serialising them costs nothing a laptop would notice.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import libsql

from common.db import (
    ConstraintError,
    DatabaseBusyError,
    DatabaseError,
    Params,
    Result,
    Statement,
    is_read_only,
)

# Column names by statement text (see _columns_of): more distinct texts than this and it starts over.
_MAX_CACHED_STATEMENTS = 1024

_PRAGMAS = (
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
    "PRAGMA synchronous=NORMAL",
)


def constraint_name(message: str) -> str | None:
    """Which constraint a SQLite error names: "foreign_key", a named CHECK's name, or None.

    SQLite's wording ("FOREIGN KEY constraint failed", "CHECK constraint failed: salary_range") is
    also what Turso reports, so both drivers share this parser.
    """
    if "FOREIGN KEY constraint failed" in message:
        return "foreign_key"
    match = re.search(r"CHECK constraint failed: (\w+)", message)
    return match.group(1) if match else None


def _translate(exc: Exception) -> DatabaseError:
    # libsql raises ValueError for every engine error; SQLite's own messages are stable, and this
    # adapter is the one place that reads them, so the rest of the code sees typed errors.
    message = str(exc)
    if "constraint failed" in message:
        return ConstraintError(message, constraint_name(message))
    if "database is locked" in message or "database is busy" in message:
        return DatabaseBusyError(message)
    return DatabaseError(message)


class EmbeddedDatabase:
    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only data dir
        self._lock = threading.Lock()
        self._connection: Any = None
        self._columns: dict[str, tuple[str, ...]] = {}

    def _conn(self) -> Any:
        """The connection, opened on first use; call with the lock held."""
        if self._connection is None:
            try:
                conn = libsql.connect(self.path, isolation_level=None)
                if self.path != ":memory:":
                    # Owner-only, whatever the umask: -wal and -shm inherit the database file's mode.
                    os.chmod(self.path, 0o600)
                for pragma in _PRAGMAS:
                    conn.execute(pragma)
                # WAL is a property of the file: switch once, not on every open.
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
            except ValueError as exc:
                raise _translate(exc) from exc
            self._connection = conn
        return self._connection

    def _run(self, conn: Any, sql: str, params: Params) -> Result:
        """One statement, fetched; call with the lock held."""
        cursor = conn.execute(sql, params)
        columns = self._columns.get(sql)
        if columns is None:
            columns = self._columns_of(sql, cursor)
        if columns:
            return Result(columns, cursor.fetchall(), 0)
        return Result((), [], max(cursor.rowcount, 0))

    def _columns_of(self, sql: str, cursor: Any) -> tuple[str, ...]:
        """The statement's column names, remembered by its text.

        The binding builds `description` anew on every call (a 7-tuple a column: ~6 µs for the 17
        columns of an opportunity, ~15% of reading one). A statement's names are fixed by its text,
        unless it selects `*`, whose expansion follows the schema (a migration may add a column):
        those are asked every time."""
        description = cursor.description
        columns = tuple(d[0] for d in description) if description else ()
        if "*" not in sql.replace("count(*)", ""):
            if len(self._columns) >= _MAX_CACHED_STATEMENTS:
                self._columns.clear()
            self._columns[sql] = columns
        return columns

    def execute(self, sql: str, params: Params = ()) -> Result:
        with self._lock:
            conn = self._connection or self._conn()
            try:
                return self._run(conn, sql, params)
            except ValueError as exc:
                raise _translate(exc) from exc

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        with self._lock:
            conn = self._connection or self._conn()
            # Writers take the write lock up front (no lock upgrade to fail half way); a batch of
            # reads only needs a consistent snapshot and leaves other processes' writers alone.
            begin = "BEGIN DEFERRED" if all(is_read_only(s.sql) for s in statements) else "BEGIN IMMEDIATE"
            try:
                conn.execute(begin)
            except ValueError as exc:
                raise _translate(exc) from exc
            try:
                results = [self._run(conn, s.sql, s.params) for s in statements]
                conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite may already have rolled back (I/O error, disk full): keep the first error.
                with contextlib.suppress(ValueError):
                    conn.execute("ROLLBACK")
                if isinstance(exc, ValueError):
                    raise _translate(exc) from exc
                raise
            return results

    def purge_deleted(self) -> None:
        with self._lock:
            try:
                self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except ValueError as exc:
                raise _translate(exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
