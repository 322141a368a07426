"""Fault injection for the hardening tests (issue 10): a Database port wrapper that makes a chosen batch
fail part-way through inside the real driver's transaction, a snapshot of every table to prove nothing
was half-written, and an HTTP fault proxy to put in front of a fake service (moto) so that chosen
requests fail at the HTTP level while the real SDK (boto3) talks to it.

No SDK call is patched: the application's own Database port is wrapped (`open_database`, our factory),
and AWS failures are real HTTP answers (or dropped connections) the SDK has to cope with.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from common.db import Database, DatabaseBusyError, DatabaseError, Params, Result, Statement

# Fails at run time (not when prepared), after the statements before it ran in the same transaction.
FAILING_SQL = "SELECT abs(-9223372036854775807 - 1)"  # SQLite: "integer overflow"


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    at: int | None  # statements that run before the failure; None = all of them
    busy: bool


@dataclass
class FaultPlan:
    """What to break, shared by every FaultyDatabase a test opens (caches may reopen the database):
    `arm()` makes the next batch whose SQL matches run its first `at` statements and then a statement
    that fails, in one atomic batch of the real driver. `busy=True` reports the failure as
    DatabaseBusyError (a lost connection or a lock: the API's 503), else as the DatabaseError the driver
    raised (an unexpected failure: the API's 500)."""

    faults: list[_Fault] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)  # SQL of every batch, in order
    injected: int = 0

    def arm(self, pattern: str, *, at: int | None = None, busy: bool = False) -> None:
        self.faults.append(_Fault(re.compile(pattern, re.I | re.S), at, busy))

    def batch_size(self, pattern: str) -> int:
        """How many statements the last batch matching `pattern` had."""
        compiled = re.compile(pattern, re.I | re.S)
        sizes = [len(sqls) for sqls in self.batches if compiled.search("\n".join(sqls))]
        assert sizes, f"no batch matched {pattern!r}"
        return sizes[-1]


@dataclass
class FaultyDatabase:
    """The real driver, breaking batches as its FaultPlan says."""

    inner: Database
    plan: FaultPlan

    def execute(self, sql: str, params: Params = ()) -> Result:
        return self.inner.execute(sql, params)

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        plan = self.plan
        sqls = [s.sql for s in statements]
        plan.batches.append(sqls)
        joined = "\n".join(sqls)
        fault = next((f for f in plan.faults if f.pattern.search(joined)), None)
        if fault is None:
            return self.inner.batch(statements)
        plan.faults.remove(fault)
        plan.injected += 1
        ran = list(statements) if fault.at is None else list(statements[: fault.at])
        try:
            self.inner.batch([*ran, Statement(FAILING_SQL)])
        except DatabaseError as exc:
            if fault.busy:
                raise DatabaseBusyError("injected: the database went away mid-batch") from exc
            raise
        raise AssertionError("the injected statement did not fail")

    def purge_deleted(self) -> None:
        self.inner.purge_deleted()

    def close(self) -> None:
        self.inner.close()


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (FTS shadow tables included), sorted: equal snapshots, equal data."""
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).rows
    ]
    return {name: sorted(db.execute(f'SELECT * FROM "{name}"').rows, key=repr) for name in names}


def changed_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


# ---- HTTP fault proxy ------------------------------------------------------------------------------


@dataclass
class HttpFault:
    """Answer matching requests with `status` (or drop the connection: `status=None`), `times` times.
    `after_forward=True`: the upstream receives and handles the request, then the connection is dropped
    before the answer (the client cannot know it worked)."""

    match: Callable[[str, str, dict[str, str], bytes], bool]
    status: int | None = 500
    body: bytes = b""
    content_type: str = "application/xml"
    times: int = 1
    after_forward: bool = False


@dataclass
class ProxyRecord:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    injected: bool


class FaultProxy:
    """A loopback HTTP proxy in front of `upstream` (e.g. moto's server): forwards every request
    unchanged unless an armed `HttpFault` matches it. `records` counts what the client really sent."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._faults: list[HttpFault] = []
        self.records: list[ProxyRecord] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_PUT(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_DELETE(self) -> None:
                proxy._handle(self)

            def do_HEAD(self) -> None:
                proxy._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def fail(self, fault: HttpFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.records.clear()

    def injected(self) -> list[ProxyRecord]:
        with self._lock:
            return [r for r in self.records if r.injected]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            fault = next(
                (f for f in self._faults if f.match(handler.command, handler.path, headers, body)), None
            )
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            self.records.append(ProxyRecord(handler.command, handler.path, headers, body, fault is not None))
        if fault is not None and not fault.after_forward:
            if fault.status is None:  # the connection dies without an answer
                handler.close_connection = True
                handler.connection.close()
                return
            handler.send_response(fault.status)
            handler.send_header("content-type", fault.content_type)
            handler.send_header("content-length", str(len(fault.body)))
            handler.end_headers()
            handler.wfile.write(fault.body)
            return
        conn = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            forwarded = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
            conn.request(handler.command, handler.path, body=body or None, headers=forwarded)
            response = conn.getresponse()
            data = response.read()
            if fault is not None:  # after_forward: handled upstream, the answer is lost
                handler.close_connection = True
                handler.connection.close()
                return
            handler.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    handler.send_header(name, value)
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        finally:
            conn.close()


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()


def s3_error(code: str = "InternalError", message: str = "We encountered an internal error.") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
        "<RequestId>FAULT</RequestId></Error>"
    ).encode()
