"""Numbered SQL migrations (common/migrations/NNNN_name.sql), applied in order, each exactly once.

Each migration runs as one atomic batch together with its bookkeeping row. When two processes race,
the loser's batch fails as a whole (the table exists / the version row exists) and it re-reads what
is applied; nothing is applied twice or half.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from common.clock import utc_now_iso
from common.db import Database, DatabaseError, Statement

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BOOKKEEPING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip().rstrip(";").strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement at end of script: {buffer[:80]!r}")
    return statements


def load_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("common.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(int(match.group(1)), match.group(2), tuple(split_statements(entry.read_text())))
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("duplicate migration version")
    return found


def applied_versions(db: Database) -> set[int]:
    return {row[0] for row in db.execute("SELECT version FROM schema_migrations").rows}


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[int]:
    """Apply every pending migration; returns the versions this call applied."""
    db.execute(_BOOKKEEPING)
    done = applied_versions(db)
    applied: list[int] = []
    for migration in load_migrations() if migrations is None else migrations:
        if migration.version in done:
            continue
        record = Statement(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, utc_now_iso()),
        )
        try:
            db.batch([*(Statement(sql) for sql in migration.statements), record])
        except DatabaseError:
            # Another process may have applied it meanwhile; anything else is a real failure.
            if migration.version not in applied_versions(db):
                raise
            continue
        applied.append(migration.version)
    return applied


def main() -> None:
    from common.db import get_database
    from common.settings import get_settings

    settings = get_settings()
    get_database.cache_clear()
    db = get_database()  # migrates on open
    versions = sorted(applied_versions(db))
    version = versions[-1] if versions else 0
    print(f"database {settings.DATABASE_URL.split('?')[0]}: schema at version {version}")


if __name__ == "__main__":
    main()
