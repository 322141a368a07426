"""The embedded database adapter: results, atomic batches, typed errors, pragmas, threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from common.db import ConstraintError, DatabaseError, Statement
from common.db.embedded import EmbeddedDatabase


@pytest.fixture
def db(tmp_path: Path) -> EmbeddedDatabase:
    database = EmbeddedDatabase(str(tmp_path / "t.db"))
    database.execute("CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    database.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id TEXT NOT NULL "
        "REFERENCES parent(id) ON DELETE CASCADE, data BLOB, score REAL)"
    )
    return database


def test_execute_returns_columns_rows_and_affected_counts(db: EmbeddedDatabase) -> None:
    inserted = db.execute("INSERT INTO parent (id, name) VALUES (?, ?), (?, ?)", ("a", "A", "b", "B"))
    assert inserted.rows_affected == 2
    result = db.execute("SELECT id, name FROM parent ORDER BY id")
    assert result.columns == ("id", "name")
    assert result.all() == [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]
    assert result.first() == {"id": "a", "name": "A"}
    assert db.execute("SELECT count(*) FROM parent").scalar() == 2
    assert db.execute("SELECT id FROM parent WHERE id = 'zz'").first() is None


def test_column_names_follow_the_statement_and_a_star_follows_the_schema(db: EmbeddedDatabase) -> None:
    """Names are remembered by statement text; a `*` expands to the columns the table has now."""
    db.execute("INSERT INTO parent (id, name) VALUES ('a', 'A')")
    for _ in range(2):  # the second time from what the first remembered
        assert db.execute("SELECT id, name AS label FROM parent").all() == [{"id": "a", "label": "A"}]
        assert db.execute("SELECT name, id FROM parent").columns == ("name", "id")
        assert db.execute("SELECT count(*) FROM parent").columns == ("count(*)",)
        assert db.execute("UPDATE parent SET name = name").rows_affected == 1
        assert db.execute("SELECT id FROM parent WHERE id = 'none'").columns == ("id",)
    assert db.execute("SELECT * FROM parent").all() == [{"id": "a", "name": "A"}]
    db.execute("ALTER TABLE parent ADD COLUMN note TEXT")
    assert db.execute("SELECT * FROM parent").all() == [{"id": "a", "name": "A", "note": None}]
    assert db.batch([Statement("SELECT p.* FROM parent AS p")])[0].columns == ("id", "name", "note")


def test_values_round_trip_by_type(db: EmbeddedDatabase) -> None:
    db.execute("INSERT INTO parent (id, name) VALUES ('p', 'P')")
    db.execute("INSERT INTO child (parent_id, data, score) VALUES (?, ?, ?)", ("p", b"\x00\xff binary", 2.5))
    row = db.execute("SELECT data, score, id FROM child").first()
    assert row == {"data": b"\x00\xff binary", "score": 2.5, "id": 1}


def test_batch_is_atomic(db: EmbeddedDatabase) -> None:
    db.execute("INSERT INTO parent (id, name) VALUES ('a', 'A')")
    with pytest.raises(ConstraintError):
        db.batch(
            [
                Statement("INSERT INTO parent (id, name) VALUES ('b', 'B')"),
                Statement("UPDATE parent SET name = 'changed' WHERE id = 'a'"),
                Statement("INSERT INTO parent (id, name) VALUES ('c', 'B')"),  # UNIQUE violation
            ]
        )
    assert db.execute("SELECT id, name FROM parent").all() == [{"id": "a", "name": "A"}]
    results = db.batch(
        [
            Statement("INSERT INTO parent (id, name) VALUES ('b', 'B')"),
            Statement("SELECT count(*) AS n FROM parent"),
        ]
    )
    assert results[0].rows_affected == 1
    assert results[1].scalar() == 2


def test_batch_rolls_back_on_sql_error_and_connection_stays_usable(db: EmbeddedDatabase) -> None:
    with pytest.raises(DatabaseError) as caught:
        db.batch(
            [
                Statement("INSERT INTO parent (id, name) VALUES ('x', 'X')"),
                Statement("SELECT * FROM no_such_table"),
            ]
        )
    assert not isinstance(caught.value, ConstraintError)
    assert db.execute("SELECT count(*) FROM parent").scalar() == 0
    db.batch([Statement("INSERT INTO parent (id, name) VALUES ('y', 'Y')")])
    assert db.execute("SELECT count(*) FROM parent").scalar() == 1


def test_pragmas_foreign_keys_cascade_secure_delete_wal(db: EmbeddedDatabase) -> None:
    assert db.execute("PRAGMA foreign_keys").scalar() == 1
    assert db.execute("PRAGMA secure_delete").scalar() == 1
    assert db.execute("PRAGMA journal_mode").scalar() == "wal"
    with pytest.raises(ConstraintError):
        db.execute("INSERT INTO child (parent_id) VALUES ('missing')")
    db.execute("INSERT INTO parent (id, name) VALUES ('p', 'P')")
    db.execute("INSERT INTO child (parent_id) VALUES ('p')")
    db.execute("DELETE FROM parent WHERE id = 'p'")
    assert db.execute("SELECT count(*) FROM child").scalar() == 0


def test_deleted_text_does_not_linger_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secure.db"
    db = EmbeddedDatabase(str(path))
    db.execute("CREATE TABLE t (secret TEXT)")
    marker = "very-distinctive-secret-" * 20
    db.execute("INSERT INTO t VALUES (?)", (marker,))
    db.execute("DELETE FROM t")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    raw = path.read_bytes() + (
        path.with_name("secure.db-wal").read_bytes() if path.with_name("secure.db-wal").exists() else b""
    )
    assert marker.encode() not in raw


def test_threads_share_the_database_safely(db: EmbeddedDatabase) -> None:
    """Many threads writing at once: no lost write, no 'database is locked' (libsql holds the GIL
    in SQLite's busy handler, so in-process contention inside SQLite would deadlock until timeout)."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(40):
                db.batch(
                    [
                        Statement("INSERT INTO parent (id, name) VALUES (?, ?)", (f"{n}-{i}", f"{n}-{i}")),
                        Statement("SELECT count(*) FROM parent"),
                    ]
                )
                db.execute("SELECT name FROM parent WHERE id = ?", (f"{n}-{i}",))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.execute("SELECT count(*) FROM parent").scalar() == 320
    assert time.monotonic() - started < 10  # far below busy_timeout: nobody waited inside SQLite
