"""Round trips per API request over the remote driver, counted at the Hrana test server.

From Lambda every pipeline to Turso costs milliseconds, so DESIGN asks for one round trip per unit
of work: a request's statements (ownership check included) in one pipeline/batch. This test runs
each request against a fresh database on the Hrana test server (whatever --db says) and counts the
`POST /v3/pipeline` the server received for it. `CEILINGS` pins today's numbers: a request that
starts to take more fails here; one that takes fewer should lower its ceiling. The table is printed
(`pytest -s`) with the SQL of every pipeline, so a request that takes more than one shows why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.conftest import PASSWORD, bearer, reset_caches
from tests.fakes.hrana_server import HranaProcess

# request -> the most pipelines it may take today (1 = the DESIGN target).
#
# Why an authenticated request takes 2: the principal dependency checks that the access token's
# session is still live (`SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL
# ...`) in a pipeline of its own, before the route's unit of work (one execute or one atomic batch).
# Folding that check into the route's batch (or its SQL, `... AND EXISTS (SELECT 1 FROM sessions ...)`)
# would make them 1. Login takes 3: the failure-window batch, the user lookup (argon2 runs between
# them), then the session batch.
_SESSION_CHECK = 2
CEILINGS: dict[str, int] = {
    "GET /v1/health": 1,
    "POST /v1/auth/register": 1,
    "POST /v1/auth/login": 3,
    "POST /v1/auth/refresh": 1,
    "GET /v1/me": _SESSION_CHECK,
    "PATCH /v1/me": _SESSION_CHECK,
    "GET /v1/me/profile": _SESSION_CHECK,
    "PUT /v1/me/profile": _SESSION_CHECK,
    "POST /v1/opportunities": _SESSION_CHECK,
    "GET /v1/opportunities": _SESSION_CHECK,
    "GET /v1/opportunities/{id}": _SESSION_CHECK,
    "PATCH /v1/opportunities/{id}": _SESSION_CHECK,
    "POST /v1/interviews": _SESSION_CHECK,
    "GET /v1/interviews": _SESSION_CHECK,
    "PATCH /v1/interviews/{id}": _SESSION_CHECK,
    "POST /v1/contacts": _SESSION_CHECK,
    "POST /v1/notes": _SESSION_CHECK,
    "POST /v1/activity": _SESSION_CHECK,
    "GET /v1/activity": _SESSION_CHECK,
    "GET /v1/stats": _SESSION_CHECK,
    "DELETE /v1/opportunities/{id}": _SESSION_CHECK,
    "POST /v1/auth/logout": _SESSION_CHECK,
}


@pytest.fixture
def remote(
    hrana_server: HranaProcess, monkeypatch: pytest.MonkeyPatch, isolated_env: Any
) -> Iterator[tuple[TestClient, Callable[[], list[dict[str, Any]]]]]:
    """A client of the whole API on a fresh Hrana database, and `take()`: the pipelines since the
    last call."""
    from local.app import build_app

    name = f"rt{uuid.uuid4().hex}"
    monkeypatch.setenv("DATABASE_URL", hrana_server.url(name))
    monkeypatch.setenv("DATABASE_AUTH_TOKEN", hrana_server.token or "")
    reset_caches()

    def take() -> list[dict[str, Any]]:
        log = list(hrana_server.stats(name)["log"])
        hrana_server.reset_stats(name)
        return log

    with TestClient(build_app(), raise_server_exceptions=False) as client:
        assert client.get("/v1/health").status_code == 200  # opens and migrates the database
        take()
        yield client, take
    hrana_server.detach(name)


def test_round_trips_per_request(remote: tuple[TestClient, Callable[[], list[dict[str, Any]]]]) -> None:
    client, take = remote
    counts: dict[str, list[dict[str, Any]]] = {}

    def measure(label: str, response: Response, status: int) -> Any:
        assert response.status_code == status, (label, response.text)
        counts[label] = take()
        return response.json() if response.content else None

    measure("GET /v1/health", client.get("/v1/health"), 200)
    account = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    tokens = measure("POST /v1/auth/register", client.post("/v1/auth/register", json=account), 201)
    login = {"email": "ada@example.com", "password": PASSWORD}
    tokens = measure("POST /v1/auth/login", client.post("/v1/auth/login", json=login), 200)
    refresh = {"refresh_token": tokens["refresh_token"]}
    tokens = measure("POST /v1/auth/refresh", client.post("/v1/auth/refresh", json=refresh), 200)
    auth = bearer(tokens)
    measure("GET /v1/me", client.get("/v1/me", headers=auth), 200)
    measure("PATCH /v1/me", client.patch("/v1/me", json={"name": "Ada L"}, headers=auth), 200)
    measure("GET /v1/me/profile", client.get("/v1/me/profile", headers=auth), 200)
    profile = {"headline": "Backend engineer", "resume_text": "Ten years of Python."}
    measure("PUT /v1/me/profile", client.put("/v1/me/profile", json=profile, headers=auth), 200)
    opportunity = {"company": "Acme", "role": "Engineer", "tags": ["remote"]}
    created = measure(
        "POST /v1/opportunities", client.post("/v1/opportunities", json=opportunity, headers=auth), 201
    )
    oid = created["id"]
    measure("GET /v1/opportunities", client.get("/v1/opportunities", headers=auth), 200)
    measure("GET /v1/opportunities/{id}", client.get(f"/v1/opportunities/{oid}", headers=auth), 200)
    patch = {"status": "applied"}
    measure(
        "PATCH /v1/opportunities/{id}",
        client.patch(f"/v1/opportunities/{oid}", json=patch, headers=auth),
        200,
    )
    interview = {"opportunity_id": oid, "title": "Screen", "scheduled_at": "2030-01-02T10:00:00Z"}
    created = measure("POST /v1/interviews", client.post("/v1/interviews", json=interview, headers=auth), 201)
    measure("GET /v1/interviews", client.get("/v1/interviews", headers=auth), 200)
    measure(
        "PATCH /v1/interviews/{id}",
        client.patch(f"/v1/interviews/{created['id']}", json={"outcome": "passed"}, headers=auth),
        200,
    )
    measure("POST /v1/contacts", client.post("/v1/contacts", json={"name": "Grace"}, headers=auth), 201)
    note = {"body": "Follow up", "opportunity_id": oid}
    measure("POST /v1/notes", client.post("/v1/notes", json=note, headers=auth), 201)
    activity = {"kind": "email", "summary": "Thanked them", "opportunity_id": oid}
    measure("POST /v1/activity", client.post("/v1/activity", json=activity, headers=auth), 201)
    measure("GET /v1/activity", client.get("/v1/activity", headers=auth), 200)
    measure("GET /v1/stats", client.get("/v1/stats", headers=auth), 200)
    measure("DELETE /v1/opportunities/{id}", client.delete(f"/v1/opportunities/{oid}", headers=auth), 204)
    logout = {"refresh_token": tokens["refresh_token"]}
    measure("POST /v1/auth/logout", client.post("/v1/auth/logout", json=logout, headers=auth), 204)

    print("\n| request | pipelines | ceiling |\n|---|---|---|")
    for label, log in counts.items():
        print(f"| {label} | {len(log)} | {CEILINGS[label]} |")
    for label, log in counts.items():
        if len(log) > 1:
            print(f"\n{label}:")
            for index, entry in enumerate(log, 1):
                print(f"  {index}. {entry['requests']}: {[sql[:90] for sql in entry['sql']]}")
    over = {label: len(log) for label, log in counts.items() if len(log) > CEILINGS[label]}
    assert over == {}, over
    for label, log in counts.items():
        if CEILINGS[label] == _SESSION_CHECK:
            assert log[0]["sql"][0].startswith("SELECT 1 FROM sessions WHERE id = ?"), (label, log)
    assert set(counts) == set(CEILINGS)
