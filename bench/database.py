"""The database port: round trips per API request over the remote driver, and the embedded driver's
per-query overhead against raw sqlite3.

    python -m bench.database [--queries 2000] [--opportunities 1000]

(a) Round trips: the whole API (local.app, FastAPI TestClient) on the remote driver (Hrana v3 over
HTTP) against the Hrana test server (tests/fakes/hrana_server.py, a subprocess), counting the
`POST /v3/pipeline` the server received for each request, as tests/integration/test_remote_round_trips.py
does (whose CEILINGS pin today's numbers; this is the target). Budget (issue 9): 1 per request; login
may take 2 (the password hash must be read before argon2 runs, and the session written after it).
From Lambda each round trip to Turso is a network hop of milliseconds: this count is the latency floor
of a request.

(b) Per-query overhead: the same statements on the same database file through `common.db` (the
embedded driver: libsql, the lock, the Result), through the `libsql` module directly, and through the
standard library's `sqlite3` (the baseline; SQLite 3.40 here, libsql bundles 3.45). Budget: the port at
most 2x sqlite3 per statement (p50).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._harness import Budgets, Sample, isolated_data_dir, load_average, machine

PASSWORD = "correct horse battery staple"  # noqa: S105 - the throwaway benchmark user's password
ROUND_TRIP_BUDGET = 1
LOGIN_BUDGET = 2
OVERHEAD_BUDGET = 2.0


# ---- (a) round trips -----------------------------------------------------------------------------


def round_trips(budgets: Budgets) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import reset_caches
    from tests.fakes.hrana_server import HranaProcess

    with tempfile.TemporaryDirectory(prefix="bench-hrana-") as tmp, HranaProcess(tmp) as server:
        name = f"bench{uuid.uuid4().hex}"
        os.environ["DATABASE_URL"] = server.url(name)
        os.environ["DATABASE_AUTH_TOKEN"] = server.token or ""
        reset_caches()
        from local.app import build_app

        counts: dict[str, list[dict[str, Any]]] = {}

        def take() -> list[dict[str, Any]]:
            log = list(server.stats(name)["log"])
            server.reset_stats(name)
            return log

        with TestClient(build_app(), raise_server_exceptions=False) as client:
            assert client.get("/v1/health").status_code == 200  # opens and migrates the database
            take()

            def call(label: str, method: str, path: str, status: int, **kwargs: Any) -> Any:
                response = client.request(method, path, **kwargs)
                assert response.status_code == status, (label, response.status_code, response.text)
                counts[label] = take()
                return response.json() if response.content else None

            run_requests(call)
        server.detach(name)
        os.environ.pop("DATABASE_URL")
        os.environ.pop("DATABASE_AUTH_TOKEN")
        reset_caches()

    print("(a) round trips (Hrana pipelines) per request, remote driver against the Hrana test server\n")
    print("| request | pipelines | budget | verdict |\n|---|---:|---:|---|")
    for label, log in counts.items():
        budget = LOGIN_BUDGET if label == "POST /v1/auth/login" else ROUND_TRIP_BUDGET
        verdict = budgets.check(f"round trips of {label}", len(log) <= budget, f"{len(log)} pipelines")
        print(f"| {label} | {len(log)} | {budget} | {verdict} |")
    for label, log in counts.items():
        if len(log) > 1:
            print(f"\n{label}:")
            for index, entry in enumerate(log, 1):
                print(f"  {index}. {entry['requests']}: {[sql[:80] for sql in entry['sql']]}")
    print()


def run_requests(call: Callable[..., Any]) -> None:
    """Every kind of request a user makes, in an order that gives each one something to act on."""
    account = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    call("GET /v1/health", "GET", "/v1/health", 200)
    tokens = call("POST /v1/auth/register", "POST", "/v1/auth/register", 201, json=account)
    login = {"email": "ada@example.com", "password": PASSWORD}
    tokens = call("POST /v1/auth/login", "POST", "/v1/auth/login", 200, json=login)
    refresh = {"refresh_token": tokens["refresh_token"]}
    tokens = call("POST /v1/auth/refresh", "POST", "/v1/auth/refresh", 200, json=refresh)
    auth = {"headers": {"Authorization": f"Bearer {tokens['access_token']}"}}
    call("GET /v1/me", "GET", "/v1/me", 200, **auth)
    call("PATCH /v1/me", "PATCH", "/v1/me", 200, json={"name": "Ada L"}, **auth)
    call("GET /v1/me/profile", "GET", "/v1/me/profile", 200, **auth)
    profile = {"headline": "Backend engineer", "resume_text": "Ten years of Python."}
    call("PUT /v1/me/profile", "PUT", "/v1/me/profile", 200, json=profile, **auth)
    opportunity = {"company": "Acme", "role": "Engineer", "tags": ["remote"], "job_description": "Python"}
    oid = call("POST /v1/opportunities", "POST", "/v1/opportunities", 201, json=opportunity, **auth)["id"]
    call("GET /v1/opportunities", "GET", "/v1/opportunities", 200, **auth)
    call("GET /v1/opportunities?q=", "GET", "/v1/opportunities?q=python&tag=remote", 200, **auth)
    call("GET /v1/opportunities/{id}", "GET", f"/v1/opportunities/{oid}", 200, **auth)
    call(
        "PATCH /v1/opportunities/{id}",
        "PATCH",
        f"/v1/opportunities/{oid}",
        200,
        json={"status": "applied"},
        **auth,
    )
    interview = {"opportunity_id": oid, "title": "Screen", "scheduled_at": "2030-01-02T10:00:00Z"}
    iid = call("POST /v1/interviews", "POST", "/v1/interviews", 201, json=interview, **auth)["id"]
    call("GET /v1/interviews", "GET", "/v1/interviews", 200, **auth)
    call("GET /v1/interviews/{id}", "GET", f"/v1/interviews/{iid}", 200, **auth)
    call(
        "PATCH /v1/interviews/{id}", "PATCH", f"/v1/interviews/{iid}", 200, json={"outcome": "passed"}, **auth
    )
    contact = {"name": "Grace", "opportunity_ids": [oid]}
    cid = call("POST /v1/contacts", "POST", "/v1/contacts", 201, json=contact, **auth)["id"]
    call("GET /v1/contacts", "GET", "/v1/contacts", 200, **auth)
    call("PATCH /v1/contacts/{id}", "PATCH", f"/v1/contacts/{cid}", 200, json={"title": "CTO"}, **auth)
    note = {"body": "Follow up", "opportunity_id": oid}
    nid = call("POST /v1/notes", "POST", "/v1/notes", 201, json=note, **auth)["id"]
    call("GET /v1/notes", "GET", "/v1/notes", 200, **auth)
    call("DELETE /v1/notes/{id}", "DELETE", f"/v1/notes/{nid}", 204, **auth)
    activity = {"kind": "email", "summary": "Thanked them", "opportunity_id": oid}
    call("POST /v1/activity", "POST", "/v1/activity", 201, json=activity, **auth)
    call("GET /v1/activity", "GET", "/v1/activity", 200, **auth)
    call("GET /v1/stats", "GET", "/v1/stats", 200, **auth)
    call("DELETE /v1/contacts/{id}", "DELETE", f"/v1/contacts/{cid}", 204, **auth)
    call("DELETE /v1/interviews/{id}", "DELETE", f"/v1/interviews/{iid}", 204, **auth)
    call("DELETE /v1/opportunities/{id}", "DELETE", f"/v1/opportunities/{oid}", 204, **auth)
    logout = {"refresh_token": tokens["refresh_token"]}
    call("POST /v1/auth/logout", "POST", "/v1/auth/logout", 204, json=logout, **auth)


# ---- (b) embedded per-query overhead ------------------------------------------------------------


def _sqlite3(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("PRAGMA busy_timeout=10000", "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON"):
        conn.execute(pragma)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def overhead(budgets: Budgets, queries: int, opportunities: int) -> None:
    import libsql

    from bench.search import insert_opportunities
    from common.clock import new_id, to_iso
    from common.db import Statement, get_database
    from records.repository import select_opportunity

    with isolated_data_dir("bench-db-") as data_dir:
        port = get_database()
        now = to_iso(datetime.now(UTC))
        user_id = new_id()
        port.execute(
            "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, "heavy@example.com", "Heavy", now, now),
        )
        insert_opportunities(user_id, opportunities, 7)
        ids = [
            row[0] for row in port.execute("SELECT id FROM opportunities WHERE user_id = ?", (user_id,)).rows
        ]
        path = data_dir / "tracker.db"
        raw_libsql = libsql.connect(str(path), isolation_level=None)
        for pragma in ("PRAGMA busy_timeout=10000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"):
            raw_libsql.execute(pragma)
        raw_sqlite = _sqlite3(path)

        point_read = select_opportunity(user_id=user_id, opportunity_id=ids[0])

        def note(i: int) -> tuple[str, tuple[Any, ...]]:
            return (
                "INSERT INTO notes (id, user_id, body, opportunity_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (new_id(), user_id, f"note {i}", ids[i % len(ids)], now, now),
            )

        statements: dict[str, Callable[[int], tuple[str, tuple[Any, ...]]]] = {
            "point read (opportunity by id and user)": lambda i: (
                point_read.sql,  # the records repository's own, as GET /v1/opportunities/{id} runs it
                (ids[i % len(ids)], user_id),
            ),
            "page of 50 (user's opportunities by updated_at)": lambda i: (
                "SELECT id, company, role, status, tags, updated_at FROM opportunities "
                "WHERE user_id = ? AND archived = 0 ORDER BY updated_at DESC, id DESC LIMIT 50",
                (user_id,),
            ),
            "count (user's notes)": lambda i: ("SELECT count(*) FROM notes WHERE user_id = ?", (user_id,)),
            "insert (a note, autocommit)": note,
        }

        def via_port(sql: str, params: tuple[Any, ...]) -> Any:
            return port.execute(sql, params).rows

        def via_libsql(sql: str, params: tuple[Any, ...]) -> Any:
            return raw_libsql.execute(sql, params).fetchall()

        def via_sqlite(sql: str, params: tuple[Any, ...]) -> Any:
            return raw_sqlite.execute(sql, params).fetchall()

        drivers = {"sqlite3": via_sqlite, "libsql": via_libsql, "common.db": via_port}
        results: dict[tuple[str, str], Sample] = {}
        rounds = 10
        per_round = max(1, queries // rounds)
        for label, make in statements.items():
            for run in drivers.values():
                for i in range(20):
                    run(*make(i))  # warm: statement cache, pages
            millis: dict[str, list[float]] = {driver: [] for driver in drivers}
            for r in range(rounds):  # interleaved rounds
                for driver, run in drivers.items():
                    args = [make(r * per_round + i) for i in range(per_round)]
                    for sql, params in args:
                        started = time.perf_counter()
                        run(sql, params)
                        millis[driver].append((time.perf_counter() - started) * 1000)
            for driver, values in millis.items():
                results[(label, driver)] = Sample(f"{label} via {driver}", values)

        # An atomic batch of 3 writes: the port's batch against BEGIN IMMEDIATE ... COMMIT by hand.
        def batch_port(i: int) -> None:
            port.batch([Statement(*note(i * 3 + k)) for k in range(3)])

        def batch_sqlite(i: int) -> None:
            raw_sqlite.execute("BEGIN IMMEDIATE")
            for k in range(3):
                raw_sqlite.execute(*note(i * 3 + k)).fetchall()
            raw_sqlite.execute("COMMIT")

        def batch_libsql(i: int) -> None:
            raw_libsql.execute("BEGIN IMMEDIATE")
            for k in range(3):
                raw_libsql.execute(*note(i * 3 + k)).fetchall()
            raw_libsql.execute("COMMIT")

        batch_millis: dict[str, list[float]] = {"sqlite3": [], "libsql": [], "common.db": []}
        batchers = {"sqlite3": batch_sqlite, "libsql": batch_libsql, "common.db": batch_port}
        for r in range(rounds):
            for driver, run_batch in batchers.items():
                for i in range(per_round // 2):
                    started = time.perf_counter()
                    run_batch(r * per_round + i)
                    batch_millis[driver].append((time.perf_counter() - started) * 1000)
        label = "atomic batch of 3 inserts"
        for driver, values in batch_millis.items():
            results[(label, driver)] = Sample(f"{label} via {driver}", values)
        raw_sqlite.close()
        raw_libsql.close()
        port.close()
        get_database.cache_clear()

    print(
        f"(b) embedded per-statement time, same file ({opportunities} opportunities), {queries} timed "
        "statements per driver in 10 interleaved rounds (batches: half as many)\n"
    )
    print(
        "| statement | sqlite3 p50 µs | libsql p50 µs | common.db p50 µs | port vs sqlite3 "
        "| libsql vs sqlite3 | port vs libsql | budget |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for label in [*statements, "atomic batch of 3 inserts"]:
        base, raw, ours = (results[(label, d)] for d in ("sqlite3", "libsql", "common.db"))
        ratio = ours.p50 / base.p50
        verdict = budgets.check(
            f"port overhead, {label}",
            ratio <= OVERHEAD_BUDGET,
            f"{ours.p50 * 1000:.0f} µs = {ratio:.2f}x sqlite3's {base.p50 * 1000:.0f} µs "
            f"(budget {OVERHEAD_BUDGET}x; raw libsql alone {raw.p50 / base.p50:.2f}x)",
        )
        print(
            f"| {label} | {base.p50 * 1000:.0f} | {raw.p50 * 1000:.0f} | {ours.p50 * 1000:.0f} | "
            f"{ratio:.2f}x | {raw.p50 / base.p50:.2f}x | {ours.p50 / raw.p50:.2f}x | {verdict} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--queries", type=int, default=2000, help="timed statements per driver and row")
    parser.add_argument("--opportunities", type=int, default=1000)
    parser.add_argument("--skip-round-trips", action="store_true")
    args = parser.parse_args(argv)
    print(f"bench.database: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, {load_average()}\n")
    budgets = Budgets("bench.database")
    if not args.skip_round_trips:
        with isolated_data_dir("bench-db-remote-"):
            round_trips(budgets)
    overhead(budgets, args.queries, args.opportunities)
    budgets.finish()


if __name__ == "__main__":
    main()
