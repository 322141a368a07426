"""Migrations: ordered, applied once, atomic each, safe when processes race."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from common.db import DatabaseError
from common.db.embedded import EmbeddedDatabase
from common.db.migrate import Migration, applied_versions, load_migrations, migrate, split_statements


def test_split_keeps_trigger_bodies_and_skips_comments() -> None:
    script = textwrap.dedent(
        """
        -- a comment
        CREATE TABLE a (x INTEGER);

        CREATE TRIGGER t AFTER INSERT ON a BEGIN
            UPDATE a SET x = x + 1;
            SELECT 1;
        END;
        INSERT INTO a VALUES (';');
        """
    )
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END")
    assert statements[2] == "INSERT INTO a VALUES (';')"


def test_split_rejects_an_unterminated_statement() -> None:
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE a (x INTEGER);\nCREATE TABLE b (")


def test_shipped_migrations_are_numbered_consecutively() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_migrate_applies_once(tmp_path: Path) -> None:
    db = EmbeddedDatabase(str(tmp_path / "m.db"))
    first = migrate(db)
    assert first == [m.version for m in load_migrations()]
    assert migrate(db) == []
    assert applied_versions(db) == set(first)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows}
    assert {"users", "sessions", "refresh_tokens", "login_failures", "schema_migrations"} <= tables


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    db = EmbeddedDatabase(str(tmp_path / "m.db"))
    good = Migration(1, "good", ("CREATE TABLE kept (x INTEGER)",))
    bad = Migration(2, "bad", ("CREATE TABLE half (x INTEGER)", "INSERT INTO missing VALUES (1)"))
    with pytest.raises(DatabaseError):
        migrate(db, [good, bad])
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows}
    assert "kept" in tables
    assert "half" not in tables
    assert applied_versions(db) == {1}


def test_racing_processes_apply_each_migration_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    code = textwrap.dedent(
        f"""
        from common.db.embedded import EmbeddedDatabase
        from common.db.migrate import migrate
        print(",".join(map(str, migrate(EmbeddedDatabase({str(path)!r})))))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    applied = [int(v) for out, _ in outputs for v in out.strip().split(",") if v]
    expected = [m.version for m in load_migrations()]
    assert sorted(applied) == expected  # every version applied by exactly one process
    assert applied_versions(EmbeddedDatabase(str(path))) == set(expected)
