"""The session check rides in each unit of work of an authenticated request (common.security).

The access token is verified without the database; whether its session is still live is proven by
the first statement of every batch the request runs. These tests pin what that must guarantee: a
dead session reads nothing and writes nothing (even when it dies between the token check and the
write), an unbound database is untouched, and no authenticated route can skip the check.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from common.clock import utc_now_iso
from common.db import Statement, get_database
from common.errors import UnauthorizedError
from common.security import Principal, SessionBoundDatabase
from common.web import current_principal, db_dependency
from tests.conftest import bearer, register
from tests.problems import assert_unauthorized


def principal_of(tokens: dict[str, Any]) -> Principal:
    import jwt

    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    return Principal(user_id=claims["sub"], session_id=claims["sid"])


def revoke_all_sessions(user_id: str) -> None:
    get_database().execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ?", (utc_now_iso(), user_id))


def headline_of(user_id: str) -> str | None:
    return get_database().execute("SELECT headline FROM profiles WHERE user_id = ?", (user_id,)).scalar()


def save_headline(user_id: str, headline: str) -> Statement:
    return Statement(
        "INSERT INTO profiles (user_id, headline, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET headline = excluded.headline",
        (user_id, headline, utc_now_iso()),
    )


def test_a_live_session_reads_and_writes(client: TestClient) -> None:
    tokens = register(client)
    principal = principal_of(tokens)
    db = SessionBoundDatabase(get_database())
    db.bind(principal)
    db.batch([save_headline(principal.user_id, "Engineer")])
    assert db.execute("SELECT headline FROM profiles WHERE user_id = ?", (principal.user_id,)).all() == [
        {"headline": "Engineer"}
    ]


def test_a_session_revoked_after_its_token_was_checked_cannot_write(client: TestClient) -> None:
    """The token is valid and was accepted; the session ends before the route's write: the write's
    own batch refuses it, atomically, with 401."""
    tokens = register(client)
    principal = principal_of(tokens)
    db = SessionBoundDatabase(get_database())
    db.bind(principal)
    revoke_all_sessions(principal.user_id)
    with pytest.raises(UnauthorizedError):
        db.batch([save_headline(principal.user_id, "A"), save_headline(principal.user_id, "B")])
    with pytest.raises(UnauthorizedError):
        db.execute(*_sql(save_headline(principal.user_id, "C")))
    assert headline_of(principal.user_id) is None


def test_a_dead_session_reads_nothing(client: TestClient) -> None:
    tokens = register(client)
    principal = principal_of(tokens)
    get_database().batch([save_headline(principal.user_id, "Engineer")])
    db = SessionBoundDatabase(get_database())
    db.bind(principal)
    revoke_all_sessions(principal.user_id)
    with pytest.raises(UnauthorizedError):
        db.execute("SELECT headline FROM profiles WHERE user_id = ?", (principal.user_id,))
    with pytest.raises(UnauthorizedError):
        db.batch([Statement("SELECT count(*) FROM profiles WHERE user_id = ?", (principal.user_id,))])


def test_a_session_of_another_user_does_not_vouch(client: TestClient) -> None:
    """The guard matches the session to the user: Ada's live session id cannot front Bob's user id."""
    ada = principal_of(register(client))
    bob = principal_of(register(client, "bob@example.com", "Bob"))
    db = SessionBoundDatabase(get_database())
    db.bind(Principal(user_id=bob.user_id, session_id=ada.session_id))
    with pytest.raises(UnauthorizedError):
        db.batch([save_headline(bob.user_id, "Engineer")])
    assert headline_of(bob.user_id) is None


def test_the_guard_stores_nothing(client: TestClient) -> None:
    tokens = register(client)
    db = SessionBoundDatabase(get_database())
    db.bind(principal_of(tokens))
    for _ in range(3):
        db.batch([Statement("UPDATE users SET name = name WHERE id = ?", (principal_of(tokens).user_id,))])
    assert get_database().execute("SELECT count(*) FROM session_guard").scalar() == 0


def test_an_unbound_database_passes_statements_through(client: TestClient) -> None:
    db = SessionBoundDatabase(get_database())
    assert db.execute("SELECT 1 AS one").all() == [{"one": 1}]
    assert [r.scalar() for r in db.batch([Statement("SELECT 2"), Statement("SELECT 3")])] == [2, 3]


def test_logout_ends_access_for_reads_and_writes_over_http(client: TestClient) -> None:
    tokens = register(client)
    headers = bearer(tokens)
    assert (
        client.post("/v1/opportunities", json={"company": "Acme", "role": "Eng"}, headers=headers).status_code
        == 201
    )
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert_unauthorized(client.get("/v1/opportunities", headers=headers))
    assert_unauthorized(
        client.post("/v1/opportunities", json={"company": "B", "role": "Eng"}, headers=headers)
    )
    assert_unauthorized(client.put("/v1/me/profile", json={"headline": "x"}, headers=headers))
    user_id = principal_of(tokens).user_id
    count = (
        get_database().execute("SELECT count(*) FROM opportunities WHERE user_id = ?", (user_id,)).scalar()
    )
    assert count == 1


def _dependencies(route: APIRoute) -> set[Any]:
    found: set[Any] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call is not None:
            found.add(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def test_every_authenticated_route_runs_its_statements_through_the_session_guard(app: Any) -> None:
    """current_principal binds the request's database; a route that took the principal but reached the
    database another way (or not at all) would never check the session. So every route that depends on
    current_principal must also take the request's database (the `Db` dependency)."""
    from fastapi import routing

    iterate = getattr(routing, "iter_route_contexts", None)  # FastAPI >= 0.165 nests included routers
    entries = list(iterate(app.routes)) if iterate else list(app.routes)
    routes = [getattr(entry, "original_route", entry) for entry in entries]
    authenticated = [r for r in routes if isinstance(r, APIRoute) and current_principal in _dependencies(r)]
    assert len(authenticated) >= 30
    for route in authenticated:
        params = {dep.call for dep in route.dependant.dependencies}
        assert db_dependency in params, f"{sorted(route.methods)} {route.path} takes no `Db`"


def _sql(statement: Statement) -> tuple[str, Any]:
    return statement.sql, statement.params


def test_a_dead_session_gets_401_even_when_its_request_is_otherwise_wrong(client: TestClient) -> None:
    """The session is checked in the route's own unit of work; an answer produced before one runs (a
    422 on the body, a 503 for an unconfigured provider) checks it first, so 401 still wins."""
    tokens = register(client)
    headers = bearer(tokens)
    assert client.post("/v1/opportunities", json={}, headers=headers).status_code == 422  # live: 422
    revoke_all_sessions(principal_of(tokens).user_id)
    assert_unauthorized(client.post("/v1/opportunities", json={}, headers=headers))
    assert_unauthorized(client.get("/v1/opportunities?limit=0", headers=headers))
    assert_unauthorized(client.post("/v1/me/calendar/sync", headers=headers))  # Google not configured
