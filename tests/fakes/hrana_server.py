"""A Hrana v3 HTTP server (the protocol Turso speaks) over a real SQLite engine, for tests.

The engine is the `libsql` package's embedded one (SQLite 3.45 with FTS5 secure-delete, which the
migrations need; the stdlib sqlite3 here is older). Run it as a subprocess, as a test would reach a
libSQL server over the network:

    python -m tests.fakes.hrana_server --dir DIR --port 0 --token T      # prints its base URL

or use `HranaProcess` below. Databases:
- `--db PATH`: the database at the root, `{url}/v3/pipeline`;
- `--dir DIR`: one database per name, `{url}/db/<name>/v3/pipeline` is `DIR/<name>.db` (created on
  first use), so one server serves a fresh database to every test.

What it implements (HRANA_3_SPEC.md, "Hrana over HTTP", JSON encoding):
- `GET /v3` (version check) and `POST /v3/pipeline` with `{"baton", "requests"}`; stream requests
  `execute`, `batch` (conditions ok/error/not/and/or/is_autocommit), `sequence`, `store_sql`,
  `close_sql`, `get_autocommit`, `close` (`describe` answers an error: not needed by our driver).
- Streams: a null baton opens a stream; a stream left open gets a fresh unpredictable baton, the old
  one stops working; streams idle for STREAM_TTL_SECONDS expire (their transaction rolls back).
- Errors as libSQL's server reports them: `{"message": "SQLite error: ...", "code": "SQLITE_..."}`
  (SQLITE_CONSTRAINT, SQLITE_BUSY, SQL_PARSE_ERROR, SQL_MANY_STATEMENTS, ...).
- `Authorization: Bearer <token>` when started with a token (401 otherwise).
- Foreign keys ON (libSQL builds with SQLITE_DEFAULT_FOREIGN_KEYS=1), secure_delete ON, WAL.

Test hooks (no authentication, loopback only): `GET {db}/_stats` returns
`{"pipelines": n, "log": [{"requests": [...], "sql": [...]}, ...]}` (one entry per pipeline POST,
answered or not), `POST {db}/_stats/reset`, and `POST {db}/_faults` with a JSON list of faults the
next pipeline POSTs consume, one each: `{"delay": seconds}`, `{"status": 503}` (answered before
executing anything), `{"drop": "before"|"after"}` (close the connection without an answer, before or
after executing the pipeline). `POST /db/<name>/_attach {"path": ...}` puts a named database's file
at a path of the test's choosing (before its first use); `POST /db/<name>/_detach` closes its
connections and streams and forgets it (the file stays).

Every pipeline runs under one lock: SQLite serialises writers anyway, and libsql holds the GIL while
waiting for a lock, so two streams must never wait on each other inside the engine (a conflicting
write fails at once with SQLITE_BUSY instead, busy_timeout being 0).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import libsql

__all__ = ["STREAM_TTL_SECONDS", "HranaProcess", "HranaServer", "main"]

STREAM_TTL_SECONDS = 10.0
MAX_BODY_BYTES = 10 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_PATH = re.compile(r"^(?:/db/(?P<name>[^/]+))?(?P<rest>/.*)$")
_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON", "PRAGMA busy_timeout=0")
_REPO_ROOT = Path(__file__).resolve().parents[2]


class _StreamError(Exception):
    """A failed stream request or statement: becomes a Hrana `Error`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code}


class _HttpError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "code": code}


# ---- values --------------------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        raise _StreamError("Arguments do not match SQL parameters: a value is not an object", "ARGS_INVALID")
    kind = value.get("type")
    try:
        if kind == "null":
            return None
        if kind == "integer":
            raw = value["value"]
            if not isinstance(raw, str):
                raise TypeError("integer value must be a string")
            return int(raw)
        if kind == "float":
            number = value["value"]
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise TypeError("float value must be a number")
            return float(number)
        if kind == "text":
            text = value["value"]
            if not isinstance(text, str):
                raise TypeError("text value must be a string")
            return text
        if kind == "blob":
            return base64.b64decode(value.get("base64") or "", validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise _StreamError(f"Arguments do not match SQL parameters: {exc}", "ARGS_INVALID") from exc
    raise _StreamError(f"Arguments do not match SQL parameters: unknown type {kind!r}", "ARGS_INVALID")


def _encode(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "null"}
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"unexpected value from the engine: {type(value).__name__}")


# ---- the engine ----------------------------------------------------------------------------------


def _sqlite_error(exc: Exception) -> _StreamError:
    """libsql raises ValueError with SQLite's message; report it as libSQL's server does."""
    message = str(exc)
    if "constraint failed" in message:
        code = "SQLITE_CONSTRAINT"
    elif "database table is locked" in message:
        code = "SQLITE_LOCKED"
    elif "database is locked" in message or "database is busy" in message:
        code = "SQLITE_BUSY"
    elif "syntax error" in message or "incomplete input" in message:
        return _StreamError(f"SQL string could not be parsed: {message}", "SQL_PARSE_ERROR")
    elif "readonly" in message:
        code = "SQLITE_READONLY"
    else:
        code = "SQLITE_UNKNOWN"  # what libSQL's server reports for plain SQLITE_ERROR
    return _StreamError(f"SQLite error: {message}", code)


def _placeholders(sql: str) -> list[int]:
    """Offsets of the bare `?` parameters in `sql` (outside strings, quoted names and comments)."""
    found: list[int] = []
    index, length = 0, len(sql)
    closing = {"'": "'", '"': '"', "`": "`", "[": "]"}
    while index < length:
        char = sql[index]
        if char in closing:
            end = sql.find(closing[char], index + 1)
            index = length if end < 0 else end + 1  # a doubled quote is two adjacent strings: same effect
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            index = length if end < 0 else end + 1
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            index = length if end < 0 else end + 2
        else:
            if char == "?" and not sql[index + 1 : index + 2].isdigit():
                found.append(index)
            index += 1
    return found


def _bind(sql: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """Work around the libsql Python binding (0.1.11), which binds an int outside the int32 range as
    a REAL: a libSQL server keeps every 64-bit integer exact, so such a value goes in as text inside
    `CAST(? AS INTEGER)`, which SQLite converts exactly."""
    big = {i for i, v in enumerate(args) if isinstance(v, int) and not -(2**31) <= v < 2**31}
    if not big:
        return sql, args
    positions = _placeholders(sql)
    if len(positions) != len(args):
        return sql, args  # numbered or named parameters: leave them to the engine
    parts, last = [], 0
    for i, position in enumerate(positions):
        parts.append(sql[last:position])
        parts.append("CAST(? AS INTEGER)" if i in big else "?")
        last = position + 1
    parts.append(sql[last:])
    return "".join(parts), tuple(str(v) if i in big else v for i, v in enumerate(args))


def _statement_count(sql: str) -> int:
    """How many statements `sql` holds (libSQL's server refuses none and more than one)."""
    count, start = 0, 0
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            if sql[start:index].strip():
                count += 1
            start = index + 1
    rest = sql[start:].strip()
    if rest and not all(line.strip().startswith("--") for line in rest.splitlines() if line.strip()):
        count += 1
    return count


@dataclass
class _Database:
    path: str
    idle: list[Any] = field(default_factory=list)
    pipelines: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    initialised: bool = False

    def connect(self) -> Any:
        if self.idle:
            return self.idle.pop()
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = libsql.connect(self.path, isolation_level=None)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        if not self.initialised:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            self.initialised = True
        return conn

    def release(self, conn: Any) -> None:
        if conn.in_transaction:
            with contextlib.suppress(ValueError):
                conn.execute("ROLLBACK")
        if len(self.idle) < 4 and not conn.in_transaction:
            self.idle.append(conn)
        else:
            conn.close()


@dataclass
class _Stream:
    database: _Database
    conn: Any
    sqls: dict[int, str] = field(default_factory=dict)
    expires: float = 0.0
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.database.release(self.conn)

    # -- statements --

    def sql_of(self, holder: dict[str, Any]) -> str:
        sql, sql_id = holder.get("sql"), holder.get("sql_id")
        if (sql is None) == (sql_id is None):
            raise _StreamError("Exactly one of sql and sql_id must be given", "SQL_INVALID")
        if sql_id is not None:
            if sql_id not in self.sqls:
                raise _StreamError(f"SQL text {sql_id} not found", "SQL_NOT_FOUND")
            return self.sqls[sql_id]
        if not isinstance(sql, str):
            raise _StreamError("sql must be a string", "SQL_INVALID")
        return sql

    def execute(self, stmt: Any) -> dict[str, Any]:
        if not isinstance(stmt, dict):
            raise _StreamError("stmt must be an object", "PROTO_INVALID")
        sql = self.sql_of(stmt)
        count = _statement_count(sql)
        if count == 0:
            raise _StreamError("SQL string does not contain any statement", "SQL_NO_STATEMENT")
        if count > 1:
            raise _StreamError("SQL string contains more than one statement", "SQL_MANY_STATEMENTS")
        if stmt.get("named_args"):
            raise _StreamError("named arguments are not supported by this test server", "ARGS_INVALID")
        args = tuple(_decode(value) for value in stmt.get("args") or [])
        started = time.perf_counter()
        try:
            cursor = self.conn.execute(*_bind(sql, args))
            description = cursor.description
            rows = cursor.fetchall() if description else []
        except ValueError as exc:
            raise _sqlite_error(exc) from exc
        want_rows = stmt.get("want_rows", True) is not False
        return {
            "cols": [{"name": d[0], "decltype": None} for d in description or ()],
            "rows": [[_encode(v) for v in row] for row in rows] if want_rows else [],
            # sqlite3_changes(), as libSQL's server reports it (undefined for a SELECT)
            "affected_row_count": max(cursor.rowcount, 0),
            "last_insert_rowid": str(cursor.lastrowid) if cursor.lastrowid is not None else None,
            "rows_read": 0,
            "rows_written": 0,
            "query_duration_ms": (time.perf_counter() - started) * 1000,
        }

    def condition(self, cond: Any, index: int, results: list[Any], errors: list[Any]) -> bool:
        if not isinstance(cond, dict):
            raise _StreamError("condition must be an object", "BATCH_COND_INVALID")
        kind = cond.get("type")
        if kind in ("ok", "error"):
            step = cond.get("step")
            if not isinstance(step, int) or not 0 <= step < index:
                raise _StreamError(f"condition refers to step {step} from step {index}", "BATCH_COND_INVALID")
            return (results[step] is not None) if kind == "ok" else (errors[step] is not None)
        if kind == "not":
            return not self.condition(cond.get("cond"), index, results, errors)
        if kind in ("and", "or"):
            values = [self.condition(c, index, results, errors) for c in cond.get("conds") or []]
            return all(values) if kind == "and" else any(values)
        if kind == "is_autocommit":
            return not self.conn.in_transaction
        raise _StreamError(f"unknown condition type {kind!r}", "BATCH_COND_INVALID")

    def batch(self, batch: Any) -> dict[str, Any]:
        steps = batch.get("steps") if isinstance(batch, dict) else None
        if not isinstance(steps, list):
            raise _StreamError("batch.steps must be a list", "PROTO_INVALID")
        results: list[Any] = []
        errors: list[Any] = []
        for index, step in enumerate(steps):
            cond = step.get("condition") if isinstance(step, dict) else None
            if cond is not None and not self.condition(cond, index, results, errors):
                results.append(None)
                errors.append(None)
                continue
            try:
                results.append(self.execute(step.get("stmt") if isinstance(step, dict) else None))
                errors.append(None)
            except _StreamError as exc:
                results.append(None)
                errors.append(exc.as_json())
        return {"step_results": results, "step_errors": errors}

    def sequence(self, request: dict[str, Any]) -> None:
        try:
            self.conn.executescript(self.sql_of(request))
        except ValueError as exc:
            raise _sqlite_error(exc) from exc

    def handle(self, request: Any) -> dict[str, Any]:
        """One stream request -> its StreamResponse (raises _StreamError for an error result)."""
        if not isinstance(request, dict):
            raise _StreamError("request must be an object", "PROTO_INVALID")
        kind = request.get("type")
        if self.closed:
            raise _StreamError("The stream has already been closed", "STREAM_CLOSED")
        if kind == "close":
            self.close()
            return {"type": "close"}
        if kind == "execute":
            return {"type": "execute", "result": self.execute(request.get("stmt"))}
        if kind == "batch":
            return {"type": "batch", "result": self.batch(request.get("batch"))}
        if kind == "sequence":
            self.sequence(request)
            return {"type": "sequence"}
        if kind == "store_sql":
            sql_id, sql = request.get("sql_id"), request.get("sql")
            if not isinstance(sql_id, int) or not isinstance(sql, str):
                raise _StreamError("store_sql needs sql_id and sql", "PROTO_INVALID")
            self.sqls[sql_id] = sql
            return {"type": "store_sql"}
        if kind == "close_sql":
            self.sqls.pop(request.get("sql_id"), None)  # type: ignore[arg-type]
            return {"type": "close_sql"}
        if kind == "get_autocommit":
            return {"type": "get_autocommit", "is_autocommit": not self.conn.in_transaction}
        if kind == "describe":
            raise _StreamError("describe is not implemented by this test server", "NOT_SUPPORTED")
        raise _StreamError(f"unknown request type {kind!r}", "PROTO_INVALID")


def _summary(request: Any) -> tuple[str, list[str]]:
    """(type, SQL texts) of a stream request, for the stats log."""
    if not isinstance(request, dict):
        return "?", []
    kind = str(request.get("type"))
    if kind == "execute" and isinstance(request.get("stmt"), dict):
        return kind, [str(request["stmt"].get("sql"))]
    if kind == "batch" and isinstance(request.get("batch"), dict):
        steps = request["batch"].get("steps") or []
        return kind, [str(s.get("stmt", {}).get("sql")) for s in steps if isinstance(s, dict)]
    if kind in ("sequence", "store_sql"):
        return kind, [str(request.get("sql"))]
    return kind, []


# ---- HTTP ----------------------------------------------------------------------------------------


class HranaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, *, db: str | None, directory: str | None, token: str | None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.token = token
        self.root_db = db
        self.directory = directory
        self.lock = threading.Lock()
        self.databases: dict[str, _Database] = {}
        self.streams: dict[str, _Stream] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def database(self, name: str | None) -> _Database:
        """The database a path names (call with the lock held)."""
        key = name or ""
        if key not in self.databases:
            if name is None:
                if self.root_db is None:
                    raise _HttpError(404, "no database at the root (start with --db)", "NOT_FOUND")
                path = self.root_db
            else:
                if self.directory is None or not _NAME.match(name):
                    raise _HttpError(404, f"no database named {name!r}", "NOT_FOUND")
                path = os.path.join(self.directory, f"{name}.db")
            self.databases[key] = _Database(path)
        return self.databases[key]

    def expire_streams(self) -> None:
        now = time.monotonic()
        for baton in [b for b, s in self.streams.items() if s.expires < now]:
            self.streams.pop(baton).close()

    def pipeline(self, name: str | None, body: Any) -> tuple[dict[str, Any], bool]:
        """Run a pipeline; returns (response body, whether to drop the connection instead of answering)."""
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise _HttpError(400, "body must be {baton, requests}", "PROTO_INVALID")
        with self.lock:
            self.expire_streams()
            database = self.database(name)
            database.pipelines += 1
            summaries = [_summary(r) for r in body["requests"]]
            database.log.append(
                {"requests": [s[0] for s in summaries], "sql": [sql for s in summaries for sql in s[1]]}
            )
            fault = database.faults.pop(0) if database.faults else {}
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("status"):
            raise _HttpError(int(fault["status"]), "injected failure", "INJECTED")
        if fault.get("drop") == "before":
            return {}, True
        with self.lock:
            baton = body.get("baton")
            if baton is None:
                stream = _Stream(database, database.connect())
            else:
                found = self.streams.pop(baton, None) if isinstance(baton, str) else None
                if found is None or found.database is not database:
                    raise _HttpError(400, "The stream has expired due to inactivity", "STREAM_EXPIRED")
                stream = found
            results: list[dict[str, Any]] = []
            for request in body["requests"]:
                try:
                    results.append({"type": "ok", "response": stream.handle(request)})
                except _StreamError as exc:
                    results.append({"type": "error", "error": exc.as_json()})
            new_baton = None
            if not stream.closed:
                new_baton = secrets.token_urlsafe(24)
                stream.expires = time.monotonic() + STREAM_TTL_SECONDS
                self.streams[new_baton] = stream
        return {"baton": new_baton, "base_url": None, "results": results}, fault.get("drop") == "after"

    def stats(self, name: str | None) -> dict[str, Any]:
        with self.lock:
            database = self.database(name)
            return {"pipelines": database.pipelines, "log": list(database.log)}

    def reset_stats(self, name: str | None) -> None:
        with self.lock:
            database = self.database(name)
            database.pipelines = 0
            database.log.clear()

    def attach(self, name: str | None, body: Any) -> None:
        path = body.get("path") if isinstance(body, dict) else None
        if name is None or not isinstance(path, str) or not os.path.isabs(path):
            raise _HttpError(400, "attach a named database to an absolute path", "PROTO_INVALID")
        with self.lock:
            existing = self.databases.get(name)
            if existing is not None and existing.path != path:
                raise _HttpError(409, f"database {name!r} is already in use", "CONFLICT")
            self.database(name).path = path

    def detach(self, name: str | None) -> None:
        with self.lock:
            database = self.databases.pop(name or "", None)
            if database is None:
                return
            for baton in [b for b, stream in self.streams.items() if stream.database is database]:
                self.streams.pop(baton).close()
            for conn in database.idle:
                conn.close()
            database.idle.clear()

    def set_faults(self, name: str | None, faults: Any) -> None:
        if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
            raise _HttpError(400, "faults must be a list of objects", "PROTO_INVALID")
        with self.lock:
            self.database(name).faults = list(faults)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: HranaServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str | None, str]:
        match = _PATH.match(self.path.split("?", 1)[0])
        if not match:
            raise _HttpError(404, "not found", "NOT_FOUND")
        return match.group("name"), match.group("rest").rstrip("/") or "/"

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _HttpError(413, "request body too large", "TOO_LARGE")
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError as exc:
            raise _HttpError(400, f"body is not JSON: {exc}", "PROTO_INVALID") from exc

    def _authorised(self) -> bool:
        if self.server.token is None:
            return True
        given = self.headers.get("Authorization") or ""
        return secrets.compare_digest(given.encode(), f"Bearer {self.server.token}".encode())

    def do_GET(self) -> None:
        try:
            name, rest = self._route()
            if rest == "/_stats":
                self._reply(200, self.server.stats(name))
            elif rest in ("/v3", "/health"):
                self._reply(200, {})
            else:
                raise _HttpError(404, "not found", "NOT_FOUND")
        except _HttpError as exc:
            self._reply(exc.status, exc.body)

    def do_POST(self) -> None:
        try:
            name, rest = self._route()
            body = self._body()
            if rest == "/_stats/reset":
                self.server.reset_stats(name)
                self._reply(200, {})
            elif rest == "/_attach":
                self.server.attach(name, body)
                self._reply(200, {})
            elif rest == "/_detach":
                self.server.detach(name)
                self._reply(200, {})
            elif rest == "/_faults":
                self.server.set_faults(name, body)
                self._reply(200, {})
            elif rest == "/v3/pipeline":
                if not self._authorised():
                    raise _HttpError(401, "Unauthorized: invalid or missing token", "UNAUTHORIZED")
                response, drop = self.server.pipeline(name, body)
                if drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._reply(200, response)
            else:
                raise _HttpError(404, "not found", "NOT_FOUND")
        except _HttpError as exc:
            self._reply(exc.status, exc.body)
        except Exception as exc:  # a bug here must still answer, as a server's 500 would
            self._reply(500, {"message": f"internal error: {type(exc).__name__}: {exc}", "code": "INTERNAL"})


# ---- running it ----------------------------------------------------------------------------------


class HranaProcess:
    """The server as a subprocess (a context manager): `url(name)` is a database's DATABASE_URL."""

    def __init__(self, directory: str | os.PathLike[str], token: str | None = "test-hrana-token") -> None:  # noqa: S107
        self.directory = str(directory)
        self.token = token
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> HranaProcess:
        command = [sys.executable, "-m", "tests.fakes.hrana_server", "--dir", self.directory, "--port", "0"]
        if self.token is not None:
            command += ["--token", self.token]
        self._process = subprocess.Popen(
            command, cwd=_REPO_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the Hrana test server did not start (said {line!r})")
        self.base_url = line
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

    def url(self, name: str) -> str:
        return f"{self.base_url}/db/{name}"

    def _call(self, name: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback test server)
            f"{self.url(name)}{path}", data=data, method="GET" if data is None else "POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def stats(self, name: str) -> dict[str, Any]:
        return dict(self._call(name, "/_stats"))

    def pipelines(self, name: str) -> int:
        return int(self.stats(name)["pipelines"])

    def reset_stats(self, name: str) -> None:
        self._call(name, "/_stats/reset", {})

    def attach(self, name: str, path: str | os.PathLike[str]) -> None:
        """Keep database `name` in the file `path` (e.g. in the test's own data dir)."""
        self._call(name, "/_attach", {"path": str(Path(path).resolve())})

    def detach(self, name: str) -> None:
        """Close database `name` on the server (its connections and streams)."""
        self._call(name, "/_detach", {})

    def inject(self, name: str, *faults: dict[str, Any]) -> None:
        self._call(name, "/_faults", list(faults))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", help="the database served at the root")
    parser.add_argument("--dir", help="a directory of databases served at /db/<name>")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", help="require Authorization: Bearer <token>")
    args = parser.parse_args(argv)
    if not args.db and not args.dir:
        parser.error("give --db, --dir or both")
    server = HranaServer(args.port, db=args.db, directory=args.dir, token=args.token)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(server.url, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        with server.lock:
            for stream in server.streams.values():
                stream.close()
            for database in server.databases.values():
                for conn in database.idle:
                    conn.close()


if __name__ == "__main__":
    main()
