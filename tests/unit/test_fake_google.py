"""The fake Google, driven only by the real client libraries: authlib (OAuth2Session) and joserfc for
sign-in, google-api-python-client + google-auth for Calendar v3."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from joserfc import errors, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tests.fakes.google_server import (
    CALENDAR_SCOPE,
    EMAIL_SCOPE,
    GOOGLE_ISSUER,
    PROFILE_SCOPE,
    FakeGoogle,
    GoogleAuthorizationError,
    GoogleUser,
    IdTokenMode,
    start_fake_google,
)

CLIENT_ID = "1234-tracker.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-secret"
SIGN_IN_REDIRECT = "http://localhost:8000/v1/auth/google/callback"
CALENDAR_REDIRECT = "http://localhost:8000/v1/auth/google/calendar/callback"
ADA = GoogleUser(email="ada@example.com", sub="104000000000000000001", name="Ada Lovelace")
T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with start_fake_google() as fake:
        fake.register_client(CLIENT_ID, CLIENT_SECRET, [SIGN_IN_REDIRECT, CALENDAR_REDIRECT])
        yield fake


# --- the app side, written the way the auth function uses authlib ----------------------------------------
@dataclass
class Flow:
    session: OAuth2Session
    metadata: dict[str, Any]
    url: str
    state: str
    nonce: str
    verifier: str


def discover(fake: FakeGoogle) -> dict[str, Any]:
    response = requests.get(fake.discovery_url, timeout=5)
    response.raise_for_status()
    metadata: dict[str, Any] = response.json()
    return metadata


def start_flow(
    fake: FakeGoogle,
    *,
    scope: str = "openid email profile",
    redirect_uri: str = SIGN_IN_REDIRECT,
    auth_method: str = "client_secret_basic",
    **params: str,
) -> Flow:
    metadata = discover(fake)
    session = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
        default_timeout=5,
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params
    )
    return Flow(session, metadata, url, state, nonce, verifier)


def finish_flow(flow: Flow, redirect: str, *, verifier: str | None = None) -> dict[str, Any]:
    token: dict[str, Any] = flow.session.fetch_token(
        flow.metadata["token_endpoint"],
        authorization_response=redirect,
        state=flow.state,
        code_verifier=verifier or flow.verifier,
    )
    return token


def verify_id_token(metadata: dict[str, Any], id_token: str, nonce: str | None) -> dict[str, Any]:
    """Strict verification, every claim explicit (authlib's own helper does not check aud)."""
    jwks = requests.get(metadata["jwks_uri"], timeout=5).json()
    token = jwt.decode(id_token, key_set(jwks), algorithms=["RS256"])
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": CLIENT_ID},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    JWTClaimsRegistry(leeway=60, **options).validate(token.claims)
    if token.claims.get("azp", CLIENT_ID) != CLIENT_ID:
        raise JoseError("azp")
    return dict(token.claims)


def key_set(jwks: Any) -> KeySet:
    return KeySet.import_key_set(jwks)


def sign_in(fake: FakeGoogle, user: GoogleUser = ADA) -> dict[str, Any]:
    flow = start_flow(fake)
    return finish_flow(flow, fake.authorize(flow.url, user=user))


def connect_calendar(fake: FakeGoogle, user: GoogleUser = ADA, **authorize: Any) -> dict[str, Any]:
    """Incremental authorization as API.md describes it: calendar scope only, offline, consent."""
    flow = start_flow(
        fake,
        scope=CALENDAR_SCOPE,
        redirect_uri=CALENDAR_REDIRECT,
        access_type="offline",
        prompt="consent",
        include_granted_scopes="true",
    )
    return finish_flow(flow, fake.authorize(flow.url, user=user, **authorize))


def calendar_service(fake: FakeGoogle, credentials: Credentials) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=credentials,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": fake.calendar_api_endpoint},
    )


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# --- discovery, JWKS --------------------------------------------------------------------------------------
def test_discovery_names_every_endpoint_on_the_fake(google: FakeGoogle) -> None:
    metadata = discover(google)

    assert metadata["issuer"] == google.base_url
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "userinfo_endpoint",
    ):
        assert metadata[name].startswith(google.base_url + "/")
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    jwks = requests.get(metadata["jwks_uri"], timeout=5).json()
    assert [key["kid"] for key in jwks["keys"]] == [google.signing_kid]
    assert jwks["keys"][0]["kty"] == "RSA" and "d" not in jwks["keys"][0]
    assert requests.get(google.base_url + "/certs", timeout=5).json() == jwks


def test_issuer_can_pretend_to_be_google() -> None:
    with start_fake_google(issuer=GOOGLE_ISSUER) as fake:
        fake.register_client(CLIENT_ID, CLIENT_SECRET, [SIGN_IN_REDIRECT])
        metadata = discover(fake)
        token = sign_in(fake)

        assert metadata["issuer"] == GOOGLE_ISSUER
        assert verify_id_token(metadata, token["id_token"], None)["iss"] == GOOGLE_ISSUER


# --- sign-in: the authorization code flow with PKCE and nonce --------------------------------------------
def test_sign_in_with_authlib_pkce_and_nonce(google: FakeGoogle) -> None:
    flow = start_flow(google)
    params = query_of(flow.url)
    assert params["code_challenge_method"] == "S256" and params["nonce"] == flow.nonce

    redirect = google.authorize(flow.url, user=ADA)
    assert redirect.startswith(SIGN_IN_REDIRECT + "?")
    assert query_of(redirect)["state"] == flow.state
    token = finish_flow(flow, redirect)

    assert token["token_type"] == "Bearer" and token["expires_in"] == 3599
    # Google answers the short scope names with their long forms.
    assert token["scope"].split() == ["openid", EMAIL_SCOPE, PROFILE_SCOPE]
    assert "refresh_token" not in token  # online access
    claims = verify_id_token(flow.metadata, token["id_token"], flow.nonce)
    assert claims["sub"] == ADA.sub and claims["azp"] == CLIENT_ID
    assert claims["email"] == ADA.email and claims["email_verified"] is True
    assert claims["name"] == ADA.name and claims["picture"]
    header = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": google.signing_kid, "typ": "JWT"}
    form = google.requests_to("/token")[0]["form"]
    assert form["grant_type"] == "authorization_code" and form["code_verifier"] == flow.verifier
    assert google.requests_to("/token")[0]["headers"]["authorization"].startswith("Basic ")
    userinfo = requests.get(
        flow.metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    ).json()
    assert userinfo["sub"] == ADA.sub and userinfo["email"] == ADA.email


def test_client_secret_post_works_and_a_wrong_secret_is_invalid_client(google: FakeGoogle) -> None:
    flow = start_flow(google, auth_method="client_secret_post")
    assert "access_token" in finish_flow(flow, google.authorize(flow.url, user=ADA))
    assert google.requests_to("/token")[0]["form"]["client_secret"] == CLIENT_SECRET

    flow = start_flow(google)
    flow.session.client_secret = "wrong"
    with pytest.raises(OAuthError) as caught:
        finish_flow(flow, google.authorize(flow.url, user=ADA))
    assert caught.value.error == "invalid_client"
    assert google.requests_to("/token")[-1]["status"] == 401


def test_authorization_requests_google_would_refuse_raise_instead_of_redirecting(google: FakeGoogle) -> None:
    def refused(url: str) -> str:
        with pytest.raises(GoogleAuthorizationError) as caught:
            google.authorize(url, user=ADA)
        return caught.value.error

    flow = start_flow(google)
    params = query_of(flow.url)

    def variant(**changes: str | None) -> str:
        values = {k: v for k, v in {**params, **changes}.items() if v is not None}
        return google.authorization_endpoint + "?" + urlencode(values)

    assert refused(variant(client_id="someone-else")) == "invalid_client"
    assert refused(variant(redirect_uri=SIGN_IN_REDIRECT + "/")) == "redirect_uri_mismatch"
    assert refused(variant(redirect_uri=SIGN_IN_REDIRECT.upper())) == "redirect_uri_mismatch"
    assert refused(variant(response_type="token")) == "unsupported_response_type"
    assert refused(variant(code_challenge=None, code_challenge_method=None)) == "invalid_request"
    assert refused(variant(code_challenge_method="plain")) == "invalid_request"
    assert refused(variant(nonce=None)) == "invalid_request"
    assert refused(variant(state=None)) == "invalid_request"
    assert refused(variant(scope="openid email bogus")) == "invalid_scope"
    assert all(a["result"].startswith("error_page:") for a in google.authorization_requests)

    # Over HTTP, as a browser: 400 page for a refused request, 302 to the app for a good one.
    google.login_as(ADA)
    page = requests.get(variant(redirect_uri="https://evil.example/cb"), allow_redirects=False, timeout=5)
    assert page.status_code == 400 and "redirect_uri_mismatch" in page.text
    hop = requests.get(flow.url, allow_redirects=False, timeout=5)
    assert hop.status_code == 302 and hop.headers["location"].startswith(SIGN_IN_REDIRECT + "?code=")
    assert "access_token" in finish_flow(flow, hop.headers["location"])


def test_authlib_sends_no_pkce_without_code_challenge_method_and_the_fake_refuses(google: FakeGoogle) -> None:
    session = OAuth2Session(
        CLIENT_ID, CLIENT_SECRET, scope="openid email profile", redirect_uri=SIGN_IN_REDIRECT
    )
    url, _ = session.create_authorization_url(
        google.authorization_endpoint, code_verifier=generate_token(48), nonce=generate_token(20)
    )

    assert "code_challenge" not in query_of(url)  # the verifier was silently ignored
    with pytest.raises(GoogleAuthorizationError, match="code_challenge"):
        google.authorize(url, user=ADA)


def test_denial_redirects_with_access_denied_and_the_state(google: FakeGoogle) -> None:
    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA, consent=False)

    assert query_of(redirect) == {"error": "access_denied", "state": flow.state}
    assert google.authorization_requests[-1]["result"] == "access_denied"


def test_pkce_mismatch_is_rejected_and_burns_the_code(google: FakeGoogle) -> None:
    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA)

    with pytest.raises(OAuthError) as caught:
        finish_flow(flow, redirect, verifier=generate_token(48))
    assert caught.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as caught:
        finish_flow(flow, redirect)
    assert caught.value.error == "invalid_grant"


def test_missing_verifier_is_rejected(google: FakeGoogle) -> None:
    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA)
    code = query_of(redirect)["code"]

    response = requests.post(
        flow.metadata["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": SIGN_IN_REDIRECT},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Missing code verifier."}


def test_a_code_is_single_use(google: FakeGoogle) -> None:
    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA)
    finish_flow(flow, redirect)

    with pytest.raises(OAuthError) as caught:
        finish_flow(flow, redirect)
    assert caught.value.error == "invalid_grant"
    assert [r["status"] for r in google.requests_to("/token")] == [200, 400]


def test_a_code_expires_and_must_come_back_with_its_redirect_uri(google: FakeGoogle) -> None:
    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA)
    google.advance_time(601)
    with pytest.raises(OAuthError) as caught:
        finish_flow(flow, redirect)
    assert caught.value.error == "invalid_grant"

    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA)
    flow.session.redirect_uri = CALENDAR_REDIRECT  # registered, but not the one the code was issued for
    with pytest.raises(OAuthError) as caught:
        finish_flow(flow, redirect)
    assert caught.value.error == "redirect_uri_mismatch"


def test_authlib_checks_the_state_of_the_redirect(google: FakeGoogle) -> None:
    flow = start_flow(google)
    redirect = google.authorize(flow.url, user=ADA)
    forged = redirect.replace(f"state={flow.state}", "state=forged")

    with pytest.raises(Exception, match="state") as caught:
        finish_flow(flow, forged)
    assert type(caught.value).__name__ == "MismatchingStateException"
    assert google.requests_to("/token") == []


# --- ID token tampering -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "error"),
    [
        (IdTokenMode.BAD_SIGNATURE, errors.BadSignatureError),
        (IdTokenMode.ALG_NONE, errors.UnsupportedAlgorithmError),
        (IdTokenMode.ALG_HS256, errors.UnsupportedAlgorithmError),
        (IdTokenMode.WRONG_ISS, errors.InvalidClaimError),
        (IdTokenMode.WRONG_AUD, errors.InvalidClaimError),
        (IdTokenMode.EXPIRED, errors.ExpiredTokenError),
        (IdTokenMode.MISSING_NONCE, errors.MissingClaimError),
        (IdTokenMode.WRONG_NONCE, errors.InvalidClaimError),
        (IdTokenMode.UNKNOWN_KID, errors.InvalidKeyIdError),
    ],
)
def test_every_spoiled_id_token_fails_strict_verification(
    google: FakeGoogle, mode: IdTokenMode, error: type[JoseError]
) -> None:
    google.next_id_token(mode)
    flow = start_flow(google)
    token = finish_flow(flow, google.authorize(flow.url, user=ADA))

    with pytest.raises(error) as caught:
        verify_id_token(flow.metadata, token["id_token"], flow.nonce)
    claim = {IdTokenMode.WRONG_ISS: "iss", IdTokenMode.WRONG_AUD: "aud", IdTokenMode.WRONG_NONCE: "nonce"}
    if mode in claim:
        assert f"'{claim[mode]}'" in str(caught.value)
    assert len(google.id_tokens) == 1 and google.id_tokens[0] == token["id_token"]


def test_valid_and_email_unverified_tokens_pass_verification(google: FakeGoogle) -> None:
    google.next_id_token(IdTokenMode.EMAIL_UNVERIFIED)
    flow = start_flow(google)
    token = finish_flow(flow, google.authorize(flow.url, user=ADA))

    assert verify_id_token(flow.metadata, token["id_token"], flow.nonce)["email_verified"] is False
    flow = start_flow(google)
    token = finish_flow(flow, google.authorize(flow.url, user=ADA))
    assert verify_id_token(flow.metadata, token["id_token"], flow.nonce)["email_verified"] is True


def test_claim_and_header_overrides(google: FakeGoogle) -> None:
    google.next_id_token(claims={"email": "mallory@example.com"}, header={"typ": "at+jwt"}, remove=["azp"])
    flow = start_flow(google)
    token = finish_flow(flow, google.authorize(flow.url, user=ADA))

    decoded = jwt.decode(token["id_token"], key_set(google.jwks()), algorithms=["RS256"])
    assert decoded.claims["email"] == "mallory@example.com" and "azp" not in decoded.claims
    assert decoded.header["typ"] == "at+jwt"


def test_authlib_claims_validation_does_not_check_aud(google: FakeGoogle) -> None:
    """What authlib's OpenIDMixin.parse_id_token does (iss only in claims_options): a foreign aud passes."""
    google.next_id_token(IdTokenMode.WRONG_AUD)
    flow = start_flow(google)
    token = finish_flow(flow, google.authorize(flow.url, user=ADA))
    decoded = jwt.decode(token["id_token"], key_set(google.jwks()), algorithms=["RS256"])

    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [flow.metadata["issuer"]]}},
        {"nonce": flow.nonce, "client_id": CLIENT_ID},
    )
    claims.validate(leeway=120)  # no error: aud is someone else's, azp is ours
    assert claims["aud"] != CLIENT_ID
    with pytest.raises(JoseError):
        verify_id_token(flow.metadata, token["id_token"], flow.nonce)


def test_key_rotation_keeps_old_keys_published(google: FakeGoogle) -> None:
    old_kid = google.signing_kid
    new_kid = google.rotate_keys()
    flow = start_flow(google)
    token = finish_flow(flow, google.authorize(flow.url, user=ADA))

    assert [k["kid"] for k in discover_jwks(google)] == [new_kid, old_kid]
    assert jwt.decode(token["id_token"], key_set(google.jwks())).header["kid"] == new_kid
    google.rotate_keys(keep_old=False)
    assert len(discover_jwks(google)) == 1


def discover_jwks(fake: FakeGoogle) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = requests.get(discover(fake)["jwks_uri"], timeout=5).json()["keys"]
    return keys


# --- calendar connection: incremental consent, refresh, revoke --------------------------------------------
def test_incremental_offline_consent_refresh_and_revoke(google: FakeGoogle) -> None:
    sign_in(google)
    token = connect_calendar(google)
    params = google.authorization_requests[-1]["params"]
    assert (params["access_type"], params["prompt"], params["include_granted_scopes"]) == (
        "offline",
        "consent",
        "true",
    )

    assert set(token["scope"].split()) == {"openid", EMAIL_SCOPE, PROFILE_SCOPE, CALENDAR_SCOPE}
    refresh_token = token["refresh_token"]
    metadata = discover(google)
    session = OAuth2Session(CLIENT_ID, CLIENT_SECRET, default_timeout=5)
    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=refresh_token)
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == refresh_token  # authlib keeps the old one: Google does not rotate
    assert verify_id_token(metadata, refreshed["id_token"], None)["sub"] == ADA.sub

    # A second offline authorization without prompt=consent gets no new refresh token.
    flow = start_flow(google, scope=CALENDAR_SCOPE, redirect_uri=CALENDAR_REDIRECT, access_type="offline")
    assert "refresh_token" not in finish_flow(flow, google.authorize(flow.url, user=ADA))

    response = session.revoke_token(metadata["revocation_endpoint"], token=refresh_token)
    assert response.status_code == 200
    assert google.revoked == [refresh_token]
    assert not google.has_live_tokens(ADA, CLIENT_ID) and google.granted_scopes(ADA, CLIENT_ID) == []
    again = session.revoke_token(metadata["revocation_endpoint"], token=refresh_token)
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(metadata["token_endpoint"], refresh_token=refresh_token)
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "Token has been expired or revoked."
    # Revocation ends the whole grant: the access tokens stop working too.
    with pytest.raises(RefreshError):
        calendar_service(google, Credentials(refreshed["access_token"])).events().list(
            calendarId="primary"
        ).execute()


def test_partial_grant_has_no_calendar_scope(google: FakeGoogle) -> None:
    sign_in(google)
    token = connect_calendar(google, granted_scopes=[])  # the user unticks the calendar box

    assert set(token["scope"].split()) == {"openid", EMAIL_SCOPE, PROFILE_SCOPE}
    assert "refresh_token" in token  # the first offline grant
    service = calendar_service(google, Credentials(token["access_token"]))
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary").execute()
    assert caught.value.status_code == 403
    assert caught.value.error_details[0]["reason"] == "insufficientPermissions"


# --- Calendar v3 through google-api-python-client -----------------------------------------------------------
@pytest.fixture
def ada_credentials(google: FakeGoogle) -> Credentials:
    sign_in(google)
    token = connect_calendar(google)
    return Credentials(
        token["access_token"],
        refresh_token=token["refresh_token"],
        token_uri=discover(google)["token_endpoint"],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def test_api_endpoint_replaces_root_and_service_path(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    service = calendar_service(google, ada_credentials)
    request = service.events().list(calendarId="ada@example.com", singleEvents=True, maxResults=5)

    assert request.uri.startswith(google.base_url + "/calendar/v3/calendars/ada%40example.com/events?")
    assert query_of(request.uri) == {"singleEvents": "true", "maxResults": "5", "alt": "json"}
    assert request.execute()["items"] == []
    assert (
        google.requests_to("/calendar/")[-1]["headers"]["authorization"] == f"Bearer {ada_credentials.token}"
    )


def test_events_have_the_real_shape(google: FakeGoogle, ada_credentials: Credentials) -> None:
    added = google.calendar(ADA).add_event(
        summary="Acme - Technical interview",
        description="Join with Google Meet",
        start=datetime(2030, 3, 4, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        end=datetime(2030, 3, 4, 11, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        attendees=[
            "ada@example.com",
            {"email": "grace@acme.com", "displayName": "Grace", "responseStatus": "accepted"},
        ],
        organizer={"email": "grace@acme.com", "displayName": "Grace"},
        hangout_link="https://meet.google.com/abc-defg-hij",
        location="Berlin",
    )
    google.calendar(ADA).add_event(summary="Offsite", start=date(2030, 3, 5), end=date(2030, 3, 7))

    result = calendar_service(google, ada_credentials).events().list(calendarId="primary").execute()

    assert result["kind"] == "calendar#events" and result["timeZone"] == "UTC"
    timed, all_day = result["items"]
    assert timed == added
    assert (
        timed["id"]
        and timed["status"] == "confirmed"
        and timed["htmlLink"].startswith("https://www.google.com/")
    )
    assert timed["start"] == {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert timed["attendees"] == [
        {"email": "ada@example.com", "self": True, "responseStatus": "needsAction"},
        {"email": "grace@acme.com", "displayName": "Grace", "responseStatus": "accepted", "organizer": True},
    ]
    assert timed["organizer"] == {"email": "grace@acme.com", "displayName": "Grace"}
    assert timed["conferenceData"]["entryPoints"][0]["uri"] == "https://meet.google.com/abc-defg-hij"
    assert timed["created"].endswith("Z") and timed["updated"].endswith("Z")
    assert all_day["start"] == {"date": "2030-03-05"} and all_day["end"] == {"date": "2030-03-07"}
    assert all_day["organizer"] == {"email": "ada@example.com", "self": True}


def test_pagination_gives_the_sync_token_only_on_the_last_page(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    calendar = google.calendar(ADA)
    for day in range(7):
        calendar.add_event(summary=f"Event {day}", start=T0 + timedelta(days=day))
    service = calendar_service(google, ada_credentials)

    request = service.events().list(
        calendarId="primary", timeMin=T0.isoformat(), singleEvents=True, orderBy="startTime", maxResults=3
    )
    pages = []
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = service.events().list_next(request, page)

    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert ["nextPageToken" in p for p in pages] == [True, True, False]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert [i["summary"] for p in pages for i in p["items"]] == [f"Event {d}" for d in range(7)]
    second = google.requests_to("/calendar/")[1]["query"]
    assert second["pageToken"] == pages[0]["nextPageToken"] and second["timeMin"] == T0.isoformat()


def full_sync(service: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    request = service.events().list(calendarId="primary", **params)
    while True:
        page = request.execute()
        items.extend(page["items"])
        next_request = service.events().list_next(request, page)
        if next_request is None:
            return items, page["nextSyncToken"]
        request = next_request


def test_sync_token_round_trip(google: FakeGoogle, ada_credentials: Credentials) -> None:
    calendar = google.calendar(ADA)
    moved = calendar.add_event(summary="Phone screen", start=T0)
    deleted = calendar.add_event(summary="Onsite", start=T0 + timedelta(days=1))
    calendar.add_event(summary="Dentist", start=T0 + timedelta(days=2))
    long_ago = calendar.add_event(summary="Long ago", start=T0 - timedelta(days=400))
    service = calendar_service(google, ada_credentials)
    items, sync_token = full_sync(service, timeMin=T0.isoformat(), singleEvents=True, maxResults=2)
    assert [i["summary"] for i in items] == ["Phone screen", "Onsite", "Dentist"]

    calendar.update_event(moved["id"], start=T0 + timedelta(hours=3))
    calendar.delete_event(deleted["id"])
    added = calendar.add_event(summary="Hiring manager chat", start=T0 + timedelta(days=3))
    calendar.update_event(long_ago["id"], summary="Long ago, renamed")  # outside the first window

    changes, next_token = full_sync(service, syncToken=sync_token, singleEvents=True, maxResults=2)

    assert [c["id"] for c in changes] == [moved["id"], deleted["id"], added["id"], long_ago["id"]]
    assert changes[0]["start"]["dateTime"] == "2030-03-04T12:00:00Z" and changes[0]["sequence"] == 1
    assert changes[1] == {
        "kind": "calendar#event",
        "etag": changes[1]["etag"],
        "id": deleted["id"],
        "status": "cancelled",
    }
    assert changes[3]["summary"] == "Long ago, renamed"
    nothing, _ = full_sync(service, syncToken=next_token)
    assert nothing == []
    # Deleted events stay out of a full sync unless showDeleted=true.
    assert deleted["id"] not in [i["id"] for i in full_sync(service)[0]]
    assert deleted["id"] in [i["id"] for i in full_sync(service, showDeleted=True)[0]]


def test_invalidated_sync_token_gets_410_full_sync_required(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    google.calendar(ADA).add_event(start=T0)
    service = calendar_service(google, ada_credentials)
    _, sync_token = full_sync(service)
    google.invalidate_sync_tokens()

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary", syncToken=sync_token).execute()
    assert caught.value.status_code == 410
    assert caught.value.error_details[0]["reason"] == "fullSyncRequired"
    assert caught.value.reason == "Sync token is no longer valid, a full sync is required."
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary", syncToken="CPDAlvWDx70CEPDAlvWDx70CGAU=").execute()
    assert caught.value.status_code == 410
    items, _ = full_sync(service)
    assert len(items) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"timeMin": T0.isoformat()},
        {"timeMax": T0.isoformat()},
        {"orderBy": "updated"},
        {"q": "interview"},
        {"updatedMin": T0.isoformat()},
        {"showDeleted": False},
    ],
)
def test_sync_token_cannot_be_combined_with_filters(
    google: FakeGoogle, ada_credentials: Credentials, params: dict[str, Any]
) -> None:
    service = calendar_service(google, ada_credentials)
    _, sync_token = full_sync(service)

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary", syncToken=sync_token, **params).execute()
    assert caught.value.status_code == 400
    assert caught.value.error_details[0]["reason"] == "badRequest"


def test_time_window_ordering_and_bad_parameters(google: FakeGoogle, ada_credentials: Credentials) -> None:
    calendar = google.calendar(ADA)
    calendar.add_event(summary="ends at timeMin", start=T0 - timedelta(hours=1), end=T0)
    calendar.add_event(summary="later", start=T0 + timedelta(hours=5))
    calendar.add_event(
        summary="spans timeMin", start=T0 - timedelta(minutes=30), end=T0 + timedelta(minutes=30)
    )
    calendar.add_event(summary="starts at timeMax", start=T0 + timedelta(days=1))
    service = calendar_service(google, ada_credentials)
    window = {"timeMin": T0.isoformat(), "timeMax": (T0 + timedelta(days=1)).isoformat()}

    ordered, _ = full_sync(service, singleEvents=True, orderBy="startTime", **window)
    assert [i["summary"] for i in ordered] == ["spans timeMin", "later"]

    def status(**params: Any) -> int:
        with pytest.raises(HttpError) as caught:
            service.events().list(calendarId="primary", **params).execute()
        return int(caught.value.status_code)

    assert status(orderBy="startTime") == 400  # needs singleEvents=true
    assert status(timeMin="2030-03-04T09:00:00") == 400  # no offset
    assert status(timeMin=window["timeMax"], timeMax=window["timeMin"]) == 400  # timeRangeEmpty
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="someone@else.com").execute()
    assert caught.value.status_code == 404


def test_recurring_events_expand_with_single_events(google: FakeGoogle, ada_credentials: Credentials) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    weekly = google.calendar(ADA).add_event(
        summary="Weekly sync",
        start=datetime(2030, 3, 20, 10, 0, tzinfo=berlin),  # CET, and CEST from 31 March
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
    )
    service = calendar_service(google, ada_credentials)

    masters, _ = full_sync(service)
    instances, _ = full_sync(service, singleEvents=True, orderBy="startTime")

    assert [m["id"] for m in masters] == [weekly["id"]] and masters[0]["recurrence"] == [
        "RRULE:FREQ=WEEKLY;COUNT=3"
    ]
    assert [i["start"]["dateTime"] for i in instances] == [
        "2030-03-20T10:00:00+01:00",
        "2030-03-27T10:00:00+01:00",
        "2030-04-03T10:00:00+02:00",
    ]
    assert instances[0]["id"] == f"{weekly['id']}_20300320T090000Z"
    assert {i["recurringEventId"] for i in instances} == {weekly["id"]}
    assert instances[2]["originalStartTime"] == instances[2]["start"] and "recurrence" not in instances[0]


def test_show_deleted_keeps_details_only_on_the_organizers_calendar(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    calendar = google.calendar(ADA)
    service = calendar_service(google, ada_credentials)
    _, sync_token = full_sync(service)
    own = calendar.add_event(summary="Acme interview", start=T0, attendees=["grace@acme.com"])
    invited = calendar.add_event(summary="Their meeting", start=T0, organizer="grace@acme.com")
    calendar.delete_event(own["id"])
    calendar.delete_event(invited["id"])
    short = {"kind", "etag", "id", "status"}

    listed, _ = full_sync(service, showDeleted=True, singleEvents=True, timeMin=T0.isoformat())
    by_id = {item["id"]: item for item in listed}
    assert by_id[own["id"]]["status"] == "cancelled" and by_id[own["id"]]["summary"] == "Acme interview"
    assert by_id[own["id"]]["start"] == own["start"] and by_id[own["id"]]["attendees"] == own["attendees"]
    assert set(by_id[invited["id"]]) == short
    # Incremental: details with showDeleted=true, the short form without it.
    detailed, _ = full_sync(service, syncToken=sync_token, showDeleted=True)
    assert [i.get("summary") for i in detailed] == ["Acme interview", None]
    plain, _ = full_sync(service, syncToken=sync_token)
    assert [set(i) for i in plain] == [short, short]
    assert [i["id"] for i in full_sync(service, singleEvents=True)[0]] == []
    # events.get keeps the short form.
    got = service.events().get(calendarId="primary", eventId=own["id"]).execute()
    assert set(got) == short and got["status"] == "cancelled"


def test_purged_deletions_leave_every_listing_and_expire_older_sync_tokens(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    calendar = google.calendar(ADA)
    old = calendar.add_event(summary="Old", start=T0)
    recent = calendar.add_event(summary="Recent", start=T0 + timedelta(hours=1))
    kept = calendar.add_event(summary="Kept", start=T0 + timedelta(hours=2))
    service = calendar_service(google, ada_credentials)
    _, before = full_sync(service, singleEvents=True, showDeleted=True)
    calendar.delete_event(old["id"])
    _, between = full_sync(service, singleEvents=True, showDeleted=True)
    google.advance_time(20 * 86400)
    calendar.delete_event(recent["id"])
    _, after = full_sync(service, singleEvents=True, showDeleted=True)

    assert calendar.purge_deleted(older_than=timedelta(days=10)) == [old["id"]]
    listed, _ = full_sync(service, singleEvents=True, showDeleted=True)
    assert {i["id"]: i["status"] for i in listed} == {recent["id"]: "cancelled", kept["id"]: "confirmed"}
    with pytest.raises(HttpError) as caught:
        service.events().get(calendarId="primary", eventId=old["id"]).execute()
    assert caught.value.status_code == 404
    # A token from before the forgotten deletion can no longer be told about it: 410. Later ones still work.
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary", syncToken=before, showDeleted=True).execute()
    assert caught.value.status_code == 410
    changes, _ = full_sync(service, syncToken=between, showDeleted=True)
    assert [i["id"] for i in changes] == [recent["id"]]
    assert full_sync(service, syncToken=after)[0] == []
    assert calendar.purge_deleted() == [recent["id"]]
    assert [e["id"] for e in calendar.events] == [kept["id"]]


def test_a_deleted_series_lists_its_instances_by_their_own_times_and_get_resolves_instances(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    calendar = google.calendar(ADA)
    weekly = calendar.add_event(
        summary="Weekly", start=T0, organizer="grace@acme.com", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]
    )
    service = calendar_service(google, ada_credentials)
    second = f"{weekly['id']}_20300311T090000Z"
    live = service.events().get(calendarId="primary", eventId=second).execute()
    assert live["start"]["dateTime"] == "2030-03-11T09:00:00Z" and live["recurringEventId"] == weekly["id"]
    with pytest.raises(HttpError) as caught:
        service.events().get(calendarId="primary", eventId=f"{weekly['id']}_20300312T090000Z").execute()
    assert caught.value.status_code == 404

    calendar.delete_event(weekly["id"])
    window = {
        "timeMin": (T0 + timedelta(days=6)).isoformat(),
        "timeMax": (T0 + timedelta(days=15)).isoformat(),
    }
    listed, _ = full_sync(service, singleEvents=True, showDeleted=True, **window)
    assert [i["id"] for i in listed] == [second, f"{weekly['id']}_20300318T090000Z"]
    assert listed[0] == {
        "kind": "calendar#event",
        "etag": listed[0]["etag"],
        "id": second,
        "status": "cancelled",
        "recurringEventId": weekly["id"],
        "originalStartTime": {"dateTime": "2030-03-11T09:00:00Z"},
    }
    assert full_sync(service, singleEvents=True, **window)[0] == []
    gone = service.events().get(calendarId="primary", eventId=second).execute()
    assert gone["status"] == "cancelled" and gone["id"] == second


# --- Calendar auth: 401/refresh through google-auth, scripted failures -------------------------------------
def test_calendar_requires_a_token_issued_by_the_fake(google: FakeGoogle) -> None:
    url = google.calendar_api_endpoint + "calendars/primary/events"
    response = requests.get(url, headers={"Authorization": "Bearer ya29.made-up"}, timeout=5)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.json()["error"]["errors"][0]["reason"] == "authError"
    # google-auth answers a 401 by refreshing; a bare token cannot be refreshed.
    with pytest.raises(RefreshError):
        calendar_service(google, Credentials("ya29.made-up")).events().list(calendarId="primary").execute()


def test_expired_access_token_is_refreshed_by_google_auth(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    old = ada_credentials.token
    google.expire_access_tokens()
    google.calendar(ADA).add_event(start=T0)

    items, _ = full_sync(calendar_service(google, ada_credentials))

    assert len(items) == 1 and ada_credentials.token != old
    refresh = google.requests_to("/token")[-1]
    assert (
        refresh["form"]["grant_type"] == "refresh_token" and refresh["form"]["client_secret"] == CLIENT_SECRET
    )
    assert [r["status"] for r in google.requests_to("/calendar/")] == [401, 200]


def test_revoked_grant_makes_google_auth_raise_invalid_grant(
    google: FakeGoogle, ada_credentials: Credentials
) -> None:
    google.revoke_grant(ADA)

    with pytest.raises(RefreshError, match="invalid_grant"):
        calendar_service(google, ada_credentials).events().list(calendarId="primary").execute()


def test_scripted_calendar_failures(google: FakeGoogle, ada_credentials: Credentials) -> None:
    service = calendar_service(google, ada_credentials)
    google.fail_next("calendar", 429)
    google.fail_next("calendar", 503)

    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary").execute()
    assert caught.value.status_code == 429 and caught.value.error_details[0]["reason"] == "rateLimitExceeded"
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId="primary").execute()
    assert caught.value.status_code == 503
    assert service.events().list(calendarId="primary").execute()["items"] == []


def test_grant_mints_tokens_without_the_consent_dance(google: FakeGoogle) -> None:
    token = google.grant(ADA, CLIENT_ID)
    google.calendar(ADA).add_event(start=T0)

    service = calendar_service(google, Credentials(token["access_token"]))
    assert len(service.events().list(calendarId="primary").execute()["items"]) == 1
    assert token["refresh_token"].startswith("1//")
    assert verify_id_token(discover(google), token["id_token"], None)["sub"] == ADA.sub


def test_request_log_and_close() -> None:
    fake = start_fake_google()
    base = fake.base_url
    requests.get(fake.discovery_url, timeout=5)
    assert fake.requests[0]["route"] == "/.well-known/openid-configuration"
    assert fake.requests[0]["status"] == 200
    assert requests.get(base + "/nope", timeout=5).status_code == 404
    fake.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(fake.discovery_url, timeout=1)


def test_delayed_answers_time_clients_out_and_close_does_not_hang(google: FakeGoogle) -> None:
    token = google.grant(ADA, CLIENT_ID)
    google.delay_next("calendar", 30)
    url = google.calendar_api_endpoint + "calendars/primary/events"

    with pytest.raises(requests.ReadTimeout):
        requests.get(url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=0.3)
    # Other requests are served while one waits.
    assert requests.get(google.discovery_url, timeout=5).status_code == 200
