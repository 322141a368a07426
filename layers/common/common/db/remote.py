"""Remote database: a libSQL server (Turso) over Hrana v3 HTTP, one round trip per unit of work.

Wire protocol (HRANA_3_SPEC.md in tursodatabase/libsql, "Hrana over HTTP"): `POST {base}/v3/pipeline`
with `{"baton": null, "requests": [...]}` and `Authorization: Bearer <token>`. Every call here opens a
fresh stream and closes it in the same pipeline, so no baton is ever carried between calls and no
transaction spans two round trips:

- `execute`: one pipeline `[execute, close]`.
- `batch`: one pipeline `[batch, close]`, the Hrana batch being `BEGIN IMMEDIATE` (`BEGIN DEFERRED`
  when every statement is a SELECT), each statement conditioned on the previous step having
  succeeded while still inside the transaction, `COMMIT` conditioned the same way on the last
  statement, and `ROLLBACK` when the commit did not happen (the pattern libSQL's own clients use).
  Either every statement commits or none does.

Values travel typed: integers as decimal strings (64-bit safe), floats as JSON numbers, text, blobs in
base64, null. Errors map to the port's: SQLITE_CONSTRAINT -> ConstraintError (with the constraint
named by the same parser as the embedded driver), busy/locked, HTTP 429/5xx, timeouts and unreachable
servers -> DatabaseBusyError, everything else (bad SQL, authentication) -> DatabaseError.

Standard library only (http.client): no dependency for the layer, nothing to import at cold start
beyond what Python has loaded anyway. Connections are kept alive in a small pool (any thread takes
an idle one), and every socket operation has a timeout. A call is retried at most once, and only when
that cannot apply a write twice: the connection could not be opened (nothing was sent), or the call
only reads (a SELECT, or a batch of SELECTs) and the server went away or answered 502/503/504. A
write whose outcome is unknown is never resent; it fails as DatabaseBusyError.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import math
import select
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import common
from common.db import (
    ConstraintError,
    DatabaseBusyError,
    DatabaseError,
    Params,
    Result,
    Statement,
    Value,
    is_read_only,
)
from common.db.embedded import constraint_name

DEFAULT_TIMEOUT_SECONDS = 10.0
# A kept-alive connection idle for longer is dropped rather than reused: servers and proxies close
# idle connections, and after a Lambda freeze the close may not have been seen yet. A stale
# connection would turn a write into "outcome unknown", so pay a new handshake instead.
_MAX_IDLE_SECONDS = 30.0
_MAX_IDLE_CONNECTIONS = 8
_RETRY_DELAY_SECONDS = 0.05
_INT64 = (-(2**63), 2**63 - 1)
_BUSY_CODES = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "TRANSACTION_BUSY", "TRANSACTION_TIMEOUT"})
_RETRYABLE_STATUS = frozenset({502, 503, 504})


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Endpoint:
    """Where pipelines go: scheme, host, port and the path of `v3/pipeline` (parsed once)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        if not host:
            raise DatabaseError("DATABASE_URL has no host")
        if scheme == "libsql":
            scheme = "https"  # libsql://<db>.turso.io is Turso's name for its HTTPS endpoint
        if scheme not in ("https", "http"):
            raise DatabaseError(f"unsupported DATABASE_URL scheme for the remote driver: {scheme!r}")
        if scheme == "http" and not _is_loopback(host):
            # The bearer token and every row would cross the network in clear text.
            raise DatabaseError(f"refusing plain http:// to a non-loopback host ({host}); use https://")
        query = parse_qs(parts.query)
        unknown = set(query) - {"authToken"}
        if unknown:
            raise DatabaseError(f"unsupported DATABASE_URL parameters: {', '.join(sorted(unknown))}")
        self.url_token = query["authToken"][0] if "authToken" in query else None
        self.scheme = scheme
        self.host = host
        self.port = parts.port or (443 if scheme == "https" else 80)
        self.path = parts.path.rstrip("/") + "/v3/pipeline"

    def describe(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class _Connection:
    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.http = conn
        self.last_used = time.monotonic()

    def usable(self) -> bool:
        """Still open, not idle too long, and the server has not closed it (no EOF waiting)."""
        sock = self.http.sock
        if sock is None or time.monotonic() - self.last_used > _MAX_IDLE_SECONDS:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable  # an idle keep-alive connection has nothing to read unless it was closed

    def close(self) -> None:
        self.http.close()


class _TransportError(Exception):
    """The pipeline got no answer. `sent` is False only when the request never left this process."""

    def __init__(self, message: str, *, sent: bool, timeout: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timeout = timeout


class RemoteDatabase:
    """The Database port over Hrana v3 HTTP (Turso, or any libSQL server)."""

    def __init__(
        self, url: str, auth_token: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self._endpoint = _Endpoint(url)
        self.timeout = timeout
        token = auth_token or self._endpoint.url_token
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"interview-tracker/{common.__version__}",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._ssl = ssl.create_default_context() if self._endpoint.scheme == "https" else None
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._closed = False

    def __repr__(self) -> str:  # never the token
        return f"RemoteDatabase({self._endpoint.describe()})"

    # ---- the port --------------------------------------------------------------------------------

    def execute(self, sql: str, params: Params = ()) -> Result:
        requests: list[dict[str, Any]] = [{"type": "execute", "stmt": _stmt(sql, params)}, {"type": "close"}]
        results = self._pipeline(requests, read_only=is_read_only(sql))
        response = _stream_response(results[0], "execute")
        return _result(response.get("result"))

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        if not statements:
            return []
        n = len(statements)
        read_only = all(is_read_only(s.sql) for s in statements)
        # Writers take the write lock up front (as the embedded driver does: no lock upgrade to fail
        # half way); a batch of reads only needs a consistent snapshot and leaves writers alone.
        begin = "BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE"
        steps: list[dict[str, Any]] = [{"stmt": {"sql": begin}}]
        for index, statement in enumerate(statements, start=1):
            steps.append({"condition": _in_transaction_after(index - 1), "stmt": _stmt(*_unpack(statement))})
        steps.append({"condition": _in_transaction_after(n), "stmt": {"sql": "COMMIT"}})
        commit = n + 1
        steps.append(
            {
                "condition": {
                    "type": "and",
                    "conds": [
                        {"type": "not", "cond": {"type": "ok", "step": commit}},
                        {"type": "not", "cond": {"type": "is_autocommit"}},
                    ],
                },
                "stmt": {"sql": "ROLLBACK"},
            }
        )
        results = self._pipeline([{"type": "batch", "batch": {"steps": steps}}, {"type": "close"}], read_only)
        outcome = _stream_response(results[0], "batch").get("result")
        if not isinstance(outcome, dict):
            raise DatabaseError("malformed Hrana batch response")
        step_results = outcome.get("step_results")
        step_errors = outcome.get("step_errors")
        if not (isinstance(step_results, list) and isinstance(step_errors, list)):
            raise DatabaseError("malformed Hrana batch response")
        if len(step_results) != len(steps) or len(step_errors) != len(steps):
            raise DatabaseError("Hrana batch response does not match the request")
        # The first failed step (BEGIN, a statement or COMMIT) is the cause; ROLLBACK's own outcome is
        # irrelevant (it runs only when nothing was committed).
        for index in range(commit + 1):
            if step_errors[index] is not None:
                raise _error(step_errors[index])
        if step_results[commit] is None:
            raise DatabaseError("batch did not commit: the transaction ended early")
        return [_result(step_results[index]) for index in range(1, n + 1)]

    def purge_deleted(self) -> None:
        """Nothing to do: Turso manages storage (pages, WAL and backups are the provider's), so the
        embedded driver's checkpoint has no remote counterpart; deleted rows are gone from every
        query the moment the deleting batch commits."""

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for connection in idle:
            connection.close()

    # ---- transport -------------------------------------------------------------------------------

    def _pipeline(self, requests: list[dict[str, Any]], read_only: bool) -> list[Any]:
        try:
            body = json.dumps({"baton": None, "requests": requests}, allow_nan=False).encode()
        except ValueError as exc:  # NaN or infinity: SQLite has no such value to store
            raise DatabaseError(f"value cannot be sent: {exc}") from exc
        attempt = 0
        while True:
            attempt += 1
            try:
                status, payload = self._post(body)
            except _TransportError as exc:
                retry = attempt == 1 and not exc.timeout and (not exc.sent or read_only)
                if retry:
                    time.sleep(_RETRY_DELAY_SECONDS)
                    continue
                raise DatabaseBusyError(f"database {self._endpoint.describe()}: {exc}") from None
            if status == 200:
                return _pipeline_results(payload, len(requests))
            if attempt == 1 and read_only and status in _RETRYABLE_STATUS:
                time.sleep(_RETRY_DELAY_SECONDS)
                continue
            raise _http_error(status, payload)

    def _post(self, body: bytes) -> tuple[int, bytes]:
        connection = self._acquire()
        sent = False
        try:
            conn = connection.http
            if conn.sock is None:
                conn.connect()  # separately, so that a failure here is known to have sent nothing
                _no_delay(conn)
            sent = True
            conn.request("POST", self._endpoint.path, body=body, headers=self._headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
            reusable = not response.will_close
        except TimeoutError:
            connection.close()
            raise _TransportError(f"no answer within {self.timeout:g}s", sent=sent, timeout=True) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise _TransportError(f"{type(exc).__name__}: {exc}", sent=sent) from None
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._release(connection)
        else:
            connection.close()
        return status, payload

    def _acquire(self) -> _Connection:
        with self._lock:
            if self._closed:
                raise DatabaseError("database is closed")
            while self._idle:
                connection = self._idle.pop()  # most recently used first: the least likely stale
                if connection.usable():
                    return connection
                connection.close()
        endpoint = self._endpoint
        conn: http.client.HTTPConnection
        if self._ssl is not None:
            conn = http.client.HTTPSConnection(
                endpoint.host, endpoint.port, timeout=self.timeout, context=self._ssl
            )
        else:
            conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=self.timeout)
        return _Connection(conn)

    def _release(self, connection: _Connection) -> None:
        connection.last_used = time.monotonic()
        with self._lock:
            if not self._closed and len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()


def _no_delay(conn: http.client.HTTPConnection) -> None:
    """A pipeline is one small write: send it now rather than wait for an ACK (Nagle)."""
    sock = conn.sock
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# ---- encoding ------------------------------------------------------------------------------------


def _unpack(statement: Statement) -> tuple[str, Params]:
    return statement.sql, statement.params


def _in_transaction_after(step: int) -> dict[str, Any]:
    """Run only if `step` succeeded and the transaction is still open (a statement can end it, e.g.
    an `OR ROLLBACK` conflict; the rest must then not run in autocommit mode)."""
    return {
        "type": "and",
        "conds": [{"type": "ok", "step": step}, {"type": "not", "cond": {"type": "is_autocommit"}}],
    }


def _stmt(sql: str, params: Params) -> dict[str, Any]:
    return {"sql": sql, "args": [encode_value(value) for value in params], "want_rows": True}


def encode_value(value: Value) -> dict[str, Any]:
    """A Python value as a Hrana `Value` (JSON encoding)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool | int):
        number = int(value)
        if not _INT64[0] <= number <= _INT64[1]:
            raise DatabaseError("integer out of the 64-bit range SQLite stores")
        return {"type": "integer", "value": str(number)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DatabaseError("NaN and infinity cannot be stored")
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise DatabaseError(f"unsupported parameter type: {type(value).__name__}")


def decode_value(value: Any) -> Value:
    """A Hrana `Value` as the Python value the embedded driver would return."""
    if not isinstance(value, dict):
        raise DatabaseError("malformed Hrana value")
    kind = value.get("type")
    try:
        if kind == "null":
            return None
        if kind == "integer":
            return int(value["value"])
        if kind == "float":
            return float(value["value"])
        if kind == "text":
            text = value["value"]
            if not isinstance(text, str):
                raise TypeError("text value is not a string")
            return text
        if kind == "blob":
            # Servers may omit `base64` for an empty blob.
            return base64.b64decode(value.get("base64") or "", validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise DatabaseError(f"malformed Hrana {kind} value") from exc
    raise DatabaseError(f"unknown Hrana value type: {kind!r}")


def _result(raw: Any) -> Result:
    if not isinstance(raw, dict):
        raise DatabaseError("malformed Hrana statement result")
    try:
        columns = tuple(str(col.get("name") or "") for col in raw.get("cols") or [])
        rows = [tuple(decode_value(cell) for cell in row) for row in raw.get("rows") or []]
        affected = int(raw.get("affected_row_count") or 0)
    except (AttributeError, TypeError, ValueError) as exc:
        raise DatabaseError("malformed Hrana statement result") from exc
    # Like the embedded driver: a statement that returns rows reports 0 affected rows (the server's
    # count is undefined for a SELECT; it may repeat an earlier statement's).
    return Result(columns, rows, 0 if columns else max(affected, 0))


# ---- responses and errors ------------------------------------------------------------------------


def _pipeline_results(payload: bytes, expected: int) -> list[Any]:
    try:
        document = json.loads(payload)
    except ValueError as exc:
        raise DatabaseError("malformed Hrana pipeline response (not JSON)") from exc
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list) or len(results) != expected:
        raise DatabaseError("malformed Hrana pipeline response")
    return results


def _stream_response(result: Any, kind: str) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise DatabaseError("malformed Hrana stream result")
    if result.get("type") == "error":
        raise _error(result.get("error"))
    response = result.get("response")
    if result.get("type") != "ok" or not isinstance(response, dict) or response.get("type") != kind:
        raise DatabaseError("malformed Hrana stream result")
    return response


def _error(error: Any) -> DatabaseError:
    if not isinstance(error, dict):
        return DatabaseError("database error (no details)")
    message = str(error.get("message") or "database error")
    code = str(error.get("code") or "")
    if code.startswith("SQLITE_CONSTRAINT") or "constraint failed" in message:
        return ConstraintError(message, constraint_name(message))
    if code in _BUSY_CODES or "database is locked" in message or "database is busy" in message:
        return DatabaseBusyError(message)
    return DatabaseError(f"{code}: {message}" if code else message)


def _http_error(status: int, payload: bytes) -> DatabaseError:
    detail = ""
    try:
        document = json.loads(payload)
        if isinstance(document, dict):
            detail = str(document.get("message") or document.get("error") or "")
    except ValueError:
        pass  # proxies answer in HTML or plain text; the status says enough
    text = f"HTTP {status}" + (f": {detail[:200]}" if detail else "")
    if status in (401, 403):
        return DatabaseError(f"database authentication failed ({text}); check DATABASE_AUTH_TOKEN")
    if status == 429 or status >= 500:
        return DatabaseBusyError(f"database unavailable ({text})")
    return DatabaseError(f"database request rejected ({text})")


__all__ = ["DEFAULT_TIMEOUT_SECONDS", "RemoteDatabase", "decode_value", "encode_value"]
