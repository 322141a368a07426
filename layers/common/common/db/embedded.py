"""Embedded database: a libSQL file (the engine Turso runs), one connection per thread."""

from __future__ import annotations

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
)

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
    "PRAGMA busy_timeout=10000",
)


def _translate(exc: Exception) -> DatabaseError:
    # libsql raises ValueError for every engine error; SQLite's own messages are stable, and this
    # adapter is the one place that reads them, so the rest of the code sees typed errors.
    message = str(exc)
    if "constraint failed" in message:
        return ConstraintError(message)
    if "database is locked" in message or "database is busy" in message:
        return DatabaseBusyError(message)
    return DatabaseError(message)


class EmbeddedDatabase:
    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = libsql.connect(self.path, isolation_level=None)
                for pragma in _PRAGMAS:
                    conn.execute(pragma)
            except ValueError as exc:
                raise _translate(exc) from exc
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def execute(self, sql: str, params: Params = ()) -> Result:
        conn = self._conn()
        try:
            return _result(conn.execute(sql, params))
        except ValueError as exc:
            raise _translate(exc) from exc

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except ValueError as exc:
            raise _translate(exc) from exc
        try:
            results = [_result(conn.execute(s.sql, s.params)) for s in statements]
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, ValueError):
                raise _translate(exc) from exc
            raise
        return results

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _result(cursor: Any) -> Result:
    description = cursor.description
    if description:
        return Result(tuple(d[0] for d in description), cursor.fetchall(), 0)
    return Result((), [], max(cursor.rowcount, 0))
