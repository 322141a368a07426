"""Every list the records repository builds is one index seek to the caller's rows, already in the list's
order (no sort of the rows), and a cursor page seeks to its position instead of walking the rows before it.

The plans are SQLite's own (EXPLAIN QUERY PLAN on the shipped schema); the schema keeps no statistics, so
they are the plans every database gets. A lost index or a keyset predicate the planner cannot use shows
here, not as a list that is slow only for a user with thousands of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from common.db import Statement
from common.db.embedded import EmbeddedDatabase
from common.db.migrate import migrate
from records import repository as repo

USER = "u1"
# A cursor position: (sort key, id), as PageRequest.page encodes it.
POSITION = ["2026-01-01T00:00:00.000000Z", "01abc"]

Build = Callable[[Sequence[Any] | None], Statement]


def _opportunities(sort: str, status: str | None = None) -> Build:
    return lambda position: repo.list_opportunities(
        user_id=USER,
        archived=False,
        status=status,
        tag=None,
        match=None,
        keyset=repo.OPPORTUNITY_SORTS[sort],
        position=position,
        limit=51,
    )


def _activity(opportunity_id: str | None = None, kind: str | None = None) -> Build:
    return lambda position: repo.list_activity(
        user_id=USER, opportunity_id=opportunity_id, kind=kind, position=position, limit=51
    )


def _notes(**links: str | None) -> Build:
    return lambda position: repo.list_notes(user_id=USER, links=links, position=position, limit=51)


def _interviews(opportunity_id: str | None = None) -> Build:
    return lambda position: repo.list_interviews(
        user_id=USER,
        opportunity_id=opportunity_id,
        start=None,
        end=None,
        outcome=None,
        position=position,
        limit=51,
    )


def _contacts() -> Build:
    return lambda position: repo.list_contacts(
        user_id=USER, q=None, opportunity_id=None, position=position, limit=51
    )


# list -> (its statement, the index constraint its seek must carry besides the user id)
LISTS: dict[str, tuple[Build, str]] = {
    **{f"opportunities sort={sort}": (_opportunities(sort), "archived=?") for sort in repo.OPPORTUNITY_SORTS},
    "opportunities status=": (_opportunities("updated_at", status="applied"), "status=?"),
    "activity": (_activity(), "user_id=?"),
    "activity opportunity_id=": (_activity(opportunity_id="o1"), "opportunity_id=?"),
    "activity kind=": (_activity(kind="email"), "kind=?"),
    "notes": (_notes(), "user_id=?"),
    "notes opportunity_id=": (_notes(opportunity_id="o1"), "opportunity_id=?"),
    "notes interview_id=": (_notes(interview_id="i1"), "interview_id=?"),
    "notes contact_id=": (_notes(contact_id="c1"), "contact_id=?"),
    "interviews": (_interviews(), "user_id=?"),
    "interviews opportunity_id=": (_interviews(opportunity_id="o1"), "opportunity_id=?"),
    "contacts": (_contacts(), "user_id=?"),
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedDatabase:
    database = EmbeddedDatabase(str(Path(tmp_path_factory.mktemp("plans")) / "plans.db"))
    migrate(database)
    return database


def _plan(db: EmbeddedDatabase, statement: Statement) -> list[str]:
    """The top-level steps of the statement's plan (a correlated subquery's own steps are left out)."""
    rows = db.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.params).rows
    return [row[-1] for row in rows if row[1] == 0]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("page", ["first page", "cursor page"])
def test_a_list_is_one_seek_in_its_own_order(db: EmbeddedDatabase, name: str, page: str) -> None:
    build, constraint = LISTS[name]
    steps = _plan(db, build(None if page == "first page" else POSITION))
    searches = [step for step in steps if step.startswith("SEARCH ")]
    assert len(searches) == 1, steps
    assert "USING INDEX" in searches[0] and "(user_id=?" in searches[0], steps
    assert constraint in searches[0], steps
    assert not any("TEMP B-TREE" in step for step in steps), steps


@pytest.mark.parametrize("name", LISTS)
def test_a_cursor_page_seeks_to_its_position(db: EmbeddedDatabase, name: str) -> None:
    build, _ = LISTS[name]
    (search,) = [step for step in _plan(db, build(POSITION)) if step.startswith("SEARCH ")]
    seek = search[search.index("(") :]
    # The sort key's bound is part of the seek ("occurred_at<?", "<expr><?", "(name_key,id)>(?,?)"), not a
    # filter on rows the seek walks from the list's first row.
    assert any(bound in seek for bound in ("<?", ">?", "<(?", ">(?")), search
