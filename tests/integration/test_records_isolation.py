"""Tenant isolation of the records routes, generated from the app's own route table (API.md, Conventions:
"Another user's resource is indistinguishable from a missing one"; records design, General).

Every route with a path parameter is called by user B with user A's id and must answer exactly as for an id
that does not exist, and change nothing. A new `{id}` route fails `test_every_id_route_has_a_factory` until
a factory for its resource is added below, so no route can be forgotten.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import routing
from fastapi.testclient import TestClient

from common.db import get_database
from common.settings import get_settings
from local.app import build_app
from tests.conftest import bearer, register
from tests.problems import assert_unauthorized
from tests.records import (
    assert_invalid,
    assert_not_found,
    case,
    create_activity,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
    ids,
    list_all,
)

PATH_PARAMETER = re.compile(r"\{[^}]+\}")
MARKER = "alice-secret-7f3a9c"  # in every text A stores: it must never show up in a response to B

# Routes that take no bearer token by contract (API.md, Conventions), or authenticate otherwise.
PUBLIC = (
    re.compile(r"^/v1/health$"),
    re.compile(r"^/\.well-known/"),
    re.compile(r"^/v1/auth/(?!logout$)"),
    re.compile(r"^/v1/exports/[^/]+/download$"),  # signed URL, no bearer token
    re.compile(r"^/v1/(openapi\.json|docs)"),
)
# The records routes API.md defines; the route table must serve at least these.
RECORDS_ID_ROUTES = {
    (method, f"/v1/{collection}/{{id}}")
    for collection in ("opportunities", "interviews", "contacts", "notes")
    for method in ("GET", "PATCH", "DELETE")
}
RECORDS_LIST_ROUTES = {
    f"/v1/{name}" for name in ("opportunities", "interviews", "contacts", "notes", "activity")
}


def all_routes() -> list[tuple[str, str]]:
    """(METHOD, path) of every API route the local app serves, from its route table."""
    app = build_app()
    # FastAPI >= 0.165 keeps an included router as one entry of `app.routes`; iter_route_contexts yields
    # its routes with their effective paths. Older versions list the routes themselves.
    iterate = getattr(routing, "iter_route_contexts", None)
    entries = list(iterate(app.routes)) if iterate else list(app.routes)
    found = {
        (method.upper(), entry.path)
        for entry in entries
        if isinstance(getattr(entry, "original_route", entry), routing.APIRoute)
        for method in entry.methods or ()
        if method.upper() != "HEAD"
    }
    return sorted(found, key=lambda r: (r[1], ["GET", "POST", "PUT", "PATCH", "DELETE"].index(r[0])))


def is_public(path: str) -> bool:
    return any(pattern.search(path) for pattern in PUBLIC)


def fill(path: str, value: str) -> str:
    return PATH_PARAMETER.sub(value, path)


# ---- A's resources: one factory per collection that has `{id}` routes ---------------------------


@dataclass
class Owned:
    """A resource of A's, and where A reads it back."""

    id: str
    path: str


Factory = Callable[[TestClient, dict[str, str]], Owned]


def make_opportunity(client: TestClient, headers: dict[str, str]) -> Owned:
    created = create_opportunity(client, headers, company=f"Acme {MARKER}", role="Engineer", tags=[MARKER])
    return Owned(created["id"], f"/v1/opportunities/{created['id']}")


def make_interview(client: TestClient, headers: dict[str, str]) -> Owned:
    opportunity = create_opportunity(client, headers, company=f"Acme {MARKER}", role="Engineer")
    created = create_interview(
        client, headers, opportunity["id"], title=f"Screen {MARKER}", scheduled_at="2030-01-02T10:00:00Z"
    )
    return Owned(created["id"], f"/v1/interviews/{created['id']}")


def make_contact(client: TestClient, headers: dict[str, str]) -> Owned:
    opportunity = create_opportunity(client, headers, company=f"Acme {MARKER}", role="Engineer")
    created = create_contact(client, headers, name=f"Carol {MARKER}", opportunity_ids=[opportunity["id"]])
    return Owned(created["id"], f"/v1/contacts/{created['id']}")


def make_note(client: TestClient, headers: dict[str, str]) -> Owned:
    opportunity = create_opportunity(client, headers, company=f"Acme {MARKER}", role="Engineer")
    created = create_note(client, headers, body=f"Note {MARKER}", opportunity_id=opportunity["id"])
    return Owned(created["id"], f"/v1/notes/{created['id']}")


# Path prefix -> the factory of the resource its `{id}` names (longest prefix wins). Sub-resources such as
# /v1/interviews/{id}/prep are about the interview, so the interview factory serves them.
FACTORIES: dict[str, Factory] = {
    "/v1/opportunities/": make_opportunity,
    "/v1/interviews/": make_interview,
    "/v1/contacts/": make_contact,
    "/v1/notes/": make_note,
}
# A body that passes validation, so that the ownership check is what answers.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "/v1/opportunities/": {"company": "Hijacked", "status": "rejected", "archived": True},
    "/v1/interviews/": {"title": "Hijacked", "outcome": "cancelled"},
    "/v1/contacts/": {"name": "Hijacked", "opportunity_ids": []},
    "/v1/notes/": {"body": "Hijacked"},
}


def prefix_of(path: str) -> str | None:
    matches = [prefix for prefix in FACTORIES if path.startswith(prefix)]
    return max(matches, key=len) if matches else None


def id_routes() -> list[tuple[str, str]]:
    return [
        (method, path) for method, path in all_routes() if PATH_PARAMETER.search(path) and not is_public(path)
    ]


def read(client: TestClient, headers: dict[str, str], owned: Owned) -> dict[str, Any]:
    response = client.get(owned.path, headers=headers)
    assert response.status_code == 200, (owned.path, response.text)
    return dict(response.json())


def row_counts() -> dict[str, int]:
    db = get_database()
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows]
    return {name: int(db.execute(f'SELECT count(*) FROM "{name}"').scalar()) for name in names}


@dataclass
class Users:
    a: dict[str, str]
    b: dict[str, str]
    a_user_id: str


@pytest.fixture
def users(client: TestClient) -> Users:
    alice = register(client, email="alice@example.com", name="Alice")
    bob = register(client, email="bob@example.com", name="Bob")
    return Users(a=bearer(alice), b=bearer(bob), a_user_id=alice["user"]["id"])


# ---- the generated matrix ----------------------------------------------------------------------


def test_every_id_route_has_a_factory() -> None:
    routes = id_routes()
    assert set(routes) >= RECORDS_ID_ROUTES, sorted(RECORDS_ID_ROUTES - set(routes))
    missing = sorted(f"{method} {path}" for method, path in routes if prefix_of(path) is None)
    assert not missing, f"add a factory to FACTORIES for the resource these routes name: {missing}"
    several = sorted(path for _, path in routes if len(PATH_PARAMETER.findall(path)) != 1)
    assert not several, f"routes with several path parameters need their own factory: {several}"


def check_route(client: TestClient, users: Users, method: str, path: str) -> None:
    """B calls one `{id}` route with A's id: the answer is the one for a missing id, and nothing changes."""
    prefix = prefix_of(path)
    assert prefix is not None, f"no factory for {method} {path}: add one to FACTORIES"
    owned = FACTORIES[prefix](client, users.a)
    bobs = FACTORIES[prefix](client, users.b)
    body = VALID_BODIES[prefix] if method in ("PATCH", "PUT") else None

    def call(resource_id: str) -> Any:
        return client.request(method, fill(path, resource_id), json=body, headers=users.b)

    # The same route on B's own resource is served (so the 404 below is about ownership, not the route).
    if method in ("GET", "PATCH", "PUT") and path.count("/") == 3:
        assert call(bobs.id).status_code == 200, call(bobs.id).text
    before = read(client, users.a, owned)
    counts = row_counts()
    foreign = call(owned.id)
    missing = call(uuid.uuid4().hex)
    assert_not_found(foreign)
    assert_not_found(missing)
    assert foreign.json() == missing.json()
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    # A's resource is untouched and B's attempt wrote nothing anywhere.
    assert read(client, users.a, owned) == before
    assert row_counts() == counts


def check_indistinguishable(client: TestClient, users: Users, method: str, path: str) -> None:
    """Whatever a route answers for a missing id (e.g. 503 while a feature is not configured), it answers
    the same for A's id, and changes nothing."""
    prefix = prefix_of(path)
    assert prefix is not None, f"no factory for {method} {path}: add one to FACTORIES"
    owned = FACTORIES[prefix](client, users.a)
    body = VALID_BODIES[prefix] if method in ("PATCH", "PUT") else None
    before, counts = read(client, users.a, owned), row_counts()
    foreign = client.request(method, fill(path, owned.id), json=body, headers=users.b)
    missing = client.request(method, fill(path, uuid.uuid4().hex), json=body, headers=users.b)
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert foreign.status_code >= 400
    assert read(client, users.a, owned) == before
    assert row_counts() == counts


def run_matrix(
    client: TestClient, users: Users, check: Callable[[TestClient, Users, str, str], None]
) -> None:
    routes = id_routes()
    assert set(routes) >= RECORDS_ID_ROUTES
    failures: list[str] = []
    for method, path in routes:
        with case(failures, f"{method} {path}"):
            check(client, users, method, path)
    assert not failures, "\n".join(failures)


@pytest.fixture
def all_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every optional feature configured (an AI provider for prep, pointing nowhere: no job is ever queued
    by these tests), so that each route answers about the resource rather than about its own availability."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()


@pytest.mark.usefixtures("all_features")
def test_another_users_id_is_indistinguishable_from_a_missing_one(client: TestClient, users: Users) -> None:
    run_matrix(client, users, check_route)


def test_foreign_ids_look_missing_even_when_a_feature_is_not_configured(
    client: TestClient, users: Users
) -> None:
    run_matrix(client, users, check_indistinguishable)


@pytest.mark.usefixtures("all_features")
def test_b_cannot_change_or_delete_any_of_as_resources(client: TestClient, users: Users) -> None:
    """Every PATCH/PUT/DELETE `{id}` route in turn, then A re-reads every resource it owns."""
    owned = {prefix: factory(client, users.a) for prefix, factory in FACTORIES.items()}
    before = {prefix: read(client, users.a, item) for prefix, item in owned.items()}
    counts = row_counts()
    writes = [(m, p) for m, p in id_routes() if m in ("PATCH", "PUT", "DELETE", "POST")]
    assert {(m, p) for m, p in RECORDS_ID_ROUTES if m != "GET"} <= set(writes)
    for method, path in writes:
        prefix = prefix_of(path)
        assert prefix is not None, path
        body = VALID_BODIES[prefix] if method in ("PATCH", "PUT") else None
        assert_not_found(client.request(method, fill(path, owned[prefix].id), json=body, headers=users.b))
    for prefix, item in owned.items():
        assert read(client, users.a, item) == before[prefix], prefix
    assert row_counts() == counts


# ---- lists -------------------------------------------------------------------------------------


def list_routes() -> list[str]:
    return [
        path
        for method, path in all_routes()
        if method == "GET" and not PATH_PARAMETER.search(path) and not is_public(path)
    ]


@pytest.fixture
def alice_world(client: TestClient, users: Users) -> dict[str, str]:
    """One of everything for A, each carrying MARKER in its text."""
    opportunity = create_opportunity(
        client, users.a, company=f"Acme {MARKER}", role="Engineer", status="applied", tags=[MARKER]
    )
    soon = "2030-01-01T09:00:00Z"
    interview = create_interview(
        client, users.a, opportunity["id"], title=f"Screen {MARKER}", scheduled_at=soon
    )
    contact = create_contact(
        client, users.a, name=f"Carol {MARKER}", company=MARKER, opportunity_ids=[opportunity["id"]]
    )
    note = create_note(
        client,
        users.a,
        body=f"Note {MARKER}",
        opportunity_id=opportunity["id"],
        interview_id=interview["id"],
        contact_id=contact["id"],
    )
    activity = create_activity(client, users.a, summary=f"Email {MARKER}", opportunity_id=opportunity["id"])
    response = client.put("/v1/me/profile", json={"headline": f"Headline {MARKER}"}, headers=users.a)
    assert response.status_code == 200, response.text
    return {
        "opportunity_id": opportunity["id"],
        "interview_id": interview["id"],
        "contact_id": contact["id"],
        "note_id": note["id"],
        "activity_id": activity["id"],
    }


def test_no_list_or_summary_route_shows_b_anything_of_as(
    client: TestClient, users: Users, alice_world: dict[str, str]
) -> None:
    secrets = [MARKER, users.a_user_id, *alice_world.values()]
    routes = list_routes()
    assert RECORDS_LIST_ROUTES <= set(routes), routes
    # Sanity: A sees its own things on these routes (so an empty answer to B is meaningful).
    for path in RECORDS_LIST_ROUTES:
        assert list_all(client, users.a, path), path
    for path in routes:
        response = client.get(path, headers=users.b)
        assert response.status_code == 200, (path, response.text)
        text = response.text.lower()
        for secret in secrets:
            assert secret.lower() not in text, (path, secret)
        if path in RECORDS_LIST_ROUTES:
            assert response.json()["items"] == [], path
    stats = client.get("/v1/stats", headers=users.b).json()
    assert set(stats["by_status"].values()) == {0}
    assert stats["upcoming_interviews"] == []
    assert stats["response_rate"] is None
    # Filters naming A's ids, and searches for A's text, match nothing of A's.
    filters = {
        "/v1/opportunities": [{"q": MARKER}, {"tag": MARKER}, {"status": "applied"}],
        "/v1/interviews": [{"opportunity_id": alice_world["opportunity_id"]}],
        "/v1/contacts": [{"opportunity_id": alice_world["opportunity_id"]}, {"q": MARKER}],
        "/v1/notes": [
            {"opportunity_id": alice_world["opportunity_id"]},
            {"interview_id": alice_world["interview_id"]},
            {"contact_id": alice_world["contact_id"]},
        ],
        "/v1/activity": [{"opportunity_id": alice_world["opportunity_id"]}, {"kind": "email"}],
    }
    for path, variants in filters.items():
        for params in variants:
            assert list_all(client, users.b, path, **params) == [], (path, params)
            assert list_all(client, users.a, path, **params), (path, params)  # A's own filter does match


# ---- links from B's bodies to A's ids ----------------------------------------------------------


def test_linking_as_ids_from_bs_bodies_is_422_and_writes_nothing(
    client: TestClient, users: Users, alice_world: dict[str, str]
) -> None:
    b_opportunity = create_opportunity(client, users.b, company="Bob's Burgers", role="Cook")
    b_interview = create_interview(client, users.b, b_opportunity["id"])
    b_contact = create_contact(client, users.b, name="Linda", opportunity_ids=[b_opportunity["id"]])
    b_note = create_note(client, users.b, body="Fries", opportunity_id=b_opportunity["id"])
    b_paths = [
        f"/v1/opportunities/{b_opportunity['id']}",
        f"/v1/interviews/{b_interview['id']}",
        f"/v1/contacts/{b_contact['id']}",
        f"/v1/notes/{b_note['id']}",
    ]
    a_paths = [
        f"/v1/opportunities/{alice_world['opportunity_id']}",
        f"/v1/interviews/{alice_world['interview_id']}",
        f"/v1/contacts/{alice_world['contact_id']}",
        f"/v1/notes/{alice_world['note_id']}",
    ]
    b_before = [client.get(path, headers=users.b).json() for path in b_paths]
    a_before = [client.get(path, headers=users.a).json() for path in a_paths]
    a_activity = list_all(client, users.a, "/v1/activity", limit=200)
    b_activity = list_all(client, users.b, "/v1/activity", limit=200)
    counts = row_counts()
    a_opportunity = alice_world["opportunity_id"]
    attempts: list[tuple[str, str, dict[str, Any], list[Any]]] = [
        ("POST", "/v1/interviews", {"opportunity_id": a_opportunity}, ["body", "opportunity_id"]),
        ("PATCH", b_paths[1], {"opportunity_id": a_opportunity}, ["body", "opportunity_id"]),
        (
            "POST",
            "/v1/contacts",
            {"name": "Sneaky", "opportunity_ids": [b_opportunity["id"], a_opportunity]},
            ["body", "opportunity_ids", 1],
        ),
        ("PATCH", b_paths[2], {"opportunity_ids": [a_opportunity]}, ["body", "opportunity_ids", 0]),
        (
            "POST",
            "/v1/activity",
            {"kind": "call", "summary": "Sneaky", "opportunity_id": a_opportunity},
            ["body", "opportunity_id"],
        ),
    ]
    for link in ("opportunity_id", "interview_id", "contact_id"):
        attempts.append(("POST", "/v1/notes", {"body": "Sneaky", link: alice_world[link]}, ["body", link]))
        attempts.append(("PATCH", b_paths[3], {link: alice_world[link]}, ["body", link]))
    failures: list[str] = []
    for method, path, body, loc in attempts:
        with case(failures, f"{method} {path} {body}"):
            assert_invalid(client.request(method, path, json=body, headers=users.b), loc)
    assert not failures, "\n".join(failures)
    assert row_counts() == counts
    assert [client.get(path, headers=users.b).json() for path in b_paths] == b_before
    assert [client.get(path, headers=users.a).json() for path in a_paths] == a_before
    assert list_all(client, users.a, "/v1/activity", limit=200) == a_activity
    assert list_all(client, users.b, "/v1/activity", limit=200) == b_activity
    assert ids(list_all(client, users.a, "/v1/contacts", opportunity_id=a_opportunity)) == [
        alice_world["contact_id"]
    ]
    assert ids(list_all(client, users.a, "/v1/interviews", opportunity_id=a_opportunity)) == [
        alice_world["interview_id"]
    ]
    assert ids(list_all(client, users.a, "/v1/notes", opportunity_id=a_opportunity)) == [
        alice_world["note_id"]
    ]


# ---- no token ----------------------------------------------------------------------------------


def test_every_route_that_needs_a_token_is_401_without_one(client: TestClient) -> None:
    routes = [(m, p) for m, p in all_routes() if not is_public(p)]
    assert RECORDS_ID_ROUTES <= set(routes)
    assert {("GET", p) for p in RECORDS_LIST_ROUTES} <= set(routes)
    assert {("POST", p) for p in RECORDS_LIST_ROUTES} <= set(routes)
    assert {("GET", "/v1/stats"), ("GET", "/v1/me/profile"), ("PUT", "/v1/me/profile")} <= set(routes)
    deleted = register(client, email="gone@example.com", name="Gone")
    assert client.delete("/v1/me", headers=bearer(deleted)).status_code == 204
    live = register(client, email="live@example.com", name="Live")
    counts = row_counts()
    bad_headers: list[tuple[str, dict[str, str]]] = [
        ("no header", {}),
        ("not a JWT", {"Authorization": "Bearer not-a-jwt"}),
        ("empty bearer", {"Authorization": "Bearer "}),
        ("basic scheme", {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}),
        ("refresh token as bearer", {"Authorization": f"Bearer {live['refresh_token']}"}),
        ("deleted user's token", bearer(deleted)),
    ]
    failures: list[str] = []
    for method, path in routes:
        body = {} if method in ("POST", "PUT", "PATCH") else None
        for label, headers in bad_headers:
            response = client.request(method, fill(path, uuid.uuid4().hex), json=body, headers=headers)
            with case(failures, f"{method} {path} ({label})"):
                assert_unauthorized(response)
    assert not failures, "\n".join(failures)
    assert row_counts() == counts
