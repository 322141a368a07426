"""OWASP API Security Top 10 (2023) as tests, beyond what other files already prove:

- API1 BOLA: tests/integration/test_records_isolation.py (every `{id}` route incl. prep, generated from
  the OpenAPI document, and every list, summary and export), test_export_api.py (signed download links).
- API2 broken authentication: test_jwt_attacks.py, test_auth_sessions.py, test_auth_hardening.py.
- API3 broken object property level authorization: mass assignment and excessive data exposure, here.
- API4 unrestricted resource consumption: limit clamping and 10k-element arrays here; 1 MiB bodies and NUL
  bytes in test_bad_input.py and tests/unit/test_request_guard.py; rate limits in test_auth_accounts.py,
  test_prep_requests.py and test_export_api.py.
- API7 SSRF: here (redirect_uri allow-list; no user-supplied URL is ever fetched).
- API8 security misconfiguration: test_security_headers.py; API9 inventory: test_openapi_fuzz.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, bearer, register, reset_caches
from tests.records import (
    assert_invalid,
    case,
    create_activity,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
    list_page,
)

# ---- API3: mass assignment -------------------------------------------------------------------------

READ_ONLY = {
    "id": "x" * 32,
    "user_id": "x" * 32,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
}
INTERVIEW_READ_ONLY = {"source": "calendar", "calendar_event_id": "evt-1", "prep_status": "ready"}


def test_read_only_fields_are_refused_on_create_and_update(client: TestClient) -> None:
    headers = bearer(register(client))
    opportunity = create_opportunity(client, headers)
    interview = create_interview(client, headers, opportunity["id"])
    targets = {
        "/v1/opportunities": ({"company": "A", "role": "B"}, opportunity),
        "/v1/interviews": ({"opportunity_id": opportunity["id"]}, interview),
        "/v1/contacts": ({"name": "Grace"}, create_contact(client, headers)),
        "/v1/notes": ({"body": "hello"}, create_note(client, headers)),
        "/v1/activity": ({"kind": "email", "summary": "sent"}, None),
    }
    failures: list[str] = []
    for path, (body, existing) in targets.items():
        fields = {**READ_ONLY, **(INTERVIEW_READ_ONLY if path == "/v1/interviews" else {})}
        for name, value in fields.items():
            with case(failures, f"POST {path} {name}"):
                assert_invalid(client.post(path, json={**body, name: value}, headers=headers), ["body", name])
            if existing is not None:
                with case(failures, f"PATCH {path} {name}"):
                    url = f"{path}/{existing['id']}"
                    assert_invalid(client.patch(url, json={name: value}, headers=headers), ["body", name])
                    assert client.get(url, headers=headers).json() == existing  # nothing written
    for name in ("id", "user_id", "email", "password", "google_linked", "created_at"):
        with case(failures, f"PATCH /v1/me {name}"):
            assert_invalid(client.patch("/v1/me", json={name: "x"}, headers=headers), ["body", name])
    assert not failures, "\n".join(failures)


# ---- API3: excessive data exposure -----------------------------------------------------------------

INTERNAL_KEYS = {
    "user_id",
    "password",
    "password_hash",
    "token_hash",
    "refresh_token_hash",
    "session_id",
    "lease_token",
    "claim_token",
    "lease_expires_at",
    "encrypted_refresh_token",
    "sync_token",
    "binding_hash",
    "inputs_hash",
}


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_responses_never_carry_internal_columns_or_other_users_ids(
    client: TestClient, fake_anthropic: Any
) -> None:
    bob = register(client, email="bob@example.com", name="Bob")
    create_opportunity(client, bearer(bob), company="Bob's secret employer")
    tokens = register(client)
    headers = bearer(tokens)
    opportunity = create_opportunity(client, headers)
    interview = create_interview(client, headers, opportunity["id"], kind="technical")
    create_contact(client, headers, opportunity_ids=[opportunity["id"]])
    create_note(client, headers, interview_id=interview["id"])
    create_activity(client, headers, opportunity_id=opportunity["id"])
    assert client.put("/v1/me/profile", json={"headline": "Engineer"}, headers=headers).status_code == 200
    assert client.post(f"/v1/interviews/{interview['id']}/prep", headers=headers).status_code == 202
    responses = [
        client.get(path, headers=headers)
        for path in (
            "/v1/me",
            "/v1/me/profile",
            "/v1/me/calendar",
            "/v1/stats",
            f"/v1/opportunities/{opportunity['id']}",
            f"/v1/interviews/{interview['id']}",
            f"/v1/interviews/{interview['id']}/prep",
        )
    ]
    responses += [
        client.get(path, headers=headers)
        for path in (
            "/v1/opportunities",
            "/v1/interviews",
            "/v1/contacts",
            "/v1/notes",
            "/v1/activity",
        )
    ]
    export = client.post("/v1/exports", json={"format": "json"}, headers=headers)
    link = urlsplit(export.json()["url"])
    responses += [export, client.get(f"{link.path}?{link.query}")]
    bob_id = bob["user"]["id"]
    for response in responses:
        assert response.status_code in {200, 201}, (response.request.url, response.text)
        text = response.text
        leaked = INTERNAL_KEYS & set(_keys(response.json()))
        assert not leaked, (response.request.url, leaked)
        assert "$argon2" not in text and PASSWORD not in text
        assert tokens["refresh_token"] not in text and tokens["access_token"] not in text
        assert bob_id not in text and "Bob's secret employer" not in text and "bob@example.com" not in text


# ---- API4: resource consumption --------------------------------------------------------------------


def test_page_size_is_bounded(client: TestClient) -> None:
    headers = bearer(register(client))
    for path in ("/v1/opportunities", "/v1/interviews", "/v1/contacts", "/v1/notes", "/v1/activity"):
        for limit in (0, -1, 201, 10_000, 2**63):
            assert_invalid(client.get(path, params={"limit": limit}, headers=headers), ["query", "limit"])
        assert list_page(client, headers, path, limit=200)["items"] == []


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/opportunities", "tags"), ("/v1/interviews", "interviewers"), ("/v1/contacts", "opportunity_ids")],
)
def test_ten_thousand_element_arrays_are_refused(client: TestClient, path: str, field: str) -> None:
    headers = bearer(register(client))
    opportunity = create_opportunity(client, headers)
    base = {
        "/v1/opportunities": {"company": "A", "role": "B"},
        "/v1/interviews": {"opportunity_id": opportunity["id"]},
        "/v1/contacts": {"name": "Grace"},
    }[path]
    body = {**base, field: [f"x{i}" for i in range(10_000)]}
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert len(response.content) < 20_000  # one error about the list, not one per element
    assert list_page(client, headers, path)["items"] == ([] if path != "/v1/opportunities" else [opportunity])


# ---- API7: SSRF --------------------------------------------------------------------------------------


@pytest.fixture
def canary() -> Iterator[list[str]]:
    """A loopback HTTP server that records every request it gets: no request may ever arrive."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hits.append(f"http://127.0.0.1:{server.server_port}")
    yield hits
    server.shutdown()
    server.server_close()


def test_user_supplied_urls_are_never_fetched(
    client: TestClient, canary: list[str], fake_anthropic: Any
) -> None:
    root = canary.pop()
    headers = bearer(register(client))
    opportunity = create_opportunity(
        client, headers, url=f"{root}/job", job_description=f"Apply at {root}/apply", source=f"{root}/src"
    )
    interview = create_interview(client, headers, opportunity["id"], meeting_url=f"{root}/meet")
    create_contact(client, headers, linkedin_url=f"{root}/in/grace")
    assert client.post(f"/v1/interviews/{interview['id']}/prep", headers=headers).status_code == 202
    for export_format in ("json", "csv"):
        assert client.post("/v1/exports", json={"format": export_format}, headers=headers).status_code == 201
    assert canary == []


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/auth/callback",
        "http://localhost:3000/auth/callback/../../evil",
        "http://localhost:3000/auth/callback?next=https://evil.example",
        "http://LOCALHOST:3000/auth/callback",
        "http://localhost:3000/auth/callback ",
        "http://localhost:3000/auth/callbäck",  # non-ASCII: was a 500 (compare_digest on str)
        "http://localhost:3000/auth/callback\u202e",
        "",
    ],
)
def test_redirect_uri_must_match_the_allow_list_exactly(
    client: TestClient, redirect_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "client")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", "secret")
    monkeypatch.setenv("GOOGLE_DISCOVERY_URL", "http://127.0.0.1:9/never-fetched")
    reset_caches()
    headers = bearer(register(client))
    login = client.get("/v1/auth/google/login", params={"redirect_uri": redirect_uri}, follow_redirects=False)
    connect = client.post("/v1/me/calendar/connect", json={"redirect_uri": redirect_uri}, headers=headers)
    for response in (login, connect):
        assert response.status_code in {400, 422}, response.text
        assert response.headers["content-type"] == "application/problem+json"
