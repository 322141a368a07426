"""The database failing mid-request (issue 10, fault injection): for every write that touches several
tables, the batch is made to fail after each of its statements in turn, inside the real driver's
transaction (tests/faults.py). Each time the API answers a clean problem+json (500, or 503 with
Retry-After when the database is "busy"), and every table is exactly as before: no partial write. Then
the same request succeeds, so nothing was left locked or half-done.

Runs on either backend (`--db=remote` wraps the Hrana driver); the remote-only network faults (a
pipeline answered 503, a connection dropped before or after the server ran it) are at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

import common.db as db_module
from common.db import get_database
from tests.conftest import PASSWORD, bearer, register
from tests.faults import FaultPlan, FaultyDatabase, changed_tables, snapshot
from tests.problems import assert_problem
from tests.records import create_contact, create_interview, create_note, create_opportunity

JD = "Design fault-tolerant services; Kafka, Postgres"


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> FaultPlan:
    """The process-wide database, wrapped (on whichever backend this run uses), and what to break."""
    real_open = db_module.open_database
    plan = FaultPlan()

    def open_faulty(url: str, auth_token: str | None = None) -> FaultyDatabase:
        return FaultyDatabase(real_open(url, auth_token), plan)

    if get_database.cache_info().currsize:
        get_database().close()
    get_database.cache_clear()
    monkeypatch.setattr(db_module, "open_database", open_faulty)
    assert isinstance(get_database(), FaultyDatabase)
    return plan


def assert_clean_failure(response: Response, *, busy: bool) -> None:
    body = assert_problem(response, 503 if busy else 500)
    if busy:
        assert response.headers.get("retry-after") == "1"
    text = response.text.lower()
    for leak in (
        "integer overflow",
        "injected",
        "select",
        "insert",
        "delete",
        "update",
        "traceback",
        "sqlite",
    ):
        assert leak not in text, (leak, body)


def each_failure_point(
    faulty: FaultPlan, pattern: str, request: Callable[[], Response], *, size: int
) -> list[str]:
    """Fail the matching batch after 0, 1, ..., `size` statements (all of them: the failure then hits
    just before COMMIT); returns the problems found, one line each."""
    problems = []
    db = get_database()
    for at in range(size + 1):
        busy = at % 2 == 1
        before = snapshot(db)
        faulty.arm(pattern, at=at, busy=busy)
        injected = faulty.injected
        response = request()
        if faulty.injected != injected + 1:
            problems.append(f"at={at}: the batch never ran ({response.status_code})")
            faulty.faults.clear()
            continue
        try:
            assert_clean_failure(response, busy=busy)
        except AssertionError as exc:
            problems.append(f"at={at}: {exc}")
        changed = changed_tables(before, snapshot(db))
        if changed:
            problems.append(f"at={at}: partial write in {changed}")
    return problems


@pytest.fixture
def headers(client: TestClient, faulty: FaultPlan) -> dict[str, str]:
    return bearer(register(client))


def test_creating_an_opportunity_with_tags_and_its_timeline_entry_is_all_or_nothing(
    client: TestClient, headers: dict[str, str], faulty: FaultPlan
) -> None:
    pattern = r"INSERT INTO opportunities"
    first = create_opportunity(
        client, headers, company="Initech", tags=["remote", "python"], job_description=JD
    )
    size = faulty.batch_size(pattern)
    assert size >= 2, size

    def create() -> Response:
        body = {"company": "Globex", "role": "SRE", "tags": ["oncall", "go"], "job_description": JD}
        return client.post("/v1/opportunities", json=body, headers=headers)

    assert each_failure_point(faulty, pattern, create, size=size) == []
    # Nothing of Globex anywhere: not listed, not searchable, no timeline entry.
    listed = client.get("/v1/opportunities", headers=headers).json()["items"]
    assert [o["id"] for o in listed] == [first["id"]]
    assert client.get("/v1/opportunities", params={"q": "Globex"}, headers=headers).json()["items"] == []
    assert client.get("/v1/opportunities", params={"tag": "oncall"}, headers=headers).json()["items"] == []
    assert len(client.get("/v1/activity", headers=headers).json()["items"]) == 1

    # With the database back, the same request works once.
    response = create()
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == ["oncall", "go"]
    assert len(client.get("/v1/opportunities", params={"q": "Globex"}, headers=headers).json()["items"]) == 1
    assert len(client.get("/v1/activity", headers=headers).json()["items"]) == 2


def test_a_status_change_and_its_ledger_entry_are_all_or_nothing(
    client: TestClient, headers: dict[str, str], faulty: FaultPlan
) -> None:
    pattern = r"UPDATE opportunities"
    opp = create_opportunity(client, headers, company="Initech", tags=["remote"])
    client.patch(f"/v1/opportunities/{opp['id']}", json={"priority": "high"}, headers=headers)
    size = faulty.batch_size(pattern)

    def patch() -> Response:
        return client.patch(f"/v1/opportunities/{opp['id']}", json={"status": "applied"}, headers=headers)

    assert each_failure_point(faulty, pattern, patch, size=size) == []
    now = client.get(f"/v1/opportunities/{opp['id']}", headers=headers).json()
    assert now["status"] == "wishlist" and now["applied_at"] is None
    stats = client.get("/v1/stats", headers=headers).json()
    assert stats["response_rate"] is None  # the ledger never saw "applied"

    response = patch()
    assert response.status_code == 200 and response.json()["status"] == "applied"
    kinds = [a["kind"] for a in client.get("/v1/activity", headers=headers).json()["items"]]
    assert kinds.count("status_changed") == 1, kinds


def test_deleting_an_opportunity_and_its_cascade_is_all_or_nothing(
    client: TestClient, headers: dict[str, str], faulty: FaultPlan
) -> None:
    pattern = r"DELETE FROM opportunities"
    keep = create_opportunity(client, headers, company="Keep Corp")
    throwaway = create_opportunity(client, headers, company="Throwaway")
    assert client.delete(f"/v1/opportunities/{throwaway['id']}", headers=headers).status_code == 204
    size = faulty.batch_size(pattern)

    opp = create_opportunity(client, headers, company="Initech", tags=["remote"], job_description=JD)
    interview = create_interview(client, headers, opp["id"], kind="technical", debrief="Asked about queues")
    create_note(client, headers, opportunity_id=opp["id"], interview_id=interview["id"])
    contact = create_contact(client, headers, name="Rita", opportunity_ids=[opp["id"], keep["id"]])

    def delete() -> Response:
        return client.delete(f"/v1/opportunities/{opp['id']}", headers=headers)

    assert each_failure_point(faulty, pattern, delete, size=size) == []
    assert client.get(f"/v1/interviews/{interview['id']}", headers=headers).status_code == 200
    links = client.get(f"/v1/contacts/{contact['id']}", headers=headers).json()["opportunity_ids"]
    assert sorted(links) == sorted([opp["id"], keep["id"]])

    assert delete().status_code == 204
    assert client.get(f"/v1/interviews/{interview['id']}", headers=headers).status_code == 404
    assert client.get("/v1/notes", headers=headers).json()["items"] == []
    assert client.get(f"/v1/contacts/{contact['id']}", headers=headers).json()["opportunity_ids"] == [
        keep["id"]
    ]


def test_requesting_prep_writes_the_prep_its_job_and_the_ledger_all_or_nothing(
    client: TestClient, headers: dict[str, str], faulty: FaultPlan, fake_anthropic: Any
) -> None:
    pattern = r"INSERT INTO preps"
    opp = create_opportunity(client, headers, company="Initech", job_description=JD)
    warmup = create_interview(client, headers, opp["id"], kind="behavioral")
    assert client.post(f"/v1/interviews/{warmup['id']}/prep", headers=headers).status_code == 202
    size = faulty.batch_size(pattern)
    interview = create_interview(client, headers, opp["id"], kind="technical")

    def request() -> Response:
        return client.post(f"/v1/interviews/{interview['id']}/prep", headers=headers)

    assert each_failure_point(faulty, pattern, request, size=size) == []
    assert client.get(f"/v1/interviews/{interview['id']}/prep", headers=headers).status_code == 404
    assert client.get(f"/v1/interviews/{interview['id']}", headers=headers).json()["prep_status"] == "none"

    response = request()
    assert response.status_code == 202, response.text
    db = get_database()
    # The outbox: exactly one job per prep, and the hourly ledger counted two requests, not more.
    assert db.execute("SELECT count(*) FROM preps").scalar() == 2
    assert db.execute("SELECT count(*) FROM jobs WHERE kind = 'prep'").scalar() == 2
    assert db.execute("SELECT count(*) FROM prep_requests").scalar() == 2


def test_deleting_the_account_is_all_or_nothing(client: TestClient, faulty: FaultPlan) -> None:
    pattern = r"DELETE FROM users"
    other = register(client, email="grace@example.com", name="Grace")
    assert client.delete("/v1/me", headers=bearer(other)).status_code == 204
    size = faulty.batch_size(pattern)

    tokens = register(client)
    headers = bearer(tokens)
    opp = create_opportunity(client, headers, company="Initech", tags=["remote"], job_description=JD)
    create_interview(client, headers, opp["id"], kind="technical")
    client.put("/v1/me/profile", json={"resume_text": "Ten years of Python"}, headers=headers)

    def delete() -> Response:
        return client.delete("/v1/me", headers=headers)

    assert each_failure_point(faulty, pattern, delete, size=size) == []
    # Still a whole, working account: the same tokens, the same password, the same data.
    assert client.get("/v1/me", headers=headers).status_code == 200
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    login = client.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 200
    headers = bearer(login.json())
    assert client.get(f"/v1/opportunities/{opp['id']}", headers=headers).status_code == 200

    assert delete().status_code == 204
    db = get_database()
    for table in ("users", "opportunities", "interviews", "profiles", "sessions", "activity"):
        assert db.execute(f"SELECT count(*) FROM {table}").scalar() == 0, table


# ---- remote only: the network between the function and Turso --------------------------------------


@pytest.fixture
def remote(
    request: pytest.FixtureRequest, isolated_env: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, str]]:
    """This test's database on the Hrana test server (whatever --db says)."""
    import uuid

    from tests.conftest import reset_caches

    server = request.getfixturevalue("hrana_server")
    name = f"f{uuid.uuid4().hex}"
    if get_database.cache_info().currsize:
        get_database().close()
    server.attach(name, isolated_env / "tracker.db")
    monkeypatch.setenv("DATABASE_URL", server.url(name))
    monkeypatch.setenv("DATABASE_AUTH_TOKEN", server.token or "")
    reset_caches()
    yield server, name
    if get_database.cache_info().currsize:
        get_database().close()
    reset_caches()
    server.detach(name)


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 500}, {"drop": "before"}], ids=json.dumps)
def test_a_write_the_server_never_ran_is_a_503_and_writes_nothing(
    remote: tuple[Any, str], client: TestClient, fault: dict[str, Any]
) -> None:
    server, name = remote
    headers = bearer(register(client))
    create_opportunity(client, headers, company="Initech")
    before = snapshot(get_database())
    pipelines = server.pipelines(name)
    # One pipeline per request: the session check travels in the write's own batch.
    server.inject(name, fault)
    response = client.post("/v1/opportunities", json={"company": "Globex", "role": "SRE"}, headers=headers)
    assert_clean_failure(response, busy=True)
    assert server.pipelines(name) - pipelines == 1  # a write is never resent blindly
    assert changed_tables(before, snapshot(get_database())) == []
    retried = client.post("/v1/opportunities", json={"company": "Globex", "role": "SRE"}, headers=headers)
    assert retried.status_code == 201, retried.text


def test_a_write_whose_answer_was_lost_is_not_resent(remote: tuple[Any, str], client: TestClient) -> None:
    """The server ran the batch and the connection died before the answer: the driver cannot know, so it
    must not send the write again (that would create it twice); the client gets a 503."""
    server, name = remote
    headers = bearer(register(client))
    pipelines = server.pipelines(name)
    server.inject(name, {"drop": "after"})
    response = client.post("/v1/opportunities", json={"company": "Globex", "role": "SRE"}, headers=headers)
    assert_clean_failure(response, busy=True)
    assert server.pipelines(name) == pipelines + 1
    rows = get_database().execute("SELECT company FROM opportunities").rows
    assert rows == [("Globex",)]  # written once, never twice
    items = client.get("/v1/opportunities", headers=headers).json()["items"]
    assert [o["company"] for o in items] == ["Globex"]
