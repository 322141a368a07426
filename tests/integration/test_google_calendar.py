"""The Google Calendar connection (API.md "Google Calendar connection", issue 5) against the fake Google:
incremental read-only consent with offline access and PKCE, tokens sealed at rest (a byte search of the
database files), never in a response, log line or export; denial, partial grants and a missing refresh
token leave the calendar disconnected with an error; disconnection and account deletion revoke at
Google first (best effort) and delete locally even when Google fails.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient

from common.crypto import get_sealer
from common.db import get_database
from tests.conftest import bearer, register, reset_caches
from tests.exports import csv_members, download, export_json, request_export
from tests.fakes.google_server import CALENDAR_SCOPE, FakeGoogle, GoogleUser, start_fake_google
from tests.integration.test_google_signin import (
    BASE,
    BINDING_PATH,
    CALENDAR_CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    FRONTEND,
    OTHER_FRONTEND,
    SIGNIN_CALLBACK,
    binding_cookie,
    callback_path,
    configure_google,
    count,
    fragment_of,
    new_browser,
    query_of,
    raw_database,
    sign_in,
)
from tests.problems import assert_problem, assert_unauthorized

IDENTITY_SCOPES = {"openid", "email", "profile"}
BROADER_CALENDAR_SCOPES = {
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events",
}


# ---- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    with start_fake_google() as fake:
        configure_google(monkeypatch, fake)
        yield fake


@pytest.fixture
def browser(app: Any, google: FakeGoogle) -> Iterator[TestClient]:
    with new_browser(app) as client:
        yield client


@pytest.fixture
def account(browser: TestClient, google: FakeGoogle) -> dict[str, Any]:
    """An account signed in with Google in `browser` (the fake's request log is cleared after)."""
    tokens = sign_in(browser, google, GoogleUser(email="ada@example.com", name="Ada"))
    google.clear_requests()
    return tokens


@pytest.fixture
def password_account(browser: TestClient) -> dict[str, Any]:
    """A password account (never signed in with Google) signed in in `browser`."""
    return register(browser, email="bea@example.com", name="Bea")


def connect(browser: TestClient, tokens: dict[str, Any], redirect_uri: str = FRONTEND) -> Any:
    return browser.post(
        "/v1/me/calendar/connect", json={"redirect_uri": redirect_uri}, headers=bearer(tokens)
    )


def start_connect(browser: TestClient, tokens: dict[str, Any], redirect_uri: str = FRONTEND) -> str:
    response = connect(browser, tokens, redirect_uri)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"authorization_url"}, response.json()
    return str(response.json()["authorization_url"])


def consent(browser: TestClient, fake: FakeGoogle, url: str, person: GoogleUser, **kw: Any) -> Any:
    """The user at Google's consent screen, then Google's redirect to our calendar callback."""
    back = fake.authorize(url, user=person, **kw)
    assert back.startswith(BASE + CALENDAR_CALLBACK + "?"), back
    return browser.get(callback_path(back))


def connect_calendar(
    browser: TestClient, fake: FakeGoogle, tokens: dict[str, Any], person: GoogleUser
) -> dict[str, str]:
    response = consent(browser, fake, start_connect(browser, tokens), person)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(FRONTEND + "#"), location
    return fragment_of(location)


def status(browser: TestClient, tokens: dict[str, Any]) -> dict[str, Any]:
    response = browser.get("/v1/me/calendar", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    return dict(response.json())


def google_tokens(fake: FakeGoogle, person: GoogleUser) -> dict[str, list[str]]:
    """Every refresh and access token the fake issued to this Google account (the fake's own records)."""
    with fake._lock:
        return {
            "refresh": [t for t, v in fake._refresh.items() if v.sub == person.sub],
            "access": [t for t, v in fake._access.items() if v.sub == person.sub],
        }


def connection(user_id: str) -> dict[str, Any] | None:
    return get_database().execute("SELECT * FROM calendar_connections WHERE user_id = ?", (user_id,)).first()


def rows_of(user_id: str) -> dict[str, int]:
    db = get_database()
    tables = [
        row[0]
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows
        if not row[0].startswith("sqlite_")
    ]
    found = {}
    for table in tables:
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")').rows]
        column = "user_id" if "user_id" in columns else ("id" if table == "users" else None)
        if column is None:
            continue
        hits = int(db.execute(f'SELECT count(*) FROM "{table}" WHERE {column} = ?', (user_id,)).scalar())
        if hits:
            found[table] = hits
    return found


def assert_disconnected_with_error(browser: TestClient, tokens: dict[str, Any]) -> dict[str, Any]:
    shown = status(browser, tokens)
    assert shown["connected"] is False and shown["status"] == "disconnected", shown
    assert isinstance(shown.get("error"), str) and shown["error"], shown
    me = browser.get("/v1/me", headers=bearer(tokens)).json()
    assert me["calendar"]["connected"] is False and me["calendar"]["status"] == "disconnected"
    return shown


def assert_no_tokens_stored(user_id: str) -> None:
    row = connection(user_id)
    assert row is None or (row["refresh_token"] is None and row["access_token"] is None), row


# ---- starting the connection ---------------------------------------------------------------------


def test_connect_returns_googles_consent_url(
    browser: TestClient,
    google: FakeGoogle,
    password_account: dict[str, Any],
) -> None:
    response = connect(browser, password_account)
    assert response.status_code == 200, response.text
    url = response.json()["authorization_url"]
    assert url.startswith(google.authorization_endpoint + "?"), url
    params = query_of(url)
    scopes = set(params["scope"].split())
    assert CALENDAR_SCOPE in scopes
    assert scopes <= IDENTITY_SCOPES | {CALENDAR_SCOPE}, scopes  # read-only events, nothing broader
    assert not scopes & BROADER_CALENDAR_SCOPES
    assert params["access_type"] == "offline"
    assert params["include_granted_scopes"] == "true"
    assert params["prompt"] == "consent"
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == BASE + CALENDAR_CALLBACK
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert CLIENT_SECRET not in url and "code_verifier" not in params

    cookie = binding_cookie(response)
    assert cookie["httponly"] and cookie["samesite"] == "lax" and cookie["path"] == BINDING_PATH
    assert not cookie["secure"]
    state = get_database().execute("SELECT purpose, user_id, redirect_uri FROM oauth_states").rows
    assert [tuple(row) for row in state] == [("calendar", password_account["user"]["id"], FRONTEND)]
    # Sign-in never asks for the calendar: only this route does.
    assert google.requests_to("/o/oauth2") == []


def test_connect_needs_a_signed_in_user(browser: TestClient, google: FakeGoogle) -> None:
    assert_unauthorized(browser.post("/v1/me/calendar/connect", json={"redirect_uri": FRONTEND}))
    assert count("oauth_states") == 0


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/",
        "http://localhost:3000/auth/callback/",
        "http://localhost:3000/auth",
        "http://LOCALHOST:3000/auth/callback",
        "http://localhost:3000/auth/callback?x=1",
        "http://localhost:3000/auth/callbackx",
    ],
    ids=["other", "trailing-slash", "prefix", "case", "extra-query", "longer"],
)
def test_connect_rejects_a_redirect_uri_that_is_not_exactly_allowed(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    redirect_uri: str,
) -> None:
    assert_problem(connect(browser, account, redirect_uri), 400, redirect_uri)
    assert count("oauth_states") == 0


@pytest.mark.parametrize(
    "body", [{}, {"redirect_uri": ""}, {"redirect_uri": 5}, {"redirect_uri": FRONTEND, "x": 1}]
)
def test_connect_validates_its_body(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    body: dict[str, Any],
) -> None:
    response = browser.post("/v1/me/calendar/connect", json=body, headers=bearer(account))
    assert response.status_code in (400, 422), response.text
    assert_problem(response, response.status_code)
    assert count("oauth_states") == 0


# ---- connecting ------------------------------------------------------------------------------------


def test_connecting_stores_sealed_tokens_that_never_leak(
    browser: TestClient,
    google: FakeGoogle,
    password_account: dict[str, Any],
    isolated_env: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    reset_caches()
    caplog.set_level(logging.DEBUG)
    person = GoogleUser(email="ada.calendar@example.com")
    user_id = password_account["user"]["id"]
    seen: list[Any] = []

    connect_response = connect(browser, password_account)
    seen.append(connect_response)
    back = google.authorize(connect_response.json()["authorization_url"], user=person, consent=True)
    callback = browser.get(callback_path(back))
    seen.append(callback)
    assert callback.status_code == 302, callback.text
    location = callback.headers["location"]
    assert location.split("#")[0] == FRONTEND
    assert fragment_of(location) == {"calendar": "connected"}
    assert count("oauth_states") == 0  # the state is spent

    issued = google_tokens(google, person)
    assert len(issued["refresh"]) == 1 and len(issued["access"]) == 1, issued
    refresh, access = issued["refresh"][0], issued["access"][0]
    # The code was exchanged with PKCE (the fake checks the verifier) at the discovery's token endpoint.
    exchange = google.requests_to("/token")
    assert len(exchange) == 1 and exchange[0]["status"] == 200
    assert exchange[0]["form"]["redirect_uri"] == BASE + CALENDAR_CALLBACK

    shown = status(browser, password_account)
    seen.append(browser.get("/v1/me/calendar", headers=bearer(password_account)))
    assert shown["connected"] is True and shown["status"] == "connected", shown
    assert shown["interviews_found"] == 0 and shown.get("error") is None
    me = browser.get("/v1/me", headers=bearer(password_account))
    seen.append(me)
    assert me.json()["calendar"]["connected"] is True and me.json()["calendar"]["status"] == "connected"

    # Sealed at rest: AES-GCM ciphertexts bound to the user, opening to Google's tokens.
    row = connection(user_id)
    assert row is not None and row["status"] == "connected"
    assert refresh not in row["refresh_token"] and access not in (row["access_token"] or "")
    sealer = get_sealer()
    assert sealer.open(row["refresh_token"], context=f"google-refresh-token:{user_id}") == refresh
    assert CALENDAR_SCOPE in row["scopes"].split()

    # The raw database files never hold the tokens (nor a recognisable piece of them).
    raw = raw_database(isolated_env)
    for token in (refresh, access):
        for needle in (token, token[5:45]):
            assert needle.encode() not in raw, needle

    # No response shows them: status, user, refresh, export.
    refreshed = browser.post("/v1/auth/refresh", json={"refresh_token": password_account["refresh_token"]})
    seen.append(refreshed)
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    document, exported = export_json(browser, headers)
    assert document["calendar"]["connected"] is True
    csv_files = csv_members(download(browser, request_export(browser, headers, "csv")))
    blobs = [exported, *csv_files.values()] + [r.content + str(r.headers).encode() for r in seen]
    for blob in blobs:
        assert refresh.encode() not in blob and access.encode() not in blob

    # No log line shows them.
    app_records = [r for r in caplog.records if not r.name.startswith("httpx")]  # not the test client's
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in app_records)
    out, err = capfd.readouterr()
    assert "google token" in logged or "request" in logged, logged[:2000]  # the capture sees the app's logs
    for text in (logged, out, err):
        assert refresh not in text and access not in text
        assert refresh[5:45] not in text and access[5:45] not in text


def test_tokens_are_aes_256_gcm_under_the_configured_key(
    app: Any, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened here with the cryptography library and TOKEN_ENCRYPTION_KEY alone (not the app's code)."""
    key = os.urandom(32)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", base64.b64encode(key).decode())
    reset_caches()
    person = GoogleUser(email="keyed@example.com")
    with new_browser(app) as client:
        tokens = sign_in(client, google, GoogleUser(email="owner@example.com"))
        connect_calendar(client, google, tokens, person)
    user_id = tokens["user"]["id"]
    row = connection(user_id)
    assert row is not None
    refresh = google_tokens(google, person)["refresh"][0]
    sealed = row["refresh_token"]
    assert sealed.startswith("v1.")
    raw = base64.urlsafe_b64decode(sealed[3:] + "=" * (-len(sealed[3:]) % 4))
    opened = AESGCM(key).decrypt(raw[:12], raw[12:], f"google-refresh-token:{user_id}".encode())
    assert opened.decode() == refresh
    with pytest.raises(InvalidTag):  # bound to its owner: another user's context does not open it
        AESGCM(key).decrypt(raw[:12], raw[12:], b"google-refresh-token:someone-else")
    with pytest.raises(InvalidTag):  # and to the key
        AESGCM(os.urandom(32)).decrypt(raw[:12], raw[12:], f"google-refresh-token:{user_id}".encode())


def test_a_google_user_connects_incrementally(
    browser: TestClient,
    google: FakeGoogle,
) -> None:
    person = GoogleUser(email="grace@example.com")
    tokens = sign_in(browser, google, person)
    # Sign-in asked for identity only.
    first = google.authorization_requests[0]["params"]
    assert first["scope"] == "openid email profile" and "access_type" not in first
    assert google.granted_scopes(person, CLIENT_ID) and CALENDAR_SCOPE not in google.granted_scopes(
        person, CLIENT_ID
    )
    assert connect_calendar(browser, google, tokens, person) == {"calendar": "connected"}
    assert status(browser, tokens)["connected"] is True
    assert CALENDAR_SCOPE in google.granted_scopes(person, CLIENT_ID)
    assert google.has_live_tokens(person, CLIENT_ID)


def test_the_connection_survives_a_new_process(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    url = start_connect(browser, account)
    reset_caches()
    response = consent(browser, google, url, GoogleUser())
    assert response.status_code == 302, response.text
    assert status(browser, account)["connected"] is True


def test_denial_leaves_the_calendar_disconnected_with_an_error(
    browser: TestClient,
    google: FakeGoogle,
    password_account: dict[str, Any],
) -> None:
    response = consent(browser, google, start_connect(browser, password_account), GoogleUser(), consent=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(FRONTEND + "#")
    values = fragment_of(location)
    assert values["error"] == "access_denied" and values.get("calendar") != "connected"
    assert_disconnected_with_error(browser, password_account)
    assert_no_tokens_stored(password_account["user"]["id"])
    assert google.requests_to("/token") == []


def test_a_partial_grant_is_disconnected_and_its_token_revoked(
    browser: TestClient,
    google: FakeGoogle,
) -> None:
    """The user unticks the calendar box: Google still issues a token (for the earlier identity scopes,
    include_granted_scopes), which the app must not keep."""
    person = GoogleUser(email="partial@example.com")
    tokens = sign_in(browser, google, person)
    url = start_connect(browser, tokens)
    response = consent(browser, google, url, person, granted_scopes=[])
    assert response.status_code == 302, response.text
    values = fragment_of(response.headers["location"])
    assert response.headers["location"].startswith(FRONTEND + "#")
    assert "error" in values and values.get("calendar") != "connected", values
    exchange = google.requests_to("/token")[-1]
    assert exchange["status"] == 200  # a token was issued ...
    assert google.revoked, "the unused grant was not revoked at Google"  # ... and handed back
    assert not google.has_live_tokens(person, CLIENT_ID)
    shown = assert_disconnected_with_error(browser, tokens)
    assert "calendar" in shown["error"].lower() or "grant" in shown["error"].lower()
    assert_no_tokens_stored(tokens["user"]["id"])


def test_a_password_user_who_grants_nothing_is_disconnected(
    browser: TestClient,
    google: FakeGoogle,
    password_account: dict[str, Any],
) -> None:
    response = consent(
        browser, google, start_connect(browser, password_account), GoogleUser(), granted_scopes=[]
    )
    assert response.status_code == 302, response.text
    assert "error" in fragment_of(response.headers["location"])
    assert_disconnected_with_error(browser, password_account)
    assert_no_tokens_stored(password_account["user"]["id"])


def test_a_missing_refresh_token_is_disconnected_and_the_access_token_revoked(
    browser: TestClient,
    google: FakeGoogle,
    password_account: dict[str, Any],
) -> None:
    """Google issues a refresh token only on the first offline grant or with prompt=consent. The user
    had granted this client offline access before (another device), and Google skipped the consent
    screen (here: the prompt parameter is lost on the way), so the answer carries no refresh token."""
    person = GoogleUser(email="norefresh@example.com")
    google.grant(person, CLIENT_ID, scopes=[CALENDAR_SCOPE], offline=True)
    url = start_connect(browser, password_account)
    parts = urlsplit(url)
    params = {k: v for k, v in query_of(url).items() if k != "prompt"}
    without_prompt = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"
    before_revoked = len(google.revoked)
    response = consent(browser, google, without_prompt, person)
    assert response.status_code == 302, response.text
    values = fragment_of(response.headers["location"])
    assert "error" in values and values.get("calendar") != "connected", values
    shown = assert_disconnected_with_error(browser, password_account)
    assert "refresh" in shown["error"].lower() or "offline" in shown["error"].lower()
    assert_no_tokens_stored(password_account["user"]["id"])
    assert len(google.revoked) > before_revoked  # the access token it did get was handed back


def test_a_failed_reconnect_keeps_the_working_connection(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    person = GoogleUser(email="again@example.com")
    connect_calendar(browser, google, account, person)
    sealed = connection(account["user"]["id"])
    response = consent(browser, google, start_connect(browser, account), person, consent=False)
    assert response.status_code == 302
    assert status(browser, account)["connected"] is True
    assert connection(account["user"]["id"]) == sealed
    # A successful reconnect replaces the stored tokens with the new ones.
    connect_calendar(browser, google, account, person)
    row = connection(account["user"]["id"])
    assert row is not None and row["status"] == "connected"
    newest = google_tokens(google, person)["refresh"][-1]
    opened = get_sealer().open(row["refresh_token"], context=f"google-refresh-token:{account['user']['id']}")
    assert opened == newest


def test_a_browser_frontend_on_another_origin_can_connect(
    app: Any,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    """The frontend (FRONTEND's origin, one of CORS_ALLOW_ORIGINS) calls POST /v1/me/calendar/connect
    with fetch(), then sends the browser to the returned URL. A browser stores a cookie from a
    cross-origin fetch() response only for a credentialed request, and sends a credentialed request
    with an Authorization header only after a preflight that answers Access-Control-Allow-Credentials:
    true. Whatever binds the flow to the browser must survive those rules, or the callback can never
    find it: here the browser is modelled step by step (API-origin navigations keep cookies)."""
    origin = "http://localhost:3000"
    with new_browser(app) as real:
        preflight = real.options(
            "/v1/me/calendar/connect",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        credentialed = (
            preflight.status_code in (200, 204)
            and preflight.headers.get("access-control-allow-origin") == origin
            and preflight.headers.get("access-control-allow-credentials") == "true"
        )
        response = real.post(
            "/v1/me/calendar/connect",
            json={"redirect_uri": FRONTEND},
            headers={**bearer(account), "Origin": origin},
        )
        assert response.status_code == 200, response.text
        assert response.headers.get("access-control-allow-origin") == origin
        if not (credentialed and response.headers.get("access-control-allow-credentials") == "true"):
            real.cookies.clear()  # an uncredentialed fetch() stores no cookie
        url = response.json()["authorization_url"]
        # Top-level navigation: follow the API's own redirects (cookies kept) until Google.
        for _ in range(5):
            if not url.startswith(BASE):
                break
            hop = real.get(callback_path(url))
            assert hop.status_code in (302, 303, 307), hop.text
            url = hop.headers["location"]
        back = google.authorize(url, user=GoogleUser(email="cors@example.com"))
        done = real.get(callback_path(back))
        assert done.status_code == 302, (
            f"preflight credentialed={credentialed}: the callback found no browser binding: {done.text}"
        )
        assert fragment_of(done.headers["location"]) == {"calendar": "connected"}


# ---- state checks at the calendar callback -----------------------------------------------------------


def test_a_replayed_calendar_state_is_rejected(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    back = google.authorize(start_connect(browser, account), user=GoogleUser())
    assert browser.get(callback_path(back)).status_code == 302
    row = connection(account["user"]["id"])
    again = browser.get(callback_path(back))
    assert_problem(again, 400)
    assert "location" not in again.headers
    assert connection(account["user"]["id"]) == row


def test_a_calendar_callback_from_another_browser_is_rejected(
    app: Any,
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    """An attacker must not attach their Google Calendar to the victim's account, nor the reverse."""
    back = google.authorize(start_connect(browser, account), user=GoogleUser(email="attacker@example.com"))
    with new_browser(app) as other:
        assert_problem(other.get(callback_path(back)), 400)
    assert connection(account["user"]["id"]) is None
    assert status(browser, account)["connected"] is False


@pytest.mark.parametrize("state", ["never-issued-state-value-0123456789abcdef", ""], ids=["forged", "empty"])
def test_a_forged_calendar_state_is_rejected(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    state: str,
) -> None:
    back = google.authorize(start_connect(browser, account), user=GoogleUser())
    response = browser.get(CALENDAR_CALLBACK, params={"code": query_of(back)["code"], "state": state})
    assert_problem(response, 400)
    assert connection(account["user"]["id"]) is None


def test_an_expired_calendar_state_is_rejected(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    back = google.authorize(start_connect(browser, account), user=GoogleUser())
    get_database().execute(
        "UPDATE oauth_states SET created_at = ?, expires_at = ?",
        ("2020-01-01T00:00:00.000000Z", "2020-01-01T00:10:00.000000Z"),
    )
    assert_problem(browser.get(callback_path(back)), 400)
    assert connection(account["user"]["id"]) is None


def test_a_calendar_state_does_not_sign_anyone_in(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    back = google.authorize(start_connect(browser, account), user=GoogleUser())
    sessions = count("sessions")
    response = browser.get(SIGNIN_CALLBACK + "?" + urlsplit(back).query)
    assert_problem(response, 400)
    assert count("sessions") == sessions


def test_a_calendar_flow_of_a_deleted_account_goes_nowhere(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    back = google.authorize(start_connect(browser, account), user=GoogleUser())
    assert browser.delete("/v1/me", headers=bearer(account)).status_code == 204
    assert count("oauth_states") == 0
    assert_problem(browser.get(callback_path(back)), 400)
    assert count("calendar_connections") == 0 and count("users") == 0


# ---- Google failing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("status_code", "body"), [(500, None), (400, None), (200, "<html>oops</html>")])
def test_a_failing_token_endpoint_is_a_400_problem_and_nothing_is_stored(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    status_code: int,
    body: Any,
) -> None:
    google.fail_next("token", status_code, body=body)
    response = consent(browser, google, start_connect(browser, account), GoogleUser())
    assert_problem(response, 400)
    assert "location" not in response.headers
    assert status(browser, account)["connected"] is False
    assert_no_tokens_stored(account["user"]["id"])


def test_connect_while_google_is_unreachable_is_a_problem_not_a_500(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    # The discovery document is cached per process (as in a warm Lambda): start from a cold one.
    from auth.google import get_google_client

    get_google_client.cache_clear()
    google.fail_next("discovery", 503)
    response = connect(browser, account)
    assert response.status_code in (400, 502, 503), response.text
    assert_problem(response, response.status_code)
    assert count("oauth_states") == 0
    assert connect(browser, account).status_code == 200  # and it works once Google is back


# ---- disconnecting -------------------------------------------------------------------------------------


def test_disconnect_revokes_at_google_and_deletes_the_tokens(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    isolated_env: Path,
) -> None:
    person = GoogleUser(email="bye@example.com")
    connect_calendar(browser, google, account, person)
    refresh = google_tokens(google, person)["refresh"][0]
    response = browser.delete("/v1/me/calendar", headers=bearer(account))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert refresh in google.revoked
    assert [r["form"]["token"] for r in google.requests_to("/revoke")] == [refresh]
    assert not google.has_live_tokens(person, CLIENT_ID)
    assert_no_tokens_stored(account["user"]["id"])
    row = connection(account["user"]["id"])
    assert row is None or (row["sync_token"] is None and row["status"] != "connected"), row
    shown = status(browser, account)
    assert shown["connected"] is False and shown["status"] == "disconnected"
    assert browser.get("/v1/me", headers=bearer(account)).json()["calendar"]["connected"] is False
    assert refresh.encode() not in raw_database(isolated_env)
    # Again: nothing left to revoke, still 204.
    assert browser.delete("/v1/me/calendar", headers=bearer(account)).status_code == 204
    assert len(google.requests_to("/revoke")) == 1


def test_disconnect_without_a_connection_is_204(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    assert browser.delete("/v1/me/calendar", headers=bearer(account)).status_code == 204
    assert google.requests_to("/revoke") == []


def test_disconnect_needs_a_signed_in_user(browser: TestClient, google: FakeGoogle) -> None:
    assert_unauthorized(browser.delete("/v1/me/calendar"))
    assert_unauthorized(browser.get("/v1/me/calendar"))


@pytest.mark.parametrize("failure", ["revoke-500", "revoke-400", "discovery-down"])
def test_disconnect_deletes_locally_even_when_google_fails(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    person = GoogleUser(email="flaky@example.com")
    connect_calendar(browser, google, account, person)
    refresh = google_tokens(google, person)["refresh"][0]
    if failure == "revoke-500":
        google.fail_next("revoke", 500)
    elif failure == "revoke-400":
        google.fail_next("revoke", 400)
    else:
        reset_caches()  # a new invocation: the discovery document must be fetched again, and fails
        google.fail_next("discovery", 500)
    caplog.set_level(logging.INFO)
    response = browser.delete("/v1/me/calendar", headers=bearer(account))
    assert response.status_code == 204, response.text
    assert refresh not in google.revoked
    assert_no_tokens_stored(account["user"]["id"])
    assert status(browser, account)["connected"] is False
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "revocation" in logged  # best effort, logged
    assert refresh not in logged


def test_deleting_the_account_revokes_first_and_leaves_no_row(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    isolated_env: Path,
) -> None:
    person = GoogleUser(email="leaving@example.com")
    other = sign_in(browser, google, GoogleUser(email="stays@example.com"))
    user_id = account["user"]["id"]
    connect_calendar(browser, google, account, person)
    start_connect(browser, account)  # a flow in progress too
    refresh = google_tokens(google, person)["refresh"][0]
    assert {"users", "sessions", "calendar_connections", "oauth_states"} <= set(rows_of(user_id))
    other_rows = rows_of(other["user"]["id"])

    response = browser.delete("/v1/me", headers=bearer(account))
    assert response.status_code == 204, response.text
    assert refresh in google.revoked
    assert not google.has_live_tokens(person, CLIENT_ID)
    assert rows_of(user_id) == {}
    assert rows_of(other["user"]["id"]) == other_rows
    assert_unauthorized(browser.get("/v1/me", headers=bearer(account)))
    assert (
        browser.post("/v1/auth/refresh", json={"refresh_token": account["refresh_token"]}).status_code == 401
    )
    assert refresh.encode() not in raw_database(isolated_env)


@pytest.mark.parametrize("endpoint", ["revoke", "discovery"])
def test_deleting_the_account_when_google_fails_still_deletes_everything(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
    endpoint: str,
) -> None:
    person = GoogleUser(email="stuck@example.com")
    user_id = account["user"]["id"]
    connect_calendar(browser, google, account, person)
    refresh = google_tokens(google, person)["refresh"][0]
    if endpoint == "discovery":
        reset_caches()
    google.fail_next(endpoint, 500)
    response = browser.delete("/v1/me", headers=bearer(account))
    assert response.status_code == 204, response.text
    assert refresh not in google.revoked
    assert rows_of(user_id) == {}


def test_a_google_account_deletes_with_its_calendar(
    browser: TestClient,
    google: FakeGoogle,
) -> None:
    person = GoogleUser(email="gone@example.com")
    tokens = sign_in(browser, google, person)
    connect_calendar(browser, google, tokens, person)
    assert browser.delete("/v1/me", headers=bearer(tokens)).status_code == 204
    assert rows_of(tokens["user"]["id"]) == {}
    assert google.revoked
    # Signing in again with the same Google account makes a fresh, unconnected account.
    again = sign_in(browser, google, person, redirect_uri=OTHER_FRONTEND)
    assert again["user"]["id"] != tokens["user"]["id"]
    assert again["user"]["calendar"]["connected"] is False


def test_the_fragment_is_not_json_of_tokens(
    browser: TestClient,
    google: FakeGoogle,
    account: dict[str, Any],
) -> None:
    """The calendar callback's redirect says only `calendar=connected`: no Google token travels to the
    frontend."""
    person = GoogleUser()
    values = connect_calendar(browser, google, account, person)
    issued = google_tokens(google, person)
    assert values == {"calendar": "connected"}
    assert not any(token in json.dumps(values) for token in issued["refresh"] + issued["access"])


def test_reconnecting_starts_the_next_poll_with_a_full_sync(
    browser: TestClient, google: FakeGoogle, password_account: dict[str, Any]
) -> None:
    """New tokens may be another Google account's: the old sync token describes the old calendar, and a
    410 resync from it would take that calendar's events as deleted. So a reconnect forgets it."""
    user_id = password_account["user"]["id"]
    assert connect_calendar(browser, google, password_account, GoogleUser(email="ada@example.com")) == {
        "calendar": "connected"
    }
    get_database().execute(
        "UPDATE calendar_connections SET sync_token = 'old-calendar' WHERE user_id = ?", (user_id,)
    )
    other = GoogleUser(email="ada.work@example.com")
    assert connect_calendar(browser, google, password_account, other) == {"calendar": "connected"}
    row = connection(user_id)
    assert row is not None and row["status"] == "connected" and row["sync_token"] is None
