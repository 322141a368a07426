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

    def execute(self, sql: str, params: Params = ()) -> Result:
        with self._lock:
            conn = self._conn()
            try:
                return _result(conn.execute(sql, params))
            except ValueError as exc:
                raise _translate(exc) from exc

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        with self._lock:
            conn = self._conn()
            # Writers take the write lock up front (no lock upgrade to fail half way); a batch of
            # reads only needs a consistent snapshot and leaves other processes' writers alone.
            begin = "BEGIN DEFERRED" if all(is_read_only(s.sql) for s in statements) else "BEGIN IMMEDIATE"
            try:
                conn.execute(begin)
            except ValueError as exc:
                raise _translate(exc) from exc
            try:
                results = [_result(conn.execute(s.sql, s.params)) for s in statements]
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


def _result(cursor: Any) -> Result:
    description = cursor.description
    if description:
        return Result(tuple(d[0] for d in description), cursor.fetchall(), 0)
    return Result((), [], max(cursor.rowcount, 0))
