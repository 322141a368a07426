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
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.conftest import PASSWORD, bearer, reset_caches
from tests.fakes.hrana_server import HranaProcess

# request -> the pipelines it takes (1 = the DESIGN target). An authenticated request's session check
# rides in its own unit of work (common.security.SessionBoundDatabase), so it costs no extra one.
#
# Login takes 2: the attempt is reserved (lockout) and the user read in one batch, which must commit
# before argon2 runs (so parallel guesses cannot pass the limit); then the session batch.
# A prep request takes 2: the inputs are read, their SHA-256 (the idempotency key) computed, then the
# versioned request and its job written in one batch. Account deletion takes 2: the account and its
# calendar connection are read, Google access revoked and export files erased, then one delete batch.
# An export takes 2: the reservation and a small account's whole content in one batch, the file
# uploaded, then the export marked ready (more only for collections past a page: 1,000 rows / 2 MiB).
CEILINGS: dict[str, int] = {
    "GET /v1/health": 1,
    "POST /v1/auth/register": 1,
    "POST /v1/auth/login": 2,
    "POST /v1/auth/refresh": 1,
    "GET /v1/me": 1,
    "PATCH /v1/me": 1,
    "GET /v1/me/profile": 1,
    "PUT /v1/me/profile": 1,
    "GET /v1/me/calendar": 1,
    "POST /v1/opportunities": 1,
    "GET /v1/opportunities": 1,
    "GET /v1/opportunities?q=": 1,
    "GET /v1/opportunities/{id}": 1,
    "PATCH /v1/opportunities/{id}": 1,
    "POST /v1/interviews": 1,
    "GET /v1/interviews": 1,
    "GET /v1/interviews/{id}": 1,
    "PATCH /v1/interviews/{id}": 1,
    "POST /v1/interviews/{id}/prep": 2,
    "GET /v1/interviews/{id}/prep": 1,
    "POST /v1/contacts": 1,
    "GET /v1/contacts": 1,
    "GET /v1/contacts/{id}": 1,
    "PATCH /v1/contacts/{id}": 1,
    "POST /v1/notes": 1,
    "GET /v1/notes": 1,
    "GET /v1/notes/{id}": 1,
    "PATCH /v1/notes/{id}": 1,
    "POST /v1/activity": 1,
    "GET /v1/activity": 1,
    "GET /v1/stats": 1,
    "POST /v1/exports": 2,
    "GET /v1/exports/{id}/download": 1,
    "DELETE /v1/notes/{id}": 1,
    "DELETE /v1/contacts/{id}": 1,
    "DELETE /v1/interviews/{id}": 1,
    "DELETE /v1/opportunities/{id}": 1,
    "POST /v1/auth/logout": 1,
    "GET /v1/me (after logout)": 1,
    "DELETE /v1/me": 2,
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
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-used")  # prep requests queue locally
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

    def call(method: str, path: str, status: int, label: str | None = None, body: Any = None) -> Any:
        template = label or f"{method} {path}"
        return measure(template, client.request(method, path, json=body, headers=auth), status)

    call("GET", "/v1/me", 200)
    call("PATCH", "/v1/me", 200, body={"name": "Ada L"})
    call("GET", "/v1/me/profile", 200)
    call("PUT", "/v1/me/profile", 200, body={"headline": "Backend engineer", "resume_text": "Python."})
    call("GET", "/v1/me/calendar", 200)
    opportunity = {"company": "Acme", "role": "Engineer", "tags": ["remote"]}
    oid = call("POST", "/v1/opportunities", 201, body=opportunity)["id"]
    call("GET", "/v1/opportunities", 200)
    call("GET", "/v1/opportunities?q=acme", 200, "GET /v1/opportunities?q=")
    call("GET", f"/v1/opportunities/{oid}", 200, "GET /v1/opportunities/{id}")
    call("PATCH", f"/v1/opportunities/{oid}", 200, "PATCH /v1/opportunities/{id}", {"status": "applied"})
    interview = {"opportunity_id": oid, "title": "Screen", "scheduled_at": "2030-01-02T10:00:00Z"}
    iid = call("POST", "/v1/interviews", 201, body=interview)["id"]
    call("GET", "/v1/interviews", 200)
    call("GET", f"/v1/interviews/{iid}", 200, "GET /v1/interviews/{id}")
    call("PATCH", f"/v1/interviews/{iid}", 200, "PATCH /v1/interviews/{id}", {"debrief": "Went well"})
    call("POST", f"/v1/interviews/{iid}/prep", 202, "POST /v1/interviews/{id}/prep")
    call("GET", f"/v1/interviews/{iid}/prep", 200, "GET /v1/interviews/{id}/prep")
    cid = call("POST", "/v1/contacts", 201, body={"name": "Grace", "opportunity_ids": [oid]})["id"]
    call("GET", "/v1/contacts", 200)
    call("GET", f"/v1/contacts/{cid}", 200, "GET /v1/contacts/{id}")
    call("PATCH", f"/v1/contacts/{cid}", 200, "PATCH /v1/contacts/{id}", {"title": "CTO"})
    nid = call("POST", "/v1/notes", 201, body={"body": "Follow up", "opportunity_id": oid})["id"]
    call("GET", "/v1/notes", 200)
    call("GET", f"/v1/notes/{nid}", 200, "GET /v1/notes/{id}")
    call("PATCH", f"/v1/notes/{nid}", 200, "PATCH /v1/notes/{id}", {"body": "Followed up"})
    call(
        "POST", "/v1/activity", 201, body={"kind": "email", "summary": "Thanked them", "opportunity_id": oid}
    )
    call("GET", "/v1/activity", 200)
    call("GET", "/v1/stats", 200)
    export = call("POST", "/v1/exports", 201, body={"format": "json"})
    download = urlsplit(export["url"])
    measure("GET /v1/exports/{id}/download", client.get(f"{download.path}?{download.query}"), 200)
    call("DELETE", f"/v1/notes/{nid}", 204, "DELETE /v1/notes/{id}")
    call("DELETE", f"/v1/contacts/{cid}", 204, "DELETE /v1/contacts/{id}")
    call("DELETE", f"/v1/interviews/{iid}", 204, "DELETE /v1/interviews/{id}")
    call("DELETE", f"/v1/opportunities/{oid}", 204, "DELETE /v1/opportunities/{id}")
    call("POST", "/v1/auth/logout", 204, body={"refresh_token": tokens["refresh_token"]})
    call("GET", "/v1/me", 401, "GET /v1/me (after logout)")
    auth = bearer(measure("POST /v1/auth/login", client.post("/v1/auth/login", json=login), 200))
    call("DELETE", "/v1/me", 204)

    print("\n| request | pipelines | ceiling |\n|---|---|---|")
    for label, log in counts.items():
        print(f"| {label} | {len(log)} | {CEILINGS[label]} |")
    for label, log in counts.items():
        if len(log) > 1:
            print(f"\n{label}:")
            for index, entry in enumerate(log, 1):
                print(f"  {index}. {entry['requests']}: {[sql[:90] for sql in entry['sql']]}")
    assert {label: len(log) for label, log in counts.items()} == CEILINGS
