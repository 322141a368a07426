"""Google sign-in (API.md "Accounts and sessions", issue 5) against a fake Google on loopback, driven by the
real authlib/joserfc code through GOOGLE_DISCOVERY_URL: the OIDC code flow with state, nonce and PKCE, the
browser-binding cookie, redirect_uri matching, state replay/forgery/expiry, denial, ID-token rejections
modelled on the OpenID RP conformance tests, account linking, and 503 without a Google client.

The fixtures here (`google`, `browser`, ...) are shared with test_google_calendar.py.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from common.db import get_database
from tests.conftest import PASSWORD, bearer, register, reset_caches
from tests.fakes.google_server import GOOGLE_ISSUER, FakeGoogle, GoogleUser, IdTokenMode, start_fake_google
from tests.problems import assert_problem

CLIENT_ID = "tracker-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret-for-tests"
BASE = "http://localhost"  # PUBLIC_BASE_URL and the TestClient's origin (no Secure cookie on localhost)
FRONTEND = "http://localhost:3000/auth/callback"
OTHER_FRONTEND = "https://app.example.com/auth/google"
SIGNIN_CALLBACK = "/v1/auth/google/callback"
CALENDAR_CALLBACK = "/v1/auth/google/calendar/callback"
BINDING_COOKIE = "tracker_oauth_binding"
BINDING_PATH = "/v1/auth/google"
ROW_TABLES = ("users", "sessions", "refresh_tokens")


# ---- fixtures and helpers (also used by test_google_calendar.py) ------------------------------------


def configure_google(monkeypatch: pytest.MonkeyPatch, fake: FakeGoogle, base: str = BASE) -> None:
    fake.register_client(CLIENT_ID, CLIENT_SECRET, [base + SIGNIN_CALLBACK, base + CALENDAR_CALLBACK])
    monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GOOGLE_DISCOVERY_URL", fake.discovery_url)
    monkeypatch.setenv("ALLOWED_REDIRECT_URIS", f"{FRONTEND},{OTHER_FRONTEND}")
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    reset_caches()


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    """A fake Google, with the app configured to use it (client registered with both callbacks)."""
    with start_fake_google() as fake:
        configure_google(monkeypatch, fake)
        yield fake


@pytest.fixture
def browser(app: Any, google: FakeGoogle) -> Iterator[TestClient]:
    """One browser: keeps its cookies, does not follow redirects (each hop is checked)."""
    with TestClient(app, base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def new_browser(app: Any, base: str = BASE) -> TestClient:
    return TestClient(app, base_url=base, raise_server_exceptions=False, follow_redirects=False)


def count(table: str) -> int:
    return int(get_database().execute(f"SELECT count(*) FROM {table}").scalar())


def counts() -> dict[str, int]:
    return {table: count(table) for table in ROW_TABLES}


def query_of(url: str) -> dict[str, str]:
    pairs = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=False)
    assert all(len(values) == 1 for values in pairs.values()), url
    return {name: values[0] for name, values in pairs.items()}


def fragment_of(location: str) -> dict[str, str]:
    pairs = parse_qs(urlsplit(location).fragment, keep_blank_values=True)
    assert all(len(values) == 1 for values in pairs.values()), location
    return {name: values[0] for name, values in pairs.items()}


def binding_cookie(response: Any) -> dict[str, Any]:
    """The binding cookie's attributes as sent in Set-Cookie (value, path, flags)."""
    headers = [value for name, value in response.headers.multi_items() if name.lower() == "set-cookie"]
    found = [h for h in headers if h.startswith(BINDING_COOKIE + "=")]
    assert len(found) == 1, headers
    raw = found[0]
    morsel = SimpleCookie(raw)[BINDING_COOKIE]
    flags = {part.strip().lower() for part in raw.split(";")}
    return {
        "value": morsel.value,
        "path": morsel["path"],
        "samesite": str(morsel["samesite"]).lower(),
        "httponly": "httponly" in flags,
        "secure": "secure" in flags,
        "max_age": morsel["max-age"],
        "raw": raw,
    }


def start_login(browser: TestClient, redirect_uri: str = FRONTEND) -> str:
    """GET /v1/auth/google/login; the authorization URL the browser is sent to."""
    response = browser.get("/v1/auth/google/login", params={"redirect_uri": redirect_uri})
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def callback_path(url: str) -> str:
    """Google's redirect (absolute, on PUBLIC_BASE_URL) as a path the TestClient requests."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def google_callback(browser: TestClient, fake: FakeGoogle, url: str, user: GoogleUser, **kw: Any) -> Any:
    """Play the user at Google, then follow Google's redirect back to our callback."""
    back = fake.authorize(url, user=user, **kw)
    assert back.startswith(BASE + SIGNIN_CALLBACK + "?"), back
    return browser.get(callback_path(back))


def sign_in(browser: TestClient, fake: FakeGoogle, user: GoogleUser, redirect_uri: str = FRONTEND) -> dict:
    """The whole sign-in; the token response from the fragment (user decoded)."""
    response = google_callback(browser, fake, start_login(browser, redirect_uri), user)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "#"), location
    values: dict[str, Any] = fragment_of(location)
    values["user"] = json.loads(values["user"])
    return values


def assert_rejected(response: Any, before: dict[str, int], status: int = 400) -> dict[str, Any]:
    """A problem answer (no redirect to the frontend) and no new user, session or refresh token."""
    assert "location" not in response.headers, response.headers
    body = assert_problem(response, status)
    assert counts() == before
    return body


def id_token_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def raw_database(data_dir: Path) -> bytes:
    files = sorted(data_dir.glob("tracker.db*"))
    assert files, list(data_dir.iterdir())
    return b"".join(path.read_bytes() for path in files)


# ---- the happy path ------------------------------------------------------------------------------


def test_login_redirects_to_google_with_state_nonce_and_pkce(browser: TestClient, google: FakeGoogle) -> None:
    response = browser.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND})
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(google.authorization_endpoint + "?"), location
    params = query_of(location)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["scope"] == "openid email profile"
    assert params["redirect_uri"] == BASE + SIGNIN_CALLBACK
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["state"] != params["nonce"]
    for absent in ("access_type", "include_granted_scopes", "code_verifier", "client_secret"):
        assert absent not in params, absent
    assert CLIENT_SECRET not in location

    cookie = binding_cookie(response)
    assert cookie["httponly"] and cookie["samesite"] == "lax" and cookie["path"] == BINDING_PATH
    assert not cookie["secure"]  # http://localhost only
    assert len(cookie["value"]) >= 20
    assert 0 < int(cookie["max_age"]) <= 600
    # A fresh state per flow, stored (as a hash, never the state itself) in the database.
    assert count("oauth_states") == 1
    assert start_login(browser) != location
    assert count("oauth_states") == 2
    stored = get_database().execute("SELECT state_hash FROM oauth_states").rows
    assert params["state"] not in {row[0] for row in stored}


def test_sign_in_lands_on_the_frontend_with_tokens_in_the_fragment(
    browser: TestClient, google: FakeGoogle, isolated_env: Path
) -> None:
    person = GoogleUser(email="grace@example.com", name="Grace Hopper")
    url = start_login(browser)
    params = query_of(url)
    response = google_callback(browser, google, url, person)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    parts = urlsplit(location)
    assert location.split("#")[0] == FRONTEND  # nothing in the query: the tokens stay out of logs/Referer
    values = fragment_of(location)
    assert {"access_token", "refresh_token", "token_type", "expires_in", "user"} <= set(values), values
    assert values["token_type"] == "Bearer"
    assert int(values["expires_in"]) > 0
    assert parts.query == ""
    user = json.loads(values["user"])
    assert user["email"] == "grace@example.com"
    assert user["name"] == "Grace Hopper"
    assert user["google_linked"] is True
    assert user["picture_url"] == person.picture
    assert user["calendar"]["connected"] is False

    # The code was exchanged with the PKCE verifier and the client secret (the fake checks both).
    token_requests = google.requests_to("/token")
    assert len(token_requests) == 1 and token_requests[0]["status"] == 200
    form = token_requests[0]["form"]
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == BASE + SIGNIN_CALLBACK
    assert 43 <= len(form["code_verifier"]) <= 128
    # The ID token the app accepted carried this flow's nonce.
    assert id_token_claims(google.id_tokens[-1])["nonce"] == params["nonce"]
    # The spent state is gone.
    assert count("oauth_states") == 0

    # The access token works, and so does the refresh token.
    me = browser.get("/v1/me", headers=bearer(values))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"] and me.json()["google_linked"] is True
    refreshed = browser.post("/v1/auth/refresh", json={"refresh_token": values["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    # Neither the state, the nonce nor Google's tokens are stored in clear.
    raw = raw_database(isolated_env)
    for secret in (params["state"], params["nonce"], google.id_tokens[-1]):
        assert secret.encode() not in raw


def test_sign_in_logs_no_code_state_or_token(
    browser: TestClient, google: FakeGoogle, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    reset_caches()
    caplog.set_level(logging.DEBUG)
    url = start_login(browser)
    back = google.authorize(url, user=GoogleUser(email="quiet@example.com"))
    response = browser.get(callback_path(back))
    assert response.status_code == 302, response.text
    values = fragment_of(response.headers["location"])
    # Every log line but the test client's own (httpx logs the URLs it requests).
    logged = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if not r.name.startswith("httpx")
    )
    assert "request" in logged  # the capture sees the app's log lines
    secrets = [query_of(back)["code"], query_of(url)["state"], query_of(url)["nonce"], google.id_tokens[-1]]
    secrets += [values["access_token"], values["refresh_token"], browser.cookies[BINDING_COOKIE]]
    for secret in secrets:
        assert secret not in logged


def test_googles_two_issuer_spellings_are_accepted_and_nothing_else(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Google's real issuer, ID tokens carry "https://accounts.google.com" or "accounts.google.com"."""
    with start_fake_google(issuer=GOOGLE_ISSUER) as fake, new_browser(app) as client:
        configure_google(monkeypatch, fake)
        sign_in(client, fake, GoogleUser(email="one@example.com"))
        fake.next_id_token(IdTokenMode.VALID, claims={"iss": "accounts.google.com"})
        sign_in(client, fake, GoogleUser(email="two@example.com"))
        for iss in ("https://accounts.google.com/", "http://accounts.google.com", fake.base_url):
            fake.next_id_token(IdTokenMode.VALID, claims={"iss": iss})
            url = start_login(client)
            before = counts()
            assert_rejected(google_callback(client, fake, url, GoogleUser(email="three@example.com")), before)


def test_a_second_sign_in_finds_the_same_user(browser: TestClient, google: FakeGoogle) -> None:
    person = GoogleUser(email="linus@example.com", name="Linus")
    first = sign_in(browser, google, person)
    # Google may report a changed email and name: the account is found by `sub`.
    moved = GoogleUser(email="linus@new.example.com", name="Linus T", sub=person.sub)
    second = sign_in(browser, google, moved, redirect_uri=OTHER_FRONTEND)
    assert second["user"]["id"] == first["user"]["id"]
    assert count("users") == 1
    assert count("sessions") == 2
    assert first["refresh_token"] != second["refresh_token"]
    # Another Google account is another user.
    other = sign_in(browser, google, GoogleUser(email="someone@example.com"))
    assert other["user"]["id"] != first["user"]["id"]
    assert count("users") == 2


def test_two_flows_in_the_same_browser_both_complete(browser: TestClient, google: FakeGoogle) -> None:
    """Two tabs: the second login keeps the browser's binding, so the first flow still completes."""
    first_url = start_login(browser)
    second_url = start_login(browser)
    person = GoogleUser(email="tabs@example.com")
    first = google_callback(browser, google, first_url, person)
    assert first.status_code == 302 and first.headers["location"].startswith(FRONTEND + "#access_token=")
    second = google_callback(browser, google, second_url, person)
    assert second.status_code == 302 and second.headers["location"].startswith(FRONTEND + "#access_token=")
    assert count("users") == 1


def test_the_flow_needs_no_server_memory(browser: TestClient, google: FakeGoogle) -> None:
    """The callback may run in another Lambda invocation: every cache is dropped in between."""
    url = start_login(browser)
    reset_caches()
    response = google_callback(browser, google, url, GoogleUser(email="cold@example.com"))
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(FRONTEND + "#access_token=")


def test_the_binding_cookie_is_secure_on_https(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an https PUBLIC_BASE_URL the cookie is Secure, and the whole flow works there."""
    base = "https://tracker.example.com"
    with start_fake_google() as fake, new_browser(app, base) as client:
        configure_google(monkeypatch, fake, base)
        response = client.get("/v1/auth/google/login", params={"redirect_uri": OTHER_FRONTEND})
        assert response.status_code == 302, response.text
        cookie = binding_cookie(response)
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "lax"
        assert cookie["path"] == BINDING_PATH
        url = response.headers["location"]
        assert query_of(url)["redirect_uri"] == base + SIGNIN_CALLBACK
        back = fake.authorize(url, user=GoogleUser(email="secure@example.com"))
        assert back.startswith(base + SIGNIN_CALLBACK + "?")
        done = client.get(callback_path(back))
        assert done.status_code == 302, done.text
        assert done.headers["location"].startswith(OTHER_FRONTEND + "#access_token=")


@pytest.mark.parametrize("base", ["http://tracker.example.com", "http://localhost.example.com"])
def test_the_binding_cookie_is_secure_on_any_other_http_host(
    app: Any, monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    with start_fake_google() as fake, new_browser(app, base) as client:
        configure_google(monkeypatch, fake, base)
        response = client.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND})
        assert response.status_code == 302, response.text
        assert binding_cookie(response)["secure"] is True


# ---- redirect_uri --------------------------------------------------------------------------------

BAD_REDIRECT_URIS = {
    "not-allowed": "https://evil.example.com/auth/callback",
    "prefix-of-allowed": "http://localhost:3000/auth",
    "allowed-is-prefix": "http://localhost:3000/auth/callbackx",
    "sub-path": "http://localhost:3000/auth/callback/evil",
    "trailing-slash": "http://localhost:3000/auth/callback/",
    "upper-case-host": "http://LOCALHOST:3000/auth/callback",
    "upper-case-scheme": "HTTP://localhost:3000/auth/callback",
    "upper-case-path": "http://localhost:3000/Auth/Callback",
    "extra-query": "http://localhost:3000/auth/callback?next=https://evil.example.com",
    "fragment": "http://localhost:3000/auth/callback#x",
    "userinfo": "http://localhost:3000@evil.example.com/auth/callback",
    "dot-segments": "http://localhost:3000/auth/x/../callback",
    "percent-encoded": "http://localhost:3000/auth/%63allback",
    "other-port": "http://localhost:3001/auth/callback",
    "https-instead": "https://localhost:3000/auth/callback",
    "leading-space": " http://localhost:3000/auth/callback",
    "trailing-space": "http://localhost:3000/auth/callback ",
    "two-allowed": f"{FRONTEND},{OTHER_FRONTEND}",
    "empty": "",
}


@pytest.mark.parametrize("redirect_uri", list(BAD_REDIRECT_URIS.values()), ids=list(BAD_REDIRECT_URIS))
def test_login_rejects_a_redirect_uri_that_is_not_exactly_allowed(
    browser: TestClient, google: FakeGoogle, redirect_uri: str
) -> None:
    response = browser.get("/v1/auth/google/login", params={"redirect_uri": redirect_uri})
    assert_problem(response, 400, redirect_uri)
    assert "location" not in response.headers
    assert count("oauth_states") == 0


def test_login_without_redirect_uri_is_400(browser: TestClient, google: FakeGoogle) -> None:
    response = browser.get("/v1/auth/google/login")
    assert_problem(response, 400)
    assert count("oauth_states") == 0


def test_login_accepts_every_allowed_redirect_uri(browser: TestClient, google: FakeGoogle) -> None:
    for uri in (FRONTEND, OTHER_FRONTEND):
        response = browser.get("/v1/auth/google/login", params={"redirect_uri": uri})
        assert response.status_code == 302, (uri, response.text)


def test_the_redirect_uri_comes_from_the_flow_not_the_callback(
    browser: TestClient, google: FakeGoogle
) -> None:
    """A redirect_uri added to the callback URL is ignored: the browser goes where the flow began."""
    back = google.authorize(start_login(browser, OTHER_FRONTEND), user=GoogleUser(email="x@example.com"))
    response = browser.get(callback_path(back) + "&redirect_uri=https%3A%2F%2Fevil.example.com%2F")
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(OTHER_FRONTEND + "#access_token=")


# ---- state: replay, forgery, expiry, another browser -----------------------------------------------


def test_a_replayed_state_is_rejected(browser: TestClient, google: FakeGoogle) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="replay@example.com"))
    first = browser.get(callback_path(back))
    assert first.status_code == 302, first.text
    before = counts()
    again = browser.get(callback_path(back))
    body = assert_rejected(again, before)
    assert "access_token" not in json.dumps(body)


def test_a_replayed_state_with_a_fresh_code_is_rejected(browser: TestClient, google: FakeGoogle) -> None:
    """The state is single use even when the attacker brings a new, valid code."""
    person = GoogleUser(email="replay2@example.com")
    url = start_login(browser)
    back = google.authorize(url, user=person)
    assert browser.get(callback_path(back)).status_code == 302
    fresh = google.authorize(url, user=person)  # Google would issue another code for the same request
    assert query_of(fresh)["state"] == query_of(back)["state"]
    before = counts()
    assert_rejected(browser.get(callback_path(fresh)), before)


@pytest.mark.parametrize(
    "state",
    ["forged-state-value-that-was-never-issued-by-the-app", "", "x" * 5000, "%00", "' OR 1=1 --"],
    ids=["unknown", "empty", "huge", "nul", "sql"],
)
def test_a_forged_state_is_rejected(browser: TestClient, google: FakeGoogle, state: str) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="forged@example.com"))
    code = query_of(back)["code"]
    before = counts()
    response = browser.get(SIGNIN_CALLBACK, params={"code": code, "state": state})
    assert_rejected(response, before)
    assert count("oauth_states") == 1  # the real flow is untouched


def test_a_callback_without_state_is_rejected(browser: TestClient, google: FakeGoogle) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="nostate@example.com"))
    before = counts()
    assert_rejected(browser.get(SIGNIN_CALLBACK, params={"code": query_of(back)["code"]}), before)
    assert_rejected(browser.get(SIGNIN_CALLBACK), before)


def test_an_expired_state_is_rejected(browser: TestClient, google: FakeGoogle) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="late@example.com"))
    changed = get_database().execute(
        "UPDATE oauth_states SET created_at = ?, expires_at = ?",
        ("2020-01-01T00:00:00.000000Z", "2020-01-01T00:10:00.000000Z"),
    )
    assert changed.rows_affected == 1
    before = counts()
    assert_rejected(browser.get(callback_path(back)), before)


def test_the_state_lives_ten_minutes(browser: TestClient, google: FakeGoogle) -> None:
    """The state expires 10 minutes after the flow starts."""
    start_login(browser)
    row = get_database().execute("SELECT created_at, expires_at FROM oauth_states").first()
    assert row is not None
    from common.clock import from_iso

    lifetime = from_iso(row["expires_at"]) - from_iso(row["created_at"])
    assert lifetime.total_seconds() == 600


def test_a_callback_from_a_browser_without_the_cookie_is_rejected(
    app: Any, browser: TestClient, google: FakeGoogle
) -> None:
    """Login CSRF: the attacker's code+state delivered to a victim's browser that never started it."""
    back = google.authorize(start_login(browser), user=GoogleUser(email="attacker@example.com"))
    before = counts()
    with new_browser(app) as victim:
        assert_rejected(victim.get(callback_path(back)), before)


def test_a_callback_from_another_browser_with_its_own_flow_is_rejected(
    app: Any, browser: TestClient, google: FakeGoogle
) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="attacker@example.com"))
    with new_browser(app) as victim:
        start_login(victim)  # the victim has a binding cookie of its own
        assert victim.cookies.get(BINDING_COOKIE) != browser.cookies.get(BINDING_COOKIE)
        before = counts()
        assert_rejected(victim.get(callback_path(back)), before)


def test_a_callback_with_a_forged_cookie_is_rejected(
    app: Any, browser: TestClient, google: FakeGoogle
) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="cookie@example.com"))
    before = counts()
    with new_browser(app) as other:
        response = other.get(callback_path(back), headers={"Cookie": f"{BINDING_COOKIE}={'f' * 43}"})
        assert_rejected(response, before)


def test_a_sign_in_state_does_not_work_at_the_calendar_callback(
    browser: TestClient, google: FakeGoogle
) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="mixup@example.com"))
    before = counts()
    response = browser.get(CALENDAR_CALLBACK + "?" + urlsplit(back).query)
    assert_problem(response, 400)
    assert counts() == before
    assert count("calendar_connections") == 0


# ---- the user declines ---------------------------------------------------------------------------


def test_denial_goes_back_to_the_frontend_with_an_error(browser: TestClient, google: FakeGoogle) -> None:
    before = counts()
    response = google_callback(browser, google, start_login(browser), GoogleUser(), consent=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(FRONTEND + "#"), location
    values = fragment_of(location)
    assert values["error"] == "access_denied"
    assert "access_token" not in values and "refresh_token" not in values
    assert counts() == before
    assert google.requests_to("/token") == []
    # The state is spent by the denial.
    assert count("oauth_states") == 0


def test_a_denial_with_a_forged_state_is_rejected(browser: TestClient, google: FakeGoogle) -> None:
    start_login(browser)
    response = browser.get(SIGNIN_CALLBACK, params={"error": "access_denied", "state": "made-up-state-value"})
    assert_problem(response, 400)
    assert "location" not in response.headers


def test_an_odd_provider_error_is_not_echoed(browser: TestClient, google: FakeGoogle) -> None:
    state = query_of(start_login(browser))["state"]
    response = browser.get(
        SIGNIN_CALLBACK, params={"error": "<script>alert(1)</script>&access_token=evil", "state": state}
    )
    assert response.status_code == 302, response.text
    values = fragment_of(response.headers["location"])
    assert "access_token" not in values
    assert "<script>" not in response.headers["location"]


# ---- ID token rejections (OpenID RP conformance) ---------------------------------------------------

BAD_ID_TOKENS = [
    IdTokenMode.BAD_SIGNATURE,
    IdTokenMode.ALG_NONE,
    IdTokenMode.ALG_HS256,
    IdTokenMode.WRONG_ISS,
    IdTokenMode.WRONG_AUD,
    IdTokenMode.EXPIRED,
    IdTokenMode.MISSING_NONCE,
    IdTokenMode.WRONG_NONCE,
    IdTokenMode.UNKNOWN_KID,
]


@pytest.mark.parametrize("mode", BAD_ID_TOKENS, ids=[mode.value for mode in BAD_ID_TOKENS])
def test_a_bad_id_token_creates_nothing(browser: TestClient, google: FakeGoogle, mode: IdTokenMode) -> None:
    google.next_id_token(mode)
    url = start_login(browser)
    before = counts()
    response = google_callback(browser, google, url, GoogleUser(email=f"{mode.value}@example.com"))
    assert_rejected(response, before)
    assert len(google.id_tokens) == 1  # the spoiled token was issued and refused
    assert google.requests_to("/token")[0]["status"] == 200


@pytest.mark.parametrize(
    ("claims", "remove"),
    [
        ({"azp": "someone-else.apps.googleusercontent.com"}, ()),
        ({"aud": [CLIENT_ID, "someone-else.apps.googleusercontent.com"]}, ("azp",)),
        ({}, ("aud",)),
        ({}, ("exp",)),
        ({}, ("sub",)),
        ({"sub": ""}, ()),
        ({"iat": 4102444800}, ()),  # issued in 2100
        ({"exp": "9999999999"}, ()),
        ({"nonce": None}, ()),
    ],
    ids=[
        "other-azp",
        "multi-aud-no-azp",
        "no-aud",
        "no-exp",
        "no-sub",
        "empty-sub",
        "future-iat",
        "str-exp",
        "null-nonce",
    ],
)
def test_an_id_token_with_bad_claims_creates_nothing(
    browser: TestClient, google: FakeGoogle, claims: dict[str, Any], remove: tuple[str, ...]
) -> None:
    google.next_id_token(IdTokenMode.VALID, claims=claims, remove=remove)
    url = start_login(browser)
    before = counts()
    assert_rejected(google_callback(browser, google, url, GoogleUser(email="claims@example.com")), before)


def test_a_rotated_signing_key_is_fetched(browser: TestClient, google: FakeGoogle) -> None:
    """Keys are cached, but a kid not yet seen is looked up again (Google rotates its keys)."""
    sign_in(browser, google, GoogleUser(email="first@example.com"))
    google.rotate_keys(keep_old=False)
    again = sign_in(browser, google, GoogleUser(email="second@example.com"))
    assert again["user"]["google_linked"] is True


def test_an_id_token_without_email_creates_no_account(browser: TestClient, google: FakeGoogle) -> None:
    google.next_id_token(IdTokenMode.VALID, remove=("email", "email_verified"))
    url = start_login(browser)
    before = counts()
    response = google_callback(browser, google, url, GoogleUser(email="hidden@example.com"))
    assert response.status_code in (400, 409), response.text
    assert_problem(response, response.status_code)
    assert counts() == before


# ---- account linking -----------------------------------------------------------------------------


def test_a_verified_google_email_links_the_existing_password_account(
    browser: TestClient, google: FakeGoogle
) -> None:
    account = register(browser, email="ada@example.com", name="Ada")
    user_id = account["user"]["id"]
    signed = sign_in(browser, google, GoogleUser(email="ada@example.com", email_verified=True))
    assert signed["user"]["id"] == user_id
    assert signed["user"]["google_linked"] is True
    assert signed["user"]["name"] == "Ada"  # the account is the same, not overwritten
    assert count("users") == 1
    me = browser.get("/v1/me", headers=bearer(signed)).json()
    assert me["id"] == user_id and me["google_linked"] is True
    # The password still works, and the old session too.
    login = browser.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["id"] == user_id and login.json()["user"]["google_linked"] is True
    assert browser.get("/v1/me", headers=bearer(account)).status_code == 200


def test_linking_ignores_the_case_of_googles_email(browser: TestClient, google: FakeGoogle) -> None:
    account = register(browser, email="mixed@example.com")
    signed = sign_in(browser, google, GoogleUser(email="Mixed@Example.COM"))
    assert signed["user"]["id"] == account["user"]["id"]
    assert count("users") == 1


@pytest.mark.parametrize("how", ["user", "id-token-mode"])
def test_an_unverified_google_email_does_not_take_over_the_account(
    browser: TestClient, google: FakeGoogle, how: str
) -> None:
    account = register(browser, email="victim@example.com", name="Victim")
    user_id = account["user"]["id"]
    if how == "user":
        attacker = GoogleUser(email="victim@example.com", email_verified=False, name="Mallory")
    else:
        attacker = GoogleUser(email="victim@example.com", name="Mallory")
        google.next_id_token(IdTokenMode.EMAIL_UNVERIFIED)
    url = start_login(browser)
    before = counts()
    response = google_callback(browser, google, url, attacker)
    assert_rejected(response, before, status=409)
    me = browser.get("/v1/me", headers=bearer(account)).json()
    assert me["google_linked"] is False and me["name"] == "Victim"
    row = get_database().execute("SELECT google_sub FROM users WHERE id = ?", (user_id,)).first()
    assert row is not None and row["google_sub"] is None
    login = browser.post("/v1/auth/login", json={"email": "victim@example.com", "password": PASSWORD})
    assert login.status_code == 200
    # And a later attempt still fails: nothing was remembered for the attacker's sub.
    if how != "user":
        google.next_id_token(IdTokenMode.EMAIL_UNVERIFIED)
    url = start_login(browser)
    before = counts()
    assert_rejected(google_callback(browser, google, url, attacker), before, status=409)


def test_a_new_google_account_with_an_unverified_email_is_created(
    browser: TestClient, google: FakeGoogle
) -> None:
    """Linking needs email_verified; creating a fresh account for a new sub does not."""
    signed = sign_in(browser, google, GoogleUser(email="fresh@example.com", email_verified=False))
    assert signed["user"]["google_linked"] is True and count("users") == 1


def test_an_account_linked_to_one_google_account_is_not_relinked(
    browser: TestClient, google: FakeGoogle
) -> None:
    register(browser, email="owner@example.com")
    owner = GoogleUser(email="owner@example.com")
    linked = sign_in(browser, google, owner)
    row = get_database().execute("SELECT google_sub FROM users WHERE id = ?", (linked["user"]["id"],)).first()
    assert row is not None and row["google_sub"] == owner.sub
    # Another Google account that now claims the same (verified) address does not take it over.
    other = GoogleUser(email="owner@example.com", name="Other")
    url = start_login(browser)
    before = counts()
    assert_rejected(google_callback(browser, google, url, other), before, status=409)
    row = get_database().execute("SELECT google_sub FROM users WHERE id = ?", (linked["user"]["id"],)).first()
    assert row is not None and row["google_sub"] == owner.sub


def test_a_google_account_blocks_a_password_registration_with_its_email(
    browser: TestClient, google: FakeGoogle
) -> None:
    sign_in(browser, google, GoogleUser(email="taken@example.com"))
    response = browser.post(
        "/v1/auth/register", json={"email": "taken@example.com", "password": PASSWORD, "name": "Taker"}
    )
    assert_problem(response, 409)
    # And no password login exists for the Google-only account.
    login = browser.post("/v1/auth/login", json={"email": "taken@example.com", "password": PASSWORD})
    assert_problem(login, 401)


# ---- OAuth failures are 400, never 500 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, None),
        (503, None),
        (400, None),  # invalid_grant
        (401, {"error": "invalid_client", "error_description": "Unauthorized"}),
        (502, "<html>Bad Gateway</html>"),
        (200, "not json at all"),
        (200, {"error": "server_error"}),
        (200, {"token_type": "Bearer"}),  # no access token, no ID token
    ],
    ids=["500", "503", "400", "401", "502-html", "200-html", "200-error", "200-no-tokens"],
)
def test_a_failing_token_endpoint_is_a_400_problem(
    browser: TestClient, google: FakeGoogle, status: int, body: Any
) -> None:
    google.fail_next("token", status, body=body)
    url = start_login(browser)
    before = counts()
    response = google_callback(browser, google, url, GoogleUser(email="tokenfail@example.com"))
    body_json = assert_rejected(response, before)
    assert CLIENT_SECRET not in json.dumps(body_json)


def test_a_code_that_google_refuses_is_a_400_problem(browser: TestClient, google: FakeGoogle) -> None:
    back = google.authorize(start_login(browser), user=GoogleUser(email="badcode@example.com"))
    state = query_of(back)["state"]
    before = counts()
    response = browser.get(SIGNIN_CALLBACK, params={"code": "4/0Anot-a-real-code", "state": state})
    assert_rejected(response, before)


def test_a_callback_without_code_or_error_is_a_400_problem(browser: TestClient, google: FakeGoogle) -> None:
    state = query_of(start_login(browser))["state"]
    before = counts()
    assert_rejected(browser.get(SIGNIN_CALLBACK, params={"state": state}), before)


def test_unreachable_keys_are_a_400_problem(browser: TestClient, google: FakeGoogle) -> None:
    google.fail_next("certs", 500, times=2)
    url = start_login(browser)
    before = counts()
    response = google_callback(browser, google, url, GoogleUser(email="nokeys@example.com"))
    assert response.status_code in (400, 503), response.text
    assert_rejected(response, before, status=response.status_code)


@pytest.mark.parametrize("failure", [500, 404, "html"])
def test_a_failing_discovery_document_is_a_problem_not_a_500(
    browser: TestClient, google: FakeGoogle, failure: Any
) -> None:
    if failure == "html":
        google.fail_next("discovery", 200, body="<html>not json</html>")
    else:
        google.fail_next("discovery", failure)
    response = browser.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND})
    assert response.status_code in (400, 502, 503), response.text
    assert_problem(response, response.status_code)
    assert count("oauth_states") == 0
    # Discovery is retried on the next request.
    assert browser.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND}).status_code == 302


def test_an_incomplete_discovery_document_is_a_problem_not_a_500(
    browser: TestClient, google: FakeGoogle
) -> None:
    google.fail_next("discovery", 200, body={"issuer": google.issuer})
    response = browser.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND})
    assert response.status_code in (400, 502, 503), response.text
    assert_problem(response, response.status_code)


def test_discovery_failing_at_the_callback_is_a_400_problem(browser: TestClient, google: FakeGoogle) -> None:
    """A new invocation must fetch the discovery document again; Google failing then is a 400."""
    url = start_login(browser)
    reset_caches()
    google.fail_next("discovery", 500)
    before = counts()
    response = google_callback(browser, google, url, GoogleUser(email="coldfail@example.com"))
    assert response.status_code in (400, 502, 503), response.text
    assert_rejected(response, before, status=response.status_code)


def test_an_unreachable_discovery_url_is_a_problem_not_a_500(
    browser: TestClient, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GOOGLE_DISCOVERY_URL", f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    reset_caches()
    response = browser.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND})
    assert response.status_code in (400, 502, 503), response.text
    assert_problem(response, response.status_code)
    callback = browser.get(SIGNIN_CALLBACK, params={"code": "x", "state": "y"})
    assert_problem(callback, 400)


# ---- not configured --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [{}, {"GOOGLE_CLIENT_ID": CLIENT_ID}, {"GOOGLE_CLIENT_SECRET": CLIENT_SECRET}],
    ids=["nothing", "id-only", "secret-only"],
)
def test_without_a_google_client_the_google_routes_are_503(
    app: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOWED_REDIRECT_URIS", FRONTEND)
    reset_caches()
    with new_browser(app) as client:
        tokens = register(client, email="plain@example.com")
        headers = bearer(tokens)
        answers = {
            "login": client.get("/v1/auth/google/login", params={"redirect_uri": FRONTEND}),
            "login-bad-redirect": client.get("/v1/auth/google/login", params={"redirect_uri": "x"}),
            "callback": client.get(SIGNIN_CALLBACK, params={"code": "c", "state": "s"}),
            "calendar-connect": client.post(
                "/v1/me/calendar/connect", json={"redirect_uri": FRONTEND}, headers=headers
            ),
            "calendar-callback": client.get(CALENDAR_CALLBACK, params={"code": "c", "state": "s"}),
        }
        for name, response in answers.items():
            body = assert_problem(response, 503, name)
            assert "google" in (body["detail"] + body["title"]).lower(), (name, body)
            assert "set-cookie" not in response.headers, name
        assert count("oauth_states") == 0
        if env:
            return

        # Everything else works.
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/me", headers=headers).json()["google_linked"] is False
        status = client.get("/v1/me/calendar", headers=headers)
        assert status.status_code == 200 and status.json()["connected"] is False
        assert client.delete("/v1/me/calendar", headers=headers).status_code == 204
        login = client.post("/v1/auth/login", json={"email": "plain@example.com", "password": PASSWORD})
        assert login.status_code == 200
        created = client.post("/v1/opportunities", json={"company": "A", "role": "B"}, headers=headers)
        assert created.status_code == 201
        assert client.get("/v1/openapi.json").status_code == 200
        assert client.delete("/v1/me", headers=headers).status_code == 204
