"""The remote database driver (Hrana v3 over HTTP) against the Hrana test server, a subprocess.

Same contract as the embedded adapter (tests/unit/test_db.py): results, typed values, atomic
batches, typed errors; plus what only the network adds: one pipeline per call, value encoding on the
wire, timeouts, authentication, retries only where a write cannot be applied twice, no clear-text
http:// beyond loopback.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from common.db import (
    ConstraintError,
    DatabaseBusyError,
    DatabaseError,
    Statement,
    open_database,
)
from common.db.migrate import applied_versions, load_migrations, migrate
from common.db.remote import RemoteDatabase, decode_value, encode_value
from tests.fakes.hrana_server import HranaProcess

SCHEMA = (
    "CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id TEXT NOT NULL "
    "REFERENCES parent(id) ON DELETE CASCADE, data BLOB, score REAL, "
    "CONSTRAINT score_range CHECK (score IS NULL OR score BETWEEN 0 AND 100))",
)


@pytest.fixture
def name() -> str:
    return f"u{uuid.uuid4().hex}"


@pytest.fixture
def db(hrana_server: HranaProcess, name: str) -> Iterator[RemoteDatabase]:
    database = RemoteDatabase(hrana_server.url(name), hrana_server.token, timeout=5)
    for sql in SCHEMA:
        database.execute(sql)
    hrana_server.reset_stats(name)
    yield database
    database.close()
    hrana_server.detach(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the port's contract -------------------------------------------------------------------------


def test_execute_returns_columns_rows_and_affected_counts(db: RemoteDatabase) -> None:
    inserted = db.execute("INSERT INTO parent (id, name) VALUES (?, ?), (?, ?)", ("a", "A", "b", "B"))
    assert inserted.rows_affected == 2
    result = db.execute("SELECT id, name FROM parent ORDER BY id")
    assert result.columns == ("id", "name")
    assert result.all() == [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]
    assert result.rows_affected == 0  # like embedded: a statement with rows reports none affected
    assert db.execute("SELECT count(*) FROM parent").scalar() == 2
    assert db.execute("SELECT count(*) AS n FROM parent").columns == ("n",)
    assert db.execute("SELECT id FROM parent WHERE id = 'zz'").first() is None
    assert db.execute("UPDATE parent SET name = name || '!'").rows_affected == 2
    assert db.execute("DELETE FROM parent WHERE id = 'nope'").rows_affected == 0


def test_values_round_trip_by_type(db: RemoteDatabase) -> None:
    db.execute("INSERT INTO parent (id, name) VALUES ('p', 'P')")
    db.execute("INSERT INTO child (parent_id, data, score) VALUES (?, ?, ?)", ("p", b"\x00\xff binary", 2.5))
    assert db.execute("SELECT data, score, id FROM child").first() == {
        "data": b"\x00\xff binary",
        "score": 2.5,
        "id": 1,
    }
    values: tuple[Any, ...] = (
        2**63 - 1,
        -(2**63),
        0,
        0.1,
        -1e300,
        "zażółć 🦀 ☃",
        b"",
        b"\x00",
        None,
    )
    row = db.execute("SELECT " + ", ".join("?" for _ in values), values).rows[0]
    assert row == values
    assert [type(v) for v in row] == [type(v) for v in values]
    assert db.execute("SELECT ?, ?", (True, False)).rows[0] == (1, 0)
    # 64-bit integers stay exact and typed through the server (placeholders in strings/comments ignored)
    assert db.execute("SELECT '?', typeof(?), ? /* ? */ -- ?\n", (2**62, 2**62 + 1)).rows[0] == (
        "?",
        "integer",
        2**62 + 1,
    )
    assert db.execute("SELECT typeof(?), typeof(?), typeof(?)", (1, 1.0, "1")).rows[0] == (
        "integer",
        "real",
        "text",
    )


def test_values_sqlite_cannot_store_are_refused_before_sending(db: RemoteDatabase) -> None:
    for bad in (2**63, -(2**63) - 1, float("nan"), float("inf")):
        with pytest.raises(DatabaseError):
            db.execute("SELECT ?", (bad,))
    with pytest.raises(DatabaseError, match="unsupported parameter type"):
        db.execute("SELECT ?", (object(),))  # type: ignore[arg-type]


def test_wire_encoding_follows_the_spec() -> None:
    assert encode_value(None) == {"type": "null"}
    assert encode_value(42) == {"type": "integer", "value": "42"}  # a string: 64-bit safe in JSON
    assert encode_value(-(2**63)) == {"type": "integer", "value": "-9223372036854775808"}
    assert encode_value(1.5) == {"type": "float", "value": 1.5}
    assert encode_value("x") == {"type": "text", "value": "x"}
    assert encode_value(b"\x00\xff") == {"type": "blob", "base64": base64.b64encode(b"\x00\xff").decode()}
    assert decode_value({"type": "integer", "value": "9223372036854775807"}) == 2**63 - 1
    assert decode_value({"type": "float", "value": 3}) == 3.0
    assert isinstance(decode_value({"type": "float", "value": 3}), float)
    assert decode_value({"type": "blob"}) == b""  # servers may omit base64 for an empty blob
    assert decode_value({"type": "null"}) is None
    for bad in ({"type": "integer", "value": "x"}, {"type": "blob", "base64": "***"}, {"type": "date"}, 5):
        with pytest.raises(DatabaseError):
            decode_value(bad)


def test_batch_is_atomic_and_one_round_trip(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    db.execute("INSERT INTO parent (id, name) VALUES ('a', 'A')")
    hrana_server.reset_stats(name)
    with pytest.raises(ConstraintError) as caught:
        db.batch(
            [
                Statement("INSERT INTO parent (id, name) VALUES ('b', 'B')"),
                Statement("UPDATE parent SET name = 'changed' WHERE id = 'a'"),
                Statement("INSERT INTO parent (id, name) VALUES ('c', 'B')"),  # UNIQUE violation
                Statement("INSERT INTO parent (id, name) VALUES ('d', 'D')"),
            ]
        )
    assert "UNIQUE constraint failed: parent.name" in str(caught.value)
    assert caught.value.constraint is None
    assert hrana_server.pipelines(name) == 1
    assert db.execute("SELECT id, name FROM parent").all() == [{"id": "a", "name": "A"}]
    hrana_server.reset_stats(name)
    results = db.batch(
        [
            Statement("INSERT INTO parent (id, name) VALUES (?, ?)", ("b", "B")),
            Statement("SELECT count(*) AS n FROM parent"),
            Statement("DELETE FROM parent WHERE id = ?", ("zz",)),
        ]
    )
    assert [r.rows_affected for r in results] == [1, 0, 0]
    assert results[1].scalar() == 2
    assert hrana_server.pipelines(name) == 1
    log = hrana_server.stats(name)["log"][0]
    assert log["requests"] == ["batch", "close"]
    assert log["sql"][0] == "BEGIN IMMEDIATE"
    assert log["sql"][-2:] == ["COMMIT", "ROLLBACK"]
    reads = db.batch([Statement("SELECT count(*) FROM parent"), Statement("SELECT max(id) FROM parent")])
    assert [r.scalar() for r in reads] == [2, "b"]
    assert hrana_server.stats(name)["log"][1]["sql"][0] == "BEGIN DEFERRED"  # reads leave writers alone
    hrana_server.reset_stats(name)
    assert db.batch([]) == []
    assert hrana_server.pipelines(name) == 0  # an empty batch costs nothing


def test_execute_is_one_pipeline_that_closes_its_stream(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    db.execute("SELECT 1")
    stats = hrana_server.stats(name)
    assert stats["pipelines"] == 1
    assert stats["log"] == [{"requests": ["execute", "close"], "sql": ["SELECT 1"]}]


def test_batch_rolls_back_on_sql_error_and_stays_usable(db: RemoteDatabase) -> None:
    with pytest.raises(DatabaseError) as caught:
        db.batch(
            [
                Statement("INSERT INTO parent (id, name) VALUES ('x', 'X')"),
                Statement("SELECT * FROM no_such_table"),
            ]
        )
    assert not isinstance(caught.value, ConstraintError | DatabaseBusyError)
    assert "no such table" in str(caught.value)
    assert db.execute("SELECT count(*) FROM parent").scalar() == 0
    db.batch([Statement("INSERT INTO parent (id, name) VALUES ('y', 'Y')")])
    assert db.execute("SELECT count(*) FROM parent").scalar() == 1


def test_a_statement_that_ends_the_transaction_stops_the_batch(db: RemoteDatabase) -> None:
    """`OR ROLLBACK` ends the transaction mid-batch: the rest must not run in autocommit mode."""
    db.execute("INSERT INTO parent (id, name) VALUES ('a', 'A')")
    with pytest.raises(ConstraintError):
        db.batch(
            [
                Statement("INSERT INTO parent (id, name) VALUES ('b', 'B')"),
                Statement("INSERT OR ROLLBACK INTO parent (id, name) VALUES ('c', 'A')"),
                Statement("INSERT INTO parent (id, name) VALUES ('d', 'D')"),
            ]
        )
    assert db.execute("SELECT id FROM parent ORDER BY id").rows == [("a",)]


def test_constraint_errors_name_the_constraint(db: RemoteDatabase) -> None:
    with pytest.raises(ConstraintError) as fk:
        db.execute("INSERT INTO child (parent_id) VALUES ('missing')")  # foreign keys are on
    assert fk.value.constraint == "foreign_key"
    db.execute("INSERT INTO parent (id, name) VALUES ('p', 'P')")
    with pytest.raises(ConstraintError) as check:
        db.batch([Statement("INSERT INTO child (parent_id, score) VALUES ('p', 101)")])
    assert check.value.constraint == "score_range"
    with pytest.raises(ConstraintError) as not_null:
        db.execute("INSERT INTO parent (id) VALUES ('q')")
    assert not_null.value.constraint is None
    db.execute("INSERT INTO child (parent_id) VALUES ('p')")
    db.execute("DELETE FROM parent WHERE id = 'p'")
    assert db.execute("SELECT count(*) FROM child").scalar() == 0  # ON DELETE CASCADE


def test_sql_errors_are_database_errors_with_the_servers_code(db: RemoteDatabase) -> None:
    with pytest.raises(DatabaseError) as syntax:
        db.execute("SELEKT 1")
    assert type(syntax.value) is DatabaseError
    assert "SQL_PARSE_ERROR" in str(syntax.value)
    with pytest.raises(DatabaseError, match="SQL_MANY_STATEMENTS"):
        db.execute("SELECT 1; SELECT 2")


def test_purge_deleted_is_a_no_op_and_close_is_final(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    db.purge_deleted()
    assert hrana_server.pipelines(name) == 0  # Turso manages storage: nothing to send
    db.close()
    with pytest.raises(DatabaseError, match="closed"):
        db.execute("SELECT 1")


def test_migrations_run_remotely_and_only_once(hrana_server: HranaProcess, name: str) -> None:
    db = RemoteDatabase(hrana_server.url(name), hrana_server.token)
    versions = [m.version for m in load_migrations()]
    assert migrate(db) == versions
    assert migrate(db) == []
    assert applied_versions(db) == set(versions)
    # The FTS5 tables and triggers exist (SQLite >= 3.45 with secure-delete behind the server).
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows}
    assert "schema_migrations" in tables
    db.close()


def test_threads_share_the_client_safely(db: RemoteDatabase) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                db.batch([Statement("INSERT INTO parent (id, name) VALUES (?, ?)", (f"{n}-{i}", f"{n}-{i}"))])
                assert (
                    db.execute("SELECT name FROM parent WHERE id = ?", (f"{n}-{i}",)).scalar() == f"{n}-{i}"
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.execute("SELECT count(*) FROM parent").scalar() == 120


# ---- the network: timeouts, failures, retries ----------------------------------------------------


def test_a_slow_server_times_out_as_busy_and_a_write_is_not_resent(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    slow = RemoteDatabase(hrana_server.url(name), hrana_server.token, timeout=0.3)
    hrana_server.inject(name, {"delay": 1.0})
    started = time.monotonic()
    with pytest.raises(DatabaseBusyError, match=r"no answer within 0\.3s"):
        slow.execute("INSERT INTO parent (id, name) VALUES ('s', 'S')")
    assert time.monotonic() - started < 0.9
    time.sleep(0.9)  # the server finishes the (delayed) write after the client gave up
    assert hrana_server.pipelines(name) == 1  # not resent
    assert db.execute("SELECT count(*) FROM parent").scalar() == 1
    slow.close()


def test_a_timed_out_read_is_not_retried_either(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    slow = RemoteDatabase(hrana_server.url(name), hrana_server.token, timeout=0.3)
    hrana_server.inject(name, {"delay": 1.0})
    with pytest.raises(DatabaseBusyError):
        slow.execute("SELECT 1")  # the time budget is spent: failing fast beats doubling it
    time.sleep(0.8)
    assert hrana_server.pipelines(name) == 1
    slow.close()


def test_server_errors_are_busy_and_only_reads_are_retried(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    hrana_server.inject(name, {"status": 503})
    assert db.execute("SELECT 41 + 1").scalar() == 42  # a read: retried once
    assert hrana_server.pipelines(name) == 2
    hrana_server.reset_stats(name)
    hrana_server.inject(name, {"status": 503}, {"status": 503})
    with pytest.raises(DatabaseBusyError, match="HTTP 503"):
        db.execute("SELECT 1")  # ... but only once
    assert hrana_server.pipelines(name) == 2
    hrana_server.reset_stats(name)
    hrana_server.inject(name, {"status": 503})
    with pytest.raises(DatabaseBusyError, match="HTTP 503"):
        db.batch([Statement("INSERT INTO parent (id, name) VALUES ('w', 'W')")])
    assert hrana_server.pipelines(name) == 1  # a write: never resent
    hrana_server.inject(name, {"status": 500})
    with pytest.raises(DatabaseBusyError):
        db.execute("INSERT INTO parent (id, name) VALUES ('w', 'W')")
    hrana_server.inject(name, {"status": 400})
    with pytest.raises(DatabaseError) as rejected:
        db.execute("SELECT 1")
    assert type(rejected.value) is DatabaseError
    assert db.execute("SELECT count(*) FROM parent").scalar() == 0


def test_a_write_whose_answer_is_lost_is_not_resent(
    db: RemoteDatabase, hrana_server: HranaProcess, name: str
) -> None:
    hrana_server.inject(name, {"drop": "after"})  # executed, then the connection dies unanswered
    with pytest.raises(DatabaseBusyError):
        db.batch([Statement("INSERT INTO parent (id, name) VALUES ('once', 'Once')")])
    assert hrana_server.pipelines(name) == 1
    assert db.execute("SELECT count(*) FROM parent WHERE id = 'once'").scalar() == 1  # applied once
    hrana_server.reset_stats(name)
    hrana_server.inject(name, {"drop": "before"})
    assert db.execute("SELECT name FROM parent").scalar() == "Once"  # a read survives a dropped connection
    assert hrana_server.pipelines(name) == 2


def test_an_unreachable_server_is_busy() -> None:
    db = RemoteDatabase(f"http://127.0.0.1:{_free_port()}", "token", timeout=2)
    started = time.monotonic()
    with pytest.raises(DatabaseBusyError, match="ConnectionRefusedError"):
        db.execute("INSERT INTO t VALUES (1)")  # nothing was sent: retried once, then busy
    assert time.monotonic() - started < 1.5


def test_a_wrong_token_is_an_authentication_error_that_never_shows_the_token(
    hrana_server: HranaProcess, name: str
) -> None:
    db = RemoteDatabase(hrana_server.url(name), "not-the-token-s3cr3t")
    with pytest.raises(DatabaseError) as caught:
        db.execute("SELECT 1")
    assert type(caught.value) is DatabaseError  # not busy: retrying will not help
    assert "HTTP 401" in str(caught.value)
    assert "DATABASE_AUTH_TOKEN" in str(caught.value)
    assert "s3cr3t" not in str(caught.value) + repr(db)
    with pytest.raises(DatabaseError, match="HTTP 401"):
        RemoteDatabase(hrana_server.url(name), None).execute("SELECT 1")
    token_in_url = RemoteDatabase(f"{hrana_server.url(name)}?authToken={hrana_server.token}")
    assert token_in_url.execute("SELECT 1").scalar() == 1  # Turso's URL form of the token
    assert str(hrana_server.token) not in repr(token_in_url)


def test_the_bearer_token_goes_in_the_authorization_header(hrana_server: HranaProcess, name: str) -> None:
    body = json.dumps({"baton": None, "requests": [{"type": "close"}]}).encode()
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{hrana_server.url(name)}/v3/pipeline",
        data=body,
        headers={"Authorization": f"Bearer {hrana_server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert json.loads(response.read()) == {
            "baton": None,
            "base_url": None,
            "results": [{"type": "ok", "response": {"type": "close"}}],
        }


# ---- which URLs reach which driver ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://db.example.com",
        "http://10.0.0.5:8080",
        "http://[2001:db8::1]",
        "http://127.0.0.1.example.com",
    ],
)
def test_plain_http_is_refused_beyond_loopback(url: str) -> None:
    with pytest.raises(DatabaseError, match="refusing plain http"):
        open_database(url, "token")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("libsql://tracker-acme.turso.io", "https://tracker-acme.turso.io:443"),
        ("https://tracker-acme.turso.io", "https://tracker-acme.turso.io:443"),
        ("https://db.example.com:8443/prefix", "https://db.example.com:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:8080", "http://::1:8080"),
    ],
)
def test_remote_urls_open_the_remote_driver(url: str, expected: str) -> None:
    db = open_database(url, "token")
    assert isinstance(db, RemoteDatabase)
    assert repr(db) == f"RemoteDatabase({expected})"
    db.close()


def test_unknown_schemes_and_parameters_are_refused() -> None:
    for url in ("ws://127.0.0.1:8080", "postgres://x", "libsql://"):
        with pytest.raises(DatabaseError):
            open_database(url, "token")
    with pytest.raises(DatabaseError, match="unsupported DATABASE_URL parameters: tls"):
        RemoteDatabase("libsql://x.turso.io?tls=0")


# ---- the test server itself (Hrana conformance the driver does not exercise) --------------------


def _pipeline(server: HranaProcess, name: str, requests: list[Any], baton: str | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{server.url(name)}/v3/pipeline",
        data=json.dumps({"baton": baton, "requests": requests}).encode(),
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.loads(response.read())


def _sql(sql: str) -> dict[str, Any]:
    return {"type": "execute", "stmt": {"sql": sql}}


def test_server_streams_keep_state_across_pipelines_with_a_fresh_baton(
    hrana_server: HranaProcess, name: str
) -> None:
    first = _pipeline(
        hrana_server, name, [_sql("CREATE TABLE t (x)"), _sql("BEGIN"), _sql("INSERT INTO t VALUES (1)")]
    )
    assert [r["type"] for r in first["results"]] == ["ok", "ok", "ok"]
    baton = first["baton"]
    assert baton
    second = _pipeline(
        hrana_server, name, [{"type": "get_autocommit"}, _sql("COMMIT"), {"type": "close"}], baton
    )
    assert second["results"][0]["response"]["is_autocommit"] is False
    assert second["baton"] is None
    with pytest.raises(urllib.error.HTTPError) as stale:
        _pipeline(hrana_server, name, [_sql("SELECT 1")], baton)  # a baton works once
    assert stale.value.code == 400
    third = _pipeline(hrana_server, name, [_sql("SELECT count(*) FROM t"), {"type": "close"}])
    assert third["results"][0]["response"]["result"]["rows"] == [[{"type": "integer", "value": "1"}]]


def test_server_batch_conditions_and_errors(hrana_server: HranaProcess, name: str) -> None:
    steps = [
        {"stmt": {"sql": "SELECT 1"}},
        {"stmt": {"sql": "SELECT nope"}},
        {"condition": {"type": "ok", "step": 1}, "stmt": {"sql": "SELECT 2"}},
        {"condition": {"type": "error", "step": 1}, "stmt": {"sql": "SELECT 3"}},
        {
            "condition": {"type": "or", "conds": [{"type": "ok", "step": 2}, {"type": "is_autocommit"}]},
            "stmt": {"sql": "SELECT 4"},
        },
    ]
    body = _pipeline(hrana_server, name, [{"type": "batch", "batch": {"steps": steps}}, {"type": "close"}])
    result = body["results"][0]["response"]["result"]
    assert [r is not None for r in result["step_results"]] == [True, False, False, True, True]
    assert result["step_errors"][1]["code"] == "SQLITE_UNKNOWN"
    assert "no such column" in result["step_errors"][1]["message"]
    failed = _pipeline(
        hrana_server,
        name,
        [_sql("SELECT * FROM nowhere"), {"type": "sequence", "sql": "SELECT 1; SELECT 2"}, {"type": "close"}],
    )
    assert failed["results"][0]["type"] == "error"
    assert failed["results"][1]["type"] == "ok"
