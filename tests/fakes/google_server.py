"""A fake Google (OIDC sign-in, OAuth 2.0 tokens, revocation, Calendar v3 events) on loopback.

Start one with `start_fake_google()` (or `FakeGoogle()` as a context manager), register the app's
OAuth client with `fake.register_client(client_id, client_secret, [redirect_uri])`, and point the
real client libraries at it:
- authlib / the app: `GOOGLE_DISCOVERY_URL = fake.discovery_url`; every endpoint comes from there.
- google-api-python-client: `build("calendar", "v3", credentials=..., static_discovery=True,
  client_options={"api_endpoint": fake.calendar_api_endpoint})`. `api_endpoint` REPLACES the base URL
  made of the discovery document's `rootUrl` + `servicePath` ("https://www.googleapis.com/" +
  "calendar/v3/"); method paths ("calendars/{calendarId}/events") are joined to it with exactly one
  "/". So the endpoint must end in "/calendar/v3/" (`fake.calendar_api_root + "calendar/v3/"`).
- google-auth refreshes: `Credentials(token, refresh_token=..., token_uri=fake.token_endpoint, ...)`.

There is no browser: a test plays the user with `fake.authorize(authorization_url, user=GoogleUser(...),
consent=True)`, which validates the URL the app produced and returns the URL Google would redirect the
browser to (`redirect_uri?code=...&state=...`, or `?error=access_denied&state=...` on denial). A request
Google would answer with its own error page instead of a redirect (unknown client, unregistered
redirect_uri, bad PKCE parameters, ...) raises `GoogleAuthorizationError`. The same endpoint is served
over HTTP for end-to-end checks: `GET /o/oauth2/v2/auth` answers 302 as the user set by `fake.login_as`.

Wire facts this fake follows:
- Discovery: issuer, authorization/token/userinfo/revocation endpoints, jwks_uri, RS256 only, S256 only.
- Scopes: "email" and "profile" come back in the token response as
  "https://www.googleapis.com/auth/userinfo.email" / ".../userinfo.profile" (as Google does); compare
  normalised scopes. With `include_granted_scopes=true` the new token also carries every scope the user
  granted this client before (incremental authorization).
- A refresh token is returned only for `access_type=offline`, and then only on the first grant for the
  (user, client) pair or with `prompt=consent`. Refresh responses carry no new refresh token (Google
  does not rotate) and, when `openid` was granted, a fresh ID token without `nonce`.
- Revoking any token of a grant (access or refresh) revokes the whole grant: every access and refresh
  token of that (user, client) and the granted scopes. Unknown or already revoked -> 400 invalid_token.
- Token endpoint errors are `{"error", "error_description"}`: 400 invalid_grant (bad/used/expired code,
  PKCE mismatch, revoked refresh token: "Token has been expired or revoked."), 401 invalid_client.
  client_secret_basic and client_secret_post are both accepted (not both at once).
- Calendar errors use Google's envelope `{"error": {"errors": [{"domain", "reason", "message"}], "code",
  "message"}}`; googleapiclient exposes `errors` as `HttpError.error_details`. 401 (reason authError)
  for a missing/unknown/expired/revoked access token, 403 insufficientPermissions without a calendar
  scope, 404 notFound for another calendar, 400 badRequest for bad parameters, 410 fullSyncRequired for
  a sync token that is unknown or was invalidated.
- events.list: `nextPageToken` on every page but the last; `nextSyncToken` only on the last page.
  `syncToken` cannot be combined with timeMin, timeMax, orderBy, updatedMin, q, iCalUID or the extended
  property filters (400), nor with `showDeleted=false`. An incremental sync returns every event changed
  since the token, including events outside the original time window, and deleted ones as
  `{"kind", "etag", "id", "status": "cancelled"}` only (no summary, no times). A full listing shows
  deleted events only with `showDeleted=true` (in the window by the times they had). With
  `showDeleted=true` (full or incremental), a deleted event on its organizer's calendar keeps its details
  (summary, times, attendees...) with `status: "cancelled"`, as Google does so it can be restored; other
  deleted events keep the short form. Google forgets deleted events after a while (undocumented how long):
  `calendar.purge_deleted()` does that now; a purged event is gone from every listing, events.get answers
  404 for it, and every sync token issued before its deletion gets 410 (it can no longer be told about
  it). events.get returns an event in any state (deleted ones in the short form) and also resolves the
  instance ids of a recurring event. `orderBy=startTime`
  requires `singleEvents=true`. timeMin filters on the end time (exclusive), timeMax on the start
  time (exclusive); both need an offset. Recurring events (RRULE FREQ=DAILY|WEEKLY with INTERVAL, COUNT,
  UNTIL) are expanded with `singleEvents=true` into instances "<id>_<YYYYMMDDTHHMMSSZ>" carrying
  `recurringEventId` and `originalStartTime` (deleted ones too: Google guarantees those fields on a
  cancelled instance, and a full listing places each in the window by its own time).

Stricter than Google, on purpose: `state`, `nonce` (with scope openid) and PKCE S256 are required at
the authorization endpoint (see `FakeGoogle(require_pkce=..., require_nonce=..., require_state=...)`);
a failed code exchange (wrong verifier or redirect_uri) burns the code.

Scripted failures: `fake.fail_next("calendar", 429)` (endpoints: discovery, authorize, token, certs,
revoke, userinfo, calendar) answers the next valid request to that endpoint with the given status and a
Google-shaped body; requests the real service would reject are rejected first and do not consume it.
`fake.delay_next(endpoint, seconds)` delays the next answer (client timeouts).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes._http import FakeHandler, LoopbackFake

__all__ = [
    "CALENDAR_READ_SCOPES",
    "CALENDAR_SCOPE",
    "EMAIL_SCOPE",
    "GOOGLE_ISSUER",
    "PROFILE_SCOPE",
    "FakeCalendar",
    "FakeGoogle",
    "GoogleAuthorizationError",
    "GoogleUser",
    "IdTokenMode",
    "start_fake_google",
]

GOOGLE_ISSUER = "https://accounts.google.com"
EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"
PROFILE_SCOPE = "https://www.googleapis.com/auth/userinfo.profile"
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events.readonly"
# Scopes that allow events.list.
CALENDAR_READ_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.events.readonly",
    }
)
_SCOPE_ALIASES = {"email": EMAIL_SCOPE, "profile": PROFILE_SCOPE}
_GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"
ENDPOINTS = ("discovery", "authorize", "token", "certs", "revoke", "userinfo", "calendar")

ACCESS_TOKEN_SECONDS = 3599
ID_TOKEN_SECONDS = 3600
MAX_PAGE_SIZE = 2500
DEFAULT_PAGE_SIZE = 250
# Open-ended recurrences are expanded this far past max(now, series start).
RECURRENCE_HORIZON = timedelta(days=730)
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_SYNC_FORBIDDEN = (
    "timeMin",
    "timeMax",
    "orderBy",
    "updatedMin",
    "q",
    "iCalUID",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)
_EVENT_ID_ALPHABET = "abcdefghijklmnopqrstuv0123456789"  # base32hex, as Google's event ids


# --- small helpers ------------------------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


def _s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode()).digest())


def _new_sub() -> str:
    return "1" + "".join(secrets.choice("0123456789") for _ in range(20))


def _new_event_id() -> str:
    return "".join(secrets.choice(_EVENT_ID_ALPHABET) for _ in range(26))


def _normalise_scope(scope: str) -> str:
    return _SCOPE_ALIASES.get(scope, scope)


def _normalise_scopes(scopes: Iterable[str]) -> list[str]:
    result: list[str] = []
    for scope in scopes:
        value = _normalise_scope(scope)
        if value not in result:
            result.append(value)
    return result


def _rfc3339(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _format_datetime(moment: datetime, time_zone: str | None) -> str:
    if time_zone:
        moment = moment.astimezone(ZoneInfo(time_zone))
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _parse_query_time(value: str) -> datetime | None:
    """RFC 3339 with a mandatory offset, as events.list wants; None when invalid."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# --- public value types -------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoogleUser:
    """A Google account. `sub` is stable and unique (21 digits, like Google's); email may change."""

    email: str = "ada@example.com"
    sub: str = field(default_factory=_new_sub)
    name: str = "Ada Lovelace"
    email_verified: bool = True
    given_name: str | None = None
    family_name: str | None = None
    picture: str | None = "https://lh3.googleusercontent.com/a/default-user=s96-c"
    hd: str | None = None  # Google Workspace domain, only for Workspace accounts


class IdTokenMode(enum.Enum):
    """How the next ID token is spoiled (modelled on the OpenID RP conformance tests)."""

    VALID = "valid"
    BAD_SIGNATURE = "bad_signature"  # signed by another key under the JWKS's kid
    ALG_NONE = "alg_none"  # {"alg": "none"}, empty signature
    ALG_HS256 = "alg_hs256"  # HMAC keyed with the public key's PEM (algorithm confusion)
    WRONG_ISS = "wrong_iss"
    WRONG_AUD = "wrong_aud"  # aud is another client; azp still names this client
    EXPIRED = "expired"
    MISSING_NONCE = "missing_nonce"
    WRONG_NONCE = "wrong_nonce"
    UNKNOWN_KID = "unknown_kid"  # signed by a key whose kid is not in the JWKS
    EMAIL_UNVERIFIED = "email_unverified"  # a valid token saying email_verified: false


class GoogleAuthorizationError(Exception):
    """Google would show its own error page ("Error 400: <error>") instead of redirecting back."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


# --- internal state -----------------------------------------------------------------------------------
@dataclass
class _Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    sub: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    offline: bool
    force_consent: bool
    issued_at: float
    used: bool = False


@dataclass
class _AccessToken:
    sub: str
    client_id: str
    scopes: list[str]
    expires_at: float
    revoked: bool = False


@dataclass
class _RefreshToken:
    sub: str
    client_id: str
    scopes: list[str]
    revoked: bool = False


@dataclass
class _Grant:
    scopes: list[str] = field(default_factory=list)
    offline: bool = False


@dataclass
class _IdTokenPlan:
    mode: IdTokenMode
    claims: dict[str, Any]
    header: dict[str, Any]
    remove: tuple[str, ...]


@dataclass
class _Scripted:
    status: int | None
    body: Any
    headers: dict[str, str]
    delay: float


class _RsaKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        size = (numbers.n.bit_length() + 7) // 8
        return {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": _b64url(numbers.n.to_bytes(size, "big")),
            "e": _b64url(numbers.e.to_bytes(3, "big").lstrip(b"\x00")),
        }

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class _HttpError(Exception):
    def __init__(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(str(payload))
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})


def _oauth_error(status: int, error: str, description: str) -> _HttpError:
    return _HttpError(status, {"error": error, "error_description": description})


def _api_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    location: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> _HttpError:
    detail: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location is not None:
        detail["locationType"] = "header" if location == "Authorization" else "parameter"
        detail["location"] = location
    return _HttpError(status, {"error": {"errors": [detail], "code": status, "message": message}}, headers)


def _www_authenticate(error: str) -> str:
    return f'Bearer realm="https://accounts.google.com/", error="{error}"'


def _bad_request(message: str, location: str | None = None) -> _HttpError:
    return _api_error(400, "badRequest", message, location=location)


# --- recurrence (a small RRULE subset) ------------------------------------------------------------------
@dataclass(frozen=True)
class _Rule:
    step: timedelta
    count: int | None
    until: datetime | date | None


def _parse_recurrence(lines: Sequence[str]) -> _Rule:
    rules = [line for line in lines if line.startswith("RRULE:")]
    if len(rules) != 1 or len(rules) != len(lines):
        raise ValueError("FakeGoogle supports exactly one RRULE line (no EXDATE/RDATE)")
    parts = dict(part.split("=", 1) for part in rules[0][len("RRULE:") :].split(";") if part)
    unknown = set(parts) - {"FREQ", "INTERVAL", "COUNT", "UNTIL"}
    if unknown or parts.get("FREQ") not in ("DAILY", "WEEKLY"):
        raise ValueError(f"unsupported RRULE (FREQ=DAILY|WEEKLY, INTERVAL, COUNT, UNTIL only): {rules[0]}")
    interval = int(parts.get("INTERVAL", "1"))
    step = timedelta(days=interval * (7 if parts["FREQ"] == "WEEKLY" else 1))
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    until: datetime | date | None = None
    if "UNTIL" in parts:
        raw = parts["UNTIL"]
        if len(raw) == 8:
            until = date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        else:
            until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return _Rule(step=step, count=count, until=until)


# --- calendar -------------------------------------------------------------------------------------------
@dataclass
class _StoredEvent:
    id: str
    fields: dict[str, Any]
    start: datetime | date
    end: datetime | date
    time_zone: str | None
    status: str
    created: float
    updated: float
    sequence: int
    change: int
    recurrence: list[str] | None = None
    rule: _Rule | None = None


@dataclass
class _SyncToken:
    calendar: FakeCalendar
    change: int
    generation: int


@dataclass
class _PageState:
    calendar: FakeCalendar
    items: list[dict[str, Any]]
    offset: int
    sync_change: int
    generation: int


_FIELD_NAMES = {
    "hangout_link": "hangoutLink",
    "conference_data": "conferenceData",
    "html_link": "htmlLink",
    "color_id": "colorId",
    "event_type": "eventType",
}
_COMPUTED_FIELDS = {"id", "kind", "etag", "created", "updated", "sequence", "iCalUID", "recurringEventId"}

When = datetime | date | str | Mapping[str, Any]


class FakeCalendar:
    """One user's primary calendar. Mutations take effect at once and advance the change history."""

    def __init__(self, fake: FakeGoogle, sub: str, email: str | None, time_zone: str) -> None:
        self._fake = fake
        self.sub = sub
        self.email = email
        self.time_zone = time_zone
        self._events: dict[str, _StoredEvent] = {}
        self._change = 0
        self._generation = 0
        # Sync tokens issued before this change missed a deletion Google has since forgotten: 410.
        self._forgotten_change = 0

    # --- test API --------------------------------------------------------------------------------
    def add_event(
        self,
        *,
        start: When,
        end: When | None = None,
        summary: str | None = "Event",
        event_id: str | None = None,
        description: str | None = None,
        location: str | None = None,
        attendees: Sequence[str | Mapping[str, Any]] = (),
        organizer: str | Mapping[str, Any] | None = None,
        hangout_link: str | None = None,
        conference_data: Mapping[str, Any] | None = None,
        time_zone: str | None = None,
        status: str = "confirmed",
        recurrence: Sequence[str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add an event and return it as the API shows it.

        `start`/`end`: an aware datetime (a timed event), a date (an all-day event; `end` is exclusive),
        an RFC 3339 string or "YYYY-MM-DD", or the API's own {"dateTime", "timeZone"} / {"date"} form.
        `end` defaults to one hour (one day) later. Attendees are emails or attendee dicts;
        `responseStatus` defaults to "needsAction" and the calendar owner gets `self: true`. The
        organizer defaults to the owner. `hangout_link` also fills `conferenceData` (Google Meet) unless
        given. `extra` keys are copied into the resource as they are (API field names).
        """
        with self._fake._lock:
            new_id = event_id or _new_event_id()
            if new_id in self._events:
                raise ValueError(f"event {new_id} exists")
            start_value, start_zone = self._when(start)
            if end is None:
                end_value: datetime | date = start_value + (
                    timedelta(hours=1) if isinstance(start_value, datetime) else timedelta(days=1)
                )
                end_zone = start_zone
            else:
                end_value, end_zone = self._when(end)
            if isinstance(start_value, datetime) != isinstance(end_value, datetime):
                raise ValueError("start and end must both be timed or both be all-day")
            now = self._fake.now()
            owner = self.email or self.sub
            fields: dict[str, Any] = {"summary": summary, "description": description, "location": location}
            organizer_value = self._person(organizer if organizer is not None else owner)
            fields["organizer"] = organizer_value
            fields["creator"] = dict(organizer_value)
            fields["attendees"] = [self._attendee(a, organizer_value) for a in attendees] or None
            fields["hangoutLink"] = hangout_link
            if conference_data is not None:
                fields["conferenceData"] = dict(conference_data)
            elif hangout_link:
                fields["conferenceData"] = _meet_conference(hangout_link)
            fields.update(extra)
            stored = _StoredEvent(
                id=new_id,
                fields={k: v for k, v in fields.items() if v is not None},
                start=start_value,
                end=end_value,
                time_zone=time_zone or start_zone or end_zone,
                status="confirmed",
                created=now,
                updated=now,
                sequence=0,
                change=self._next_change(),
            )
            if recurrence:
                stored.recurrence = list(recurrence)
                stored.rule = _parse_recurrence(stored.recurrence)
            self._events[new_id] = stored
            if status == "cancelled":
                stored.status = "cancelled"
            elif status != "confirmed":
                stored.fields["status"] = status  # "tentative"
            return self._render(stored)

    def update_event(self, event_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields (add_event's keyword names or API names; None removes a field); returns the event.

        Moving `start`/`end` bumps `sequence`; `status="cancelled"` is the same as `delete_event`.
        """
        with self._fake._lock:
            stored = self._get(event_id)
            start = changes.pop("start", None)
            end = changes.pop("end", None)
            time_zone = changes.pop("time_zone", changes.pop("timeZone", None))
            if start is not None or end is not None:
                duration = _as_instant(stored.end, self.time_zone) - _as_instant(stored.start, self.time_zone)
                if start is not None:
                    stored.start, zone = self._when(start)
                    stored.time_zone = zone or stored.time_zone
                if end is not None:
                    stored.end, _ = self._when(end)
                elif isinstance(stored.start, datetime):
                    stored.end = stored.start + duration
                else:
                    stored.end = stored.start + timedelta(days=max(1, duration.days))
                stored.sequence += 1
            if time_zone is not None:
                stored.time_zone = time_zone
            if "recurrence" in changes:
                value = changes.pop("recurrence")
                stored.recurrence = list(value) if value else None
                stored.rule = _parse_recurrence(value) if value else None
            if "status" in changes:
                status = changes.pop("status")
                if status == "cancelled":
                    stored.status = "cancelled"
                else:
                    stored.status = "confirmed"
                    stored.fields.pop("status", None)
                    if status != "confirmed":
                        stored.fields["status"] = status
            for key, value in changes.items():
                name = _FIELD_NAMES.get(key, key)
                if name in _COMPUTED_FIELDS:
                    raise ValueError(f"{name} is computed by the fake")
                if name == "attendees" and value is not None:
                    value = [self._attendee(a, stored.fields.get("organizer", {})) for a in value]
                elif name == "organizer" and value is not None:
                    value = self._person(value)
                if value is None:
                    stored.fields.pop(name, None)
                else:
                    stored.fields[name] = value
                if (
                    name == "hangoutLink"
                    and value
                    and not {"conference_data", "conferenceData"} & changes.keys()
                ):
                    stored.fields["conferenceData"] = _meet_conference(value)
            stored.updated = self._fake.now()
            stored.change = self._next_change()
            return self._render(stored)

    def delete_event(self, event_id: str) -> None:
        """Delete an event: later reads show it as `status: "cancelled"` (incremental sync, showDeleted)."""
        with self._fake._lock:
            stored = self._get(event_id)
            stored.status = "cancelled"
            stored.updated = self._fake.now()
            stored.change = self._next_change()

    def get_event(self, event_id: str) -> dict[str, Any]:
        """The event as the API shows it (deleted ones in their short cancelled form)."""
        with self._fake._lock:
            return self._render(self._get(event_id))

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every stored event (recurring ones unexpanded), deleted ones included, as the API shows them."""
        with self._fake._lock:
            return [self._render(e) for e in self._events.values()]

    def invalidate_sync_tokens(self) -> None:
        """Every sync token issued so far for this calendar now gets 410 fullSyncRequired."""
        with self._fake._lock:
            self._generation += 1

    def purge_deleted(self, *, older_than: timedelta = timedelta(0)) -> list[str]:
        """Forget deleted events deleted at least `older_than` ago (the fake's clock), as Google eventually
        does; returns their ids. They leave every listing (showDeleted too), events.get answers 404, and
        sync tokens issued before their deletion get 410 from now on."""
        with self._fake._lock:
            cutoff = self._fake.now() - older_than.total_seconds()
            gone = [e for e in self._events.values() if e.status == "cancelled" and e.updated <= cutoff]
            for stored in gone:
                del self._events[stored.id]
                self._forgotten_change = max(self._forgotten_change, stored.change)
            return [stored.id for stored in gone]

    # --- internals ---------------------------------------------------------------------------------
    def _resource(self, event_id: str) -> dict[str, Any] | None:
        """events.get: a stored event or an instance ("<id>_<start>") of a recurring one; None if unknown."""
        stored = self._events.get(event_id)
        if stored is not None:
            return self._render(stored)
        master_id, _, _ = event_id.rpartition("_")
        master = self._events.get(master_id)
        if master is None or master.rule is None:
            return None
        horizon = max(
            _as_instant(datetime.fromtimestamp(self._fake.now(), UTC), self.time_zone), _latest(self)
        )
        instances = self._instances(master, horizon + RECURRENCE_HORIZON)
        return next((instance for instance in instances if instance["id"] == event_id), None)

    def _next_change(self) -> int:
        self._change += 1
        return self._change

    def _get(self, event_id: str) -> _StoredEvent:
        try:
            return self._events[event_id]
        except KeyError:
            raise KeyError(f"no event {event_id} in {self.sub}'s calendar") from None

    def _when(self, value: When) -> tuple[datetime | date, str | None]:
        if isinstance(value, Mapping):
            if "date" in value:
                return date.fromisoformat(str(value["date"])), None
            moment, _ = self._when(str(value["dateTime"]))
            return moment, value.get("timeZone")
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("timed events need an aware datetime (with a time zone)")
            zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
            return value, zone
        if isinstance(value, date):
            return value, None
        if len(value) == 10:
            return date.fromisoformat(value), None
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("timed events need an offset")
        return moment, None

    def _person(self, value: str | Mapping[str, Any]) -> dict[str, Any]:
        person: dict[str, Any] = {"email": value} if isinstance(value, str) else dict(value)
        if self.email and str(person.get("email", "")).lower() == self.email.lower():
            person["self"] = True
        return person

    def _attendee(self, value: str | Mapping[str, Any], organizer: Mapping[str, Any]) -> dict[str, Any]:
        attendee = self._person(value)
        attendee.setdefault("responseStatus", "needsAction")
        if str(attendee.get("email", "")).lower() == str(organizer.get("email", "")).lower():
            attendee["organizer"] = True
        return attendee

    def _etag(self, stored: _StoredEvent) -> str:
        return f'"{int(stored.updated * 1000)}{stored.change % 1000:03d}"'

    def _time(self, value: datetime | date, time_zone: str | None) -> dict[str, Any]:
        if isinstance(value, datetime):
            result: dict[str, Any] = {"dateTime": _format_datetime(value, time_zone)}
            if time_zone:
                result["timeZone"] = time_zone
            return result
        return {"date": value.isoformat()}

    def _shows_details(self, stored: _StoredEvent, show_deleted: bool) -> bool:
        """A deleted event keeps its details with showDeleted=true on its organizer's calendar."""
        return show_deleted and bool(stored.fields.get("organizer", {}).get("self"))

    def _render(self, stored: _StoredEvent, *, details: bool = False) -> dict[str, Any]:
        if stored.status == "cancelled" and not details:
            return {
                "kind": "calendar#event",
                "etag": self._etag(stored),
                "id": stored.id,
                "status": "cancelled",
            }
        owner = self.email or self.sub
        eid = _b64url(f"{stored.id} {owner}".encode())
        resource: dict[str, Any] = {
            "kind": "calendar#event",
            "etag": self._etag(stored),
            "id": stored.id,
            "status": "cancelled"
            if stored.status == "cancelled"
            else stored.fields.get("status", "confirmed"),
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "created": _rfc3339(stored.created),
            "updated": _rfc3339(stored.updated),
        }
        for name, value in stored.fields.items():
            if name != "status":
                resource[name] = json.loads(json.dumps(value))
        resource["start"] = self._time(stored.start, stored.time_zone)
        resource["end"] = self._time(stored.end, stored.time_zone)
        if stored.recurrence:
            resource["recurrence"] = list(stored.recurrence)
        resource["iCalUID"] = f"{stored.id}@google.com"
        resource["sequence"] = stored.sequence
        resource.setdefault("reminders", {"useDefault": True})
        resource.setdefault("eventType", "default")
        return resource

    def _instances(
        self, stored: _StoredEvent, horizon: datetime, *, details: bool = False
    ) -> list[dict[str, Any]]:
        """A recurring event's instances (in its own time zone's wall clock), or the event itself."""
        rule = stored.rule
        if rule is None:
            return [self._render(stored, details=details)]
        master = self._render(stored, details=details)
        instances: list[dict[str, Any]] = []
        index = 0
        while rule.count is None or index < rule.count:
            offset = rule.step * index
            start: datetime | date
            end: datetime | date
            if isinstance(stored.start, datetime) and isinstance(stored.end, datetime):
                # Step in wall-clock time of the event's zone, so a weekly 10:00 stays 10:00 across DST.
                zone = ZoneInfo(stored.time_zone) if stored.time_zone else stored.start.tzinfo
                local = stored.start.astimezone(zone)
                timed = (local.replace(tzinfo=None) + offset).replace(tzinfo=zone)
                start, end = timed, timed + (stored.end - stored.start)
                suffix = timed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            else:
                start, end = stored.start + offset, stored.end + offset
                suffix = start.strftime("%Y%m%d")
            if rule.until is not None and _past_until(start, rule.until):
                break
            if _as_instant(start, self.time_zone) > horizon:
                break
            if stored.status == "cancelled" and not details:
                instance: dict[str, Any] = {
                    "kind": "calendar#event",
                    "etag": master["etag"],
                    "id": f"{stored.id}_{suffix}",
                    "status": "cancelled",
                    "recurringEventId": stored.id,
                    "originalStartTime": self._time(start, stored.time_zone),
                }
            else:
                instance = {k: v for k, v in master.items() if k != "recurrence"}
                instance["id"] = f"{stored.id}_{suffix}"
                instance["start"] = self._time(start, stored.time_zone)
                instance["end"] = self._time(end, stored.time_zone)
                instance["recurringEventId"] = stored.id
                instance["originalStartTime"] = self._time(start, stored.time_zone)
            instances.append(instance)
            index += 1
        return instances

    def _list(self, params: Mapping[str, str], page_size: int) -> dict[str, Any]:
        """events.list for an already authorised caller (the fake's lock is held)."""
        fake = self._fake
        page_token = params.get("pageToken")
        if page_token:
            state = fake._pages.get(page_token)
            if state is None or state.calendar is not self:
                raise _bad_request("Invalid page token value.", "pageToken")
        else:
            state = self._snapshot(params)
        items = state.items[state.offset : state.offset + page_size]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{state.sync_change:014d}"',
            "summary": self.email or self.sub,
            "description": "",
            "updated": _rfc3339(fake.now()),
            "timeZone": self.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
        }
        next_offset = state.offset + page_size
        if next_offset < len(state.items):
            token = "E" + _b64url(secrets.token_bytes(24))
            fake._pages[token] = _PageState(
                calendar=self,
                items=state.items,
                offset=next_offset,
                sync_change=state.sync_change,
                generation=state.generation,
            )
            body["nextPageToken"] = token
        else:
            token = "C" + _b64url(secrets.token_bytes(18)) + "="
            fake._sync_tokens[token] = _SyncToken(
                calendar=self, change=state.sync_change, generation=state.generation
            )
            body["nextSyncToken"] = token
        body["items"] = items
        return body

    def _snapshot(self, params: Mapping[str, str]) -> _PageState:
        fake = self._fake
        single = params.get("singleEvents") == "true"
        show_deleted = params.get("showDeleted") == "true"
        sync_token = params.get("syncToken")
        horizon = max(_as_instant(datetime.fromtimestamp(fake.now(), UTC), self.time_zone), _latest(self))
        horizon += RECURRENCE_HORIZON
        items: list[dict[str, Any]] = []
        if sync_token:
            token = fake._sync_tokens.get(sync_token)
            if (
                token is None
                or token.calendar is not self
                or token.generation != self._generation
                or token.change < self._forgotten_change
            ):
                raise _api_error(
                    410,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                    domain="calendar",
                )
            changed = sorted(
                (e for e in self._events.values() if e.change > token.change), key=lambda e: e.change
            )
            for stored in changed:
                details = self._shows_details(stored, show_deleted)
                items.extend(
                    self._instances(stored, horizon, details=details)
                    if single
                    else [self._render(stored, details=details)]
                )
            return _PageState(self, items, 0, self._change, self._generation)

        time_min = _parse_query_time(params["timeMin"]) if "timeMin" in params else None
        time_max = _parse_query_time(params["timeMax"]) if "timeMax" in params else None
        if time_max is not None:
            horizon = min(horizon, time_max)
        rows: list[tuple[dict[str, Any], _StoredEvent]] = []
        for stored in self._events.values():
            if stored.status == "cancelled" and not show_deleted:
                continue
            details = self._shows_details(stored, show_deleted)
            candidates = (
                self._instances(stored, horizon, details=details)
                if stored.rule is not None
                else [self._render(stored, details=details)]
            )
            in_window = [c for c in candidates if self._overlaps(c, stored, time_min, time_max)]
            if not in_window:
                continue
            if single or stored.rule is None:
                rows.extend((c, stored) for c in in_window)
            else:
                rows.append((self._render(stored, details=details), stored))
        order = params.get("orderBy")
        if order == "startTime":
            rows.sort(key=lambda row: (self._start_instant(row[0], row[1]), row[0]["id"]))
        elif order == "updated":
            rows.sort(key=lambda row: (row[1].updated, row[1].change))
        items = [row[0] for row in rows]
        return _PageState(self, items, 0, self._change, self._generation)

    def _start_instant(self, item: Mapping[str, Any], stored: _StoredEvent) -> datetime:
        start = item.get("start")
        if not start:
            return _as_instant(stored.start, self.time_zone)
        return self._instant(start)

    def _instant(self, value: Mapping[str, Any]) -> datetime:
        if "date" in value:
            return _as_instant(date.fromisoformat(value["date"]), self.time_zone)
        return datetime.fromisoformat(value["dateTime"])

    def _overlaps(
        self,
        item: Mapping[str, Any],
        stored: _StoredEvent,
        time_min: datetime | None,
        time_max: datetime | None,
    ) -> bool:
        if "start" in item:
            start = self._instant(item["start"])
            end = self._instant(item["end"])
        elif "originalStartTime" in item:  # a deleted instance's short form: its own time, the series' length
            start = self._instant(item["originalStartTime"])
            end = start + (
                _as_instant(stored.end, self.time_zone) - _as_instant(stored.start, self.time_zone)
            )
        else:  # a deleted event's short form: judge by the stored times
            start = _as_instant(stored.start, self.time_zone)
            end = _as_instant(stored.end, self.time_zone)
        if time_min is not None and not end > time_min:
            return False
        return not (time_max is not None and not start < time_max)


def _as_instant(value: datetime | date, time_zone: str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=ZoneInfo(time_zone))


def _past_until(start: datetime | date, until: datetime | date) -> bool:
    if isinstance(start, datetime):
        limit = (
            until if isinstance(until, datetime) else datetime(until.year, until.month, until.day, tzinfo=UTC)
        )
        return start > limit
    return start > (until.date() if isinstance(until, datetime) else until)


def _latest(calendar: FakeCalendar) -> datetime:
    starts = [_as_instant(e.start, calendar.time_zone) for e in calendar._events.values()]
    return max(starts, default=datetime.fromtimestamp(0, UTC))


def _meet_conference(link: str) -> dict[str, Any]:
    conference_id = link.rstrip("/").rsplit("/", 1)[-1]
    return {
        "entryPoints": [
            {"entryPointType": "video", "uri": link, "label": link.removeprefix("https://")},
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": conference_id,
    }


# --- HTTP plumbing --------------------------------------------------------------------------------------
def _single_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise _oauth_error(400, "invalid_request", f"Duplicate parameter: {name}")
        values[name] = value
    return values


# --- the fake -------------------------------------------------------------------------------------------
class FakeGoogle(LoopbackFake):
    """The fake server. See the module docstring for the wire behaviour and the test hooks."""

    def __init__(
        self,
        *,
        issuer: str | None = None,
        require_pkce: bool = True,
        require_nonce: bool = True,
        require_state: bool = True,
        code_ttl: float = 600.0,
    ) -> None:
        """`issuer`: the discovery document's and ID tokens' `iss` (default: `base_url`).

        Pass `GOOGLE_ISSUER` to pretend to be Google (an app that pins "https://accounts.google.com"
        accepts these tokens), or change it later with `fake.issuer = ...`.
        """
        self._lock = threading.RLock()
        self._requests: list[dict[str, Any]] = []
        self._clients: dict[str, _Client] = {}
        self._users: dict[str, GoogleUser] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._grants: dict[tuple[str, str], _Grant] = {}
        self._calendars: dict[str, FakeCalendar] = {}
        self._sync_tokens: dict[str, _SyncToken] = {}
        self._pages: dict[str, _PageState] = {}
        self._id_token_plans: deque[_IdTokenPlan] = deque()
        self._scripts: dict[str, deque[_Scripted]] = {name: deque() for name in ENDPOINTS}
        self._authorizations: list[dict[str, Any]] = []
        self._revoked: list[str] = []
        self._id_tokens: list[str] = []
        self._browser: tuple[GoogleUser, bool, tuple[str, ...] | None] | None = None
        self._clock_offset = 0.0
        self.require_pkce = require_pkce
        self.require_nonce = require_nonce
        self.require_state = require_state
        self.code_ttl = code_ttl
        self._keys = [_RsaKey(secrets.token_hex(20))]
        self._rogue_key: _RsaKey | None = None
        self._serve("fake-google")
        self.issuer = issuer or self.base_url

    # --- addresses -------------------------------------------------------------------------------
    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.base_url}/oauth2/v3/certs"

    @property
    def revocation_endpoint(self) -> str:
        return f"{self.base_url}/revoke"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.base_url}/v1/userinfo"

    @property
    def calendar_api_root(self) -> str:
        """The API root, like "https://www.googleapis.com/" (GOOGLE_CALENDAR_API_URL)."""
        return f"{self.base_url}/"

    @property
    def calendar_api_endpoint(self) -> str:
        """What googleapiclient's `client_options={"api_endpoint": ...}` needs: root + "calendar/v3/"."""
        return f"{self.base_url}/calendar/v3/"

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "revocation_endpoint": self.revocation_endpoint,
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "aud",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "iss",
                "name",
                "picture",
                "sub",
            ],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.jwk() for key in self._keys]}

    # --- clock -------------------------------------------------------------------------------------
    def now(self) -> float:
        """The fake's clock (wall clock plus `advance_time` offsets)."""
        return time.time() + self._clock_offset

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock: codes and access tokens expire, `updated` stamps move on."""
        with self._lock:
            self._clock_offset += seconds

    # --- clients, users, browser ------------------------------------------------------------------
    def register_client(self, client_id: str, client_secret: str, redirect_uris: Iterable[str]) -> None:
        """An OAuth client as in Cloud console; redirect URIs match exactly (no prefix or case games)."""
        with self._lock:
            self._clients[client_id] = _Client(client_id, client_secret, tuple(redirect_uris))

    def login_as(
        self, user: GoogleUser | None, *, consent: bool = True, granted_scopes: Iterable[str] | None = None
    ) -> None:
        """What the "browser" does on GET /o/oauth2/v2/auth over HTTP (None: nobody is signed in)."""
        with self._lock:
            self._browser = (
                None if user is None else (user, consent, tuple(granted_scopes) if granted_scopes else None)
            )

    def authorize(
        self,
        url: str,
        *,
        user: GoogleUser | None = None,
        consent: bool = True,
        granted_scopes: Iterable[str] | None = None,
    ) -> str:
        """Play the user at the consent screen for the app's authorization URL; return the redirect URL.

        `consent=False`: the user clicks Cancel (`error=access_denied`). `granted_scopes`: the user
        unticks some scopes on Google's granular consent screen (a subset of the requested ones).
        Raises GoogleAuthorizationError where Google shows an error page instead of redirecting.
        """
        if user is None:
            with self._lock:
                if self._browser is None:
                    raise ValueError("authorize() needs user= (or call login_as first)")
                user, consent, scripted_scopes = self._browser
            granted_scopes = granted_scopes if granted_scopes is not None else scripted_scopes
        return self._authorize(url, user, consent, granted_scopes)

    def user(self, sub: str) -> GoogleUser:
        with self._lock:
            return self._users[sub]

    # --- calendars -------------------------------------------------------------------------------
    def calendar(self, user: GoogleUser | str, *, time_zone: str = "UTC") -> FakeCalendar:
        """The user's primary calendar (created on first use). `user` is a GoogleUser or a `sub`."""
        with self._lock:
            if isinstance(user, GoogleUser):
                self._users.setdefault(user.sub, user)
                sub = user.sub
            else:
                sub = user
            calendar = self._calendars.get(sub)
            if calendar is None:
                known = self._users.get(sub)
                calendar = FakeCalendar(self, sub, known.email if known else None, time_zone)
                self._calendars[sub] = calendar
            return calendar

    def invalidate_sync_tokens(self, user: GoogleUser | str | None = None) -> None:
        """Sync tokens issued so far (for one user's calendar, or every calendar) now get 410."""
        with self._lock:
            if user is None:
                for calendar in self._calendars.values():
                    calendar.invalidate_sync_tokens()
            else:
                self.calendar(user).invalidate_sync_tokens()

    # --- tokens ------------------------------------------------------------------------------------
    def grant(
        self,
        user: GoogleUser,
        client_id: str,
        scopes: Iterable[str] = ("openid", "email", "profile", CALENDAR_SCOPE),
        *,
        offline: bool = True,
    ) -> dict[str, Any]:
        """Skip the consent dance: record a grant and return the token response the endpoint would give.

        For tests about what happens after sign-in or connection (e.g. calendar polling).
        """
        with self._lock:
            if client_id not in self._clients:
                raise ValueError(f"unknown client {client_id}")
            self._users[user.sub] = user
            normalised = _normalise_scopes(scopes)
            grant = self._grants.setdefault((user.sub, client_id), _Grant())
            grant.scopes = _normalise_scopes([*grant.scopes, *normalised])
            return self._token_response(user.sub, client_id, normalised, nonce=None, offline=offline)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (401 at the Calendar API, like after an hour)."""
        with self._lock:
            past = self.now() - 1
            for token in self._access.values():
                token.expires_at = min(token.expires_at, past)

    def revoke_grant(self, user: GoogleUser | str, client_id: str | None = None) -> None:
        """The user removes the app at myaccount.google.com: its tokens stop working (invalid_grant, 401)."""
        with self._lock:
            sub = user.sub if isinstance(user, GoogleUser) else user
            for key in list(self._grants):
                if key[0] == sub and (client_id is None or key[1] == client_id):
                    self._drop_grant(*key)

    def next_id_token(
        self,
        mode: IdTokenMode = IdTokenMode.VALID,
        *,
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
    ) -> None:
        """Spoil the next ID token issued (queued, one plan per token): a mode, then claim/header edits."""
        with self._lock:
            self._id_token_plans.append(
                _IdTokenPlan(mode, dict(claims or {}), dict(header or {}), tuple(remove))
            )

    def rotate_keys(self, *, keep_old: bool = True) -> str:
        """Sign with a new key from now on (its kid first in the JWKS); returns the new kid."""
        with self._lock:
            key = _RsaKey(secrets.token_hex(20))
            self._keys = [key, *(self._keys if keep_old else [])]
            return key.kid

    @property
    def signing_kid(self) -> str:
        return self._keys[0].kid

    # --- scripted failures -------------------------------------------------------------------------
    def fail_next(
        self,
        endpoint: str,
        status: int = 500,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` valid requests to `endpoint` with `status` (body: Google's shape)."""
        self._script(endpoint, _Scripted(status, body, dict(headers or {}), 0.0), times)

    def delay_next(self, endpoint: str, seconds: float, *, times: int = 1) -> None:
        """Delay the next `times` answers of `endpoint` by `seconds` (then answer normally)."""
        self._script(endpoint, _Scripted(None, None, {}, seconds), times)

    def _script(self, endpoint: str, item: _Scripted, times: int) -> None:
        if endpoint not in self._scripts:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}")
        with self._lock:
            self._scripts[endpoint].extend([item] * times)

    # --- observations ------------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every HTTP request received, oldest first.

        {"method", "path" (with query), "route" (without), "query": {name: value}, "headers" (lowercased
        names), "form": {name: value} for form posts, "body" (raw text), "status"}.
        """
        with self._lock:
            return [dict(r) for r in self._requests]

    def requests_to(self, route_prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["route"].startswith(route_prefix)]

    @property
    def authorization_requests(self) -> list[dict[str, Any]]:
        """Every authorization request seen: {"params": {...}, "user_sub", "result"} (result: "code",
        "access_denied", another redirect error, or "error_page:<error>")."""
        with self._lock:
            return [dict(a, params=dict(a["params"])) for a in self._authorizations]

    @property
    def revoked(self) -> list[str]:
        """Tokens accepted by the revocation endpoint, in order."""
        with self._lock:
            return list(self._revoked)

    @property
    def id_tokens(self) -> list[str]:
        """Every ID token issued (as sent), in order."""
        with self._lock:
            return list(self._id_tokens)

    def granted_scopes(self, user: GoogleUser | str, client_id: str) -> list[str]:
        with self._lock:
            sub = user.sub if isinstance(user, GoogleUser) else user
            grant = self._grants.get((sub, client_id))
            return list(grant.scopes) if grant else []

    def has_live_tokens(self, user: GoogleUser | str, client_id: str) -> bool:
        """Whether any unrevoked refresh token exists for the pair."""
        with self._lock:
            sub = user.sub if isinstance(user, GoogleUser) else user
            return any(
                t.sub == sub and t.client_id == client_id and not t.revoked for t in self._refresh.values()
            )

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # === authorization endpoint =============================================================================
    def _authorize(
        self, url: str, user: GoogleUser, consent: bool, granted_scopes: Iterable[str] | None
    ) -> str:
        parts = urlsplit(url)
        params_pairs = parse_qsl(parts.query, keep_blank_values=True)
        record: dict[str, Any] = {"params": dict(params_pairs), "user_sub": user.sub, "result": None}
        with self._lock:
            self._authorizations.append(record)
            try:
                if f"{parts.scheme}://{parts.netloc}{parts.path}" != self.authorization_endpoint:
                    raise GoogleAuthorizationError("invalid_request", f"not this fake's endpoint: {url}")
                try:
                    params = _single_values(params_pairs)
                except _HttpError as err:
                    raise GoogleAuthorizationError(
                        "invalid_request", err.payload["error_description"]
                    ) from None
                redirect_uri, state, nonce, scopes = self._validate_authorization(params)
            except GoogleAuthorizationError as err:
                record["result"] = f"error_page:{err.error}"
                raise
            self._users[user.sub] = user
            previous = self._grants.get((user.sub, params["client_id"]))
            prompts = params.get("prompt", "").split()

            def redirect(values: list[tuple[str, str]]) -> str:
                if state is not None:
                    values.append(("state", state))
                separator = "&" if "?" in redirect_uri else "?"
                return redirect_uri + separator + urlencode(values, quote_via=quote)

            if "none" in prompts:
                if previous is None or not set(scopes) <= set(previous.scopes):
                    record["result"] = "consent_required"
                    return redirect([("error", "consent_required")])
            elif not consent:
                record["result"] = "access_denied"
                return redirect([("error", "access_denied")])

            granted = list(scopes)
            if granted_scopes is not None and "none" not in prompts:
                chosen = _normalise_scopes(granted_scopes)
                extra = [s for s in chosen if s not in scopes]
                if extra:
                    raise ValueError(f"granted_scopes {extra} were not requested")
                granted = chosen
            grant = self._grants.setdefault((user.sub, params["client_id"]), _Grant())
            if params.get("include_granted_scopes") == "true":
                granted = _normalise_scopes([*granted, *grant.scopes])
            if not granted:  # nothing left to grant: Google cannot issue a token without scopes
                record["result"] = "access_denied"
                return redirect([("error", "access_denied")])
            grant.scopes = _normalise_scopes([*grant.scopes, *granted])

            code = "4/0A" + secrets.token_urlsafe(48)
            self._codes[code] = _Code(
                code=code,
                client_id=params["client_id"],
                redirect_uri=redirect_uri,
                sub=user.sub,
                scopes=granted,
                nonce=nonce,
                code_challenge=params.get("code_challenge"),
                code_challenge_method=params.get("code_challenge_method"),
                offline=params.get("access_type") == "offline",
                force_consent="consent" in prompts,
                issued_at=self.now(),
            )
            record["result"] = "code"
            return redirect(
                [
                    ("code", code),
                    ("scope", " ".join(granted)),
                    ("authuser", "0"),
                    ("prompt", "none" if "none" in prompts else "consent"),
                ]
            )

    def _validate_authorization(
        self, params: Mapping[str, str]
    ) -> tuple[str, str | None, str | None, list[str]]:
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            raise GoogleAuthorizationError("invalid_client", "The OAuth client was not found.")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise GoogleAuthorizationError("invalid_request", "Missing required parameter: redirect_uri")
        if redirect_uri not in client.redirect_uris:
            raise GoogleAuthorizationError(
                "redirect_uri_mismatch",
                f"The redirect URI in the request, {redirect_uri}, does not match the ones authorized for "
                "the OAuth client.",
            )
        response_type = params.get("response_type")
        if response_type != "code":
            raise GoogleAuthorizationError(
                "unsupported_response_type",
                f"Invalid response_type: {response_type!r} (the fake does code only)",
            )
        raw_scope = params.get("scope", "")
        if not raw_scope.strip():
            raise GoogleAuthorizationError("invalid_request", "Missing required parameter: scope")
        scopes = _normalise_scopes(raw_scope.split())
        for scope in scopes:
            if scope != "openid" and not scope.startswith(_GOOGLE_SCOPE_PREFIX):
                raise GoogleAuthorizationError(
                    "invalid_scope", f"Some requested scopes were invalid: {scope}"
                )
        state = params.get("state")
        if self.require_state and not state:
            raise GoogleAuthorizationError("invalid_request", "Missing state (FakeGoogle requires it)")
        nonce = params.get("nonce")
        if self.require_nonce and "openid" in scopes and not nonce:
            raise GoogleAuthorizationError("invalid_request", "Missing nonce (FakeGoogle requires it)")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is None:
            if method is not None:
                raise GoogleAuthorizationError(
                    "invalid_request", "code_challenge_method without code_challenge"
                )
            if self.require_pkce:
                raise GoogleAuthorizationError("invalid_request", "Missing code_challenge (PKCE is required)")
        else:
            if method != "S256":
                raise GoogleAuthorizationError(
                    "invalid_request", f"Unsupported code_challenge_method: {method!r} (S256 required)"
                )
            if not _CHALLENGE_RE.match(challenge):
                raise GoogleAuthorizationError("invalid_request", "Invalid code_challenge")
        access_type = params.get("access_type", "online")
        if access_type not in ("online", "offline"):
            raise GoogleAuthorizationError("invalid_request", f"Invalid access_type: {access_type}")
        prompts = params.get("prompt", "").split()
        if any(p not in ("none", "consent", "select_account") for p in prompts) or (
            "none" in prompts and len(prompts) > 1
        ):
            raise GoogleAuthorizationError("invalid_request", f"Invalid prompt: {params.get('prompt')}")
        include = params.get("include_granted_scopes")
        if include is not None and include not in ("true", "false"):
            raise GoogleAuthorizationError("invalid_request", f"Invalid include_granted_scopes: {include}")
        return redirect_uri, state, nonce, scopes

    # === tokens =============================================================================================
    def _token_response(
        self, sub: str, client_id: str, scopes: list[str], *, nonce: str | None, offline: bool
    ) -> dict[str, Any]:
        access = "ya29." + secrets.token_urlsafe(96)
        self._access[access] = _AccessToken(sub, client_id, list(scopes), self.now() + ACCESS_TOKEN_SECONDS)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if offline:
            refresh = "1//0g" + secrets.token_urlsafe(64)
            self._refresh[refresh] = _RefreshToken(sub, client_id, list(scopes))
            self._grants.setdefault((sub, client_id), _Grant()).offline = True
            body["refresh_token"] = refresh
        if "openid" in scopes:
            body["id_token"] = self._id_token(sub, client_id, scopes, nonce, access)
        return body

    def _id_token(self, sub: str, client_id: str, scopes: list[str], nonce: str | None, access: str) -> str:
        user = self._users.get(sub) or GoogleUser(sub=sub)
        now = int(self.now())
        claims: dict[str, Any] = {"iss": self.issuer, "azp": client_id, "aud": client_id, "sub": sub}
        if user.hd:
            claims["hd"] = user.hd
        if EMAIL_SCOPE in scopes:
            claims["email"] = user.email
            claims["email_verified"] = user.email_verified
        claims["at_hash"] = _b64url(hashlib.sha256(access.encode()).digest()[:16])
        if nonce is not None:
            claims["nonce"] = nonce
        if PROFILE_SCOPE in scopes:
            claims["name"] = user.name
            if user.picture:
                claims["picture"] = user.picture
            claims["given_name"] = user.given_name or user.name.split(" ")[0]
            if user.family_name or " " in user.name:
                claims["family_name"] = user.family_name or user.name.split(" ", 1)[1]
        claims["iat"] = now
        claims["exp"] = now + ID_TOKEN_SECONDS
        key = self._keys[0]
        header: dict[str, Any] = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
        plan = self._id_token_plans.popleft() if self._id_token_plans else None
        mode = plan.mode if plan else IdTokenMode.VALID
        if mode is IdTokenMode.WRONG_ISS:
            claims["iss"] = "https://evil.example.com"
        elif mode is IdTokenMode.WRONG_AUD:
            claims["aud"] = "someone-else.apps.googleusercontent.com"
        elif mode is IdTokenMode.EXPIRED:
            claims["iat"] = now - 2 * ID_TOKEN_SECONDS
            claims["exp"] = now - ID_TOKEN_SECONDS
        elif mode is IdTokenMode.MISSING_NONCE:
            claims.pop("nonce", None)
        elif mode is IdTokenMode.WRONG_NONCE:
            claims["nonce"] = secrets.token_urlsafe(16)
        elif mode is IdTokenMode.EMAIL_UNVERIFIED:
            claims["email_verified"] = False
        if plan is not None:
            claims.update(plan.claims)
            header.update(plan.header)
            for name in plan.remove:
                claims.pop(name, None)
                header.pop(name, None)
        if mode is IdTokenMode.ALG_NONE:
            header["alg"] = "none"
        elif mode is IdTokenMode.ALG_HS256:
            header["alg"] = "HS256"
        signing_input = f"{_segment(header)}.{_segment(claims)}".encode()
        if mode is IdTokenMode.ALG_NONE:
            signature = b""
        elif mode is IdTokenMode.ALG_HS256:
            signature = hmac.new(key.public_pem(), signing_input, hashlib.sha256).digest()
        elif mode is IdTokenMode.BAD_SIGNATURE:
            signature = self._rogue().sign(signing_input)
        elif mode is IdTokenMode.UNKNOWN_KID:
            rogue = self._rogue()
            header["kid"] = rogue.kid
            signing_input = f"{_segment(header)}.{_segment(claims)}".encode()
            signature = rogue.sign(signing_input)
        else:
            signature = key.sign(signing_input)
        token = signing_input.decode() + "." + _b64url(signature)
        self._id_tokens.append(token)
        return token

    def _rogue(self) -> _RsaKey:
        if self._rogue_key is None:
            self._rogue_key = _RsaKey(secrets.token_hex(20))
        return self._rogue_key

    def _drop_grant(self, sub: str, client_id: str) -> None:
        self._grants.pop((sub, client_id), None)
        for access in self._access.values():
            if access.sub == sub and access.client_id == client_id:
                access.revoked = True
        for refresh in self._refresh.values():
            if refresh.sub == sub and refresh.client_id == client_id:
                refresh.revoked = True

    def _client_from_request(self, form: Mapping[str, str], headers: Mapping[str, str]) -> _Client:
        authorization = headers.get("authorization", "")
        basic: tuple[str, str] | None = None
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                client_id, _, secret = decoded.partition(":")
            except ValueError:
                raise _oauth_error(401, "invalid_client", "Unauthorized") from None
            basic = (client_id, secret)
        if basic is not None and "client_secret" in form:
            raise _oauth_error(400, "invalid_request", "Use one client authentication method, not two.")
        if basic is not None:
            client_id, secret = basic
            if (
                "client_id" in form
                and form["client_id"] != client_id
                and unquote_plus(client_id) != form["client_id"]
            ):
                raise _oauth_error(
                    400, "invalid_request", "client_id does not match the authorization header"
                )
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self._clients.get(client_id) or self._clients.get(unquote_plus(client_id))
        if client is None:
            raise _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not secret:
            raise _oauth_error(401, "invalid_client", "Unauthorized")
        if not (
            hmac.compare_digest(secret, client.client_secret)
            or hmac.compare_digest(unquote_plus(secret), client.client_secret)
        ):
            raise _oauth_error(401, "invalid_client", "Unauthorized")
        return client

    def _token(self, form: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        client = self._client_from_request(form, headers)
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")
        self._scripted("token")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        return self._refresh_grant(client, form)

    def _exchange_code(self, client: _Client, form: Mapping[str, str]) -> dict[str, Any]:
        code_value = form.get("code")
        if not code_value:
            raise _oauth_error(400, "invalid_request", "Missing required parameter: code")
        code = self._codes.get(code_value)
        if code is None:
            raise _oauth_error(400, "invalid_grant", "Malformed auth code.")
        if code.used:
            raise _oauth_error(400, "invalid_grant", "Bad Request")
        if code.client_id != client.client_id:
            raise _oauth_error(400, "invalid_grant", "Bad Request")
        if self.now() - code.issued_at > self.code_ttl:
            code.used = True
            raise _oauth_error(400, "invalid_grant", "Bad Request")
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise _oauth_error(400, "invalid_request", "Missing parameter: redirect_uri")
        if redirect_uri != code.redirect_uri:
            code.used = True
            raise _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier")
        if code.code_challenge is None:
            if verifier is not None:
                code.used = True
                raise _oauth_error(400, "invalid_request", "code_verifier or verifier is not needed.")
        else:
            if not verifier:
                code.used = True
                raise _oauth_error(400, "invalid_grant", "Missing code verifier.")
            if not _VERIFIER_RE.match(verifier) or not hmac.compare_digest(
                _s256(verifier), code.code_challenge
            ):
                code.used = True
                raise _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        code.used = True
        grant = self._grants.get((code.sub, code.client_id))
        if grant is None:  # revoked between consent and exchange
            raise _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        offline = code.offline and (code.force_consent or not grant.offline)
        return self._token_response(code.sub, code.client_id, code.scopes, nonce=code.nonce, offline=offline)

    def _refresh_grant(self, client: _Client, form: Mapping[str, str]) -> dict[str, Any]:
        value = form.get("refresh_token")
        if not value:
            raise _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        token = self._refresh.get(value)
        if token is None:
            raise _oauth_error(400, "invalid_grant", "Bad Request")
        if token.client_id != client.client_id:
            raise _oauth_error(400, "unauthorized_client", "Unauthorized")
        if token.revoked:
            raise _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        scopes = list(token.scopes)
        if form.get("scope"):
            asked = _normalise_scopes(form["scope"].split())
            if not set(asked) <= set(scopes):
                raise _oauth_error(400, "invalid_scope", "Some requested scopes were invalid.")
            scopes = asked
        access = "ya29." + secrets.token_urlsafe(96)
        self._access[access] = _AccessToken(
            token.sub, client.client_id, scopes, self.now() + ACCESS_TOKEN_SECONDS
        )
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if "openid" in scopes:
            body["id_token"] = self._id_token(token.sub, client.client_id, scopes, None, access)
        return body

    def _revoke(self, values: Mapping[str, str]) -> None:
        token = values.get("token")
        if not token:
            raise _oauth_error(400, "invalid_request", "Missing required parameter: token")
        access = self._access.get(token)
        refresh = self._refresh.get(token)
        owner = access or refresh
        if owner is None or owner.revoked or (access is not None and access.expires_at <= self.now()):
            raise _oauth_error(400, "invalid_token", "Token expired or revoked")
        self._scripted("revoke")
        self._drop_grant(owner.sub, owner.client_id)
        self._revoked.append(token)

    def _bearer(self, headers: Mapping[str, str]) -> _AccessToken:
        authorization = headers.get("authorization", "")
        value = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        token = self._access.get(value) if value else None
        if token is None or token.revoked or token.expires_at <= self.now():
            raise _api_error(
                401,
                "authError",
                "Invalid Credentials",
                location="Authorization",
                headers={"www-authenticate": _www_authenticate("invalid_token")},
            )
        return token

    # === calendar ===========================================================================================
    def _calendar_request(self, route: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Any:
        access = self._bearer(headers)
        match = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?", route)
        if match is None:
            raise _api_error(404, "notFound", "Not Found")
        if not set(access.scopes) & CALENDAR_READ_SCOPES:
            raise _HttpError(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "Request had insufficient authentication scopes.",
                        "errors": [
                            {
                                "message": "Insufficient Permission",
                                "domain": "global",
                                "reason": "insufficientPermissions",
                            }
                        ],
                        "status": "PERMISSION_DENIED",
                    }
                },
                {"www-authenticate": _www_authenticate("insufficient_scope")},
            )
        calendar_id = unquote(match.group(1))
        user = self._users.get(access.sub)
        if calendar_id != "primary" and (user is None or calendar_id.lower() != user.email.lower()):
            raise _api_error(404, "notFound", "Not Found")
        calendar = self.calendar(access.sub)
        if match.group(2) is not None:
            self._scripted("calendar")
            found = calendar._resource(unquote(match.group(2)))
            if found is None:
                raise _api_error(404, "notFound", "Not Found")
            return found
        page_size = self._validate_list(query)
        self._scripted("calendar")
        return calendar._list(query, page_size)

    def _validate_list(self, query: Mapping[str, str]) -> int:
        for name in ("singleEvents", "showDeleted"):
            if name in query and query[name] not in ("true", "false"):
                raise _bad_request(f"Invalid boolean value for {name}", name)
        page_size = DEFAULT_PAGE_SIZE
        if "maxResults" in query:
            try:
                page_size = int(query["maxResults"])
            except ValueError:
                raise _bad_request("Invalid value for maxResults", "maxResults") from None
            if page_size < 1:
                raise _bad_request("Invalid value for maxResults", "maxResults")
            page_size = min(page_size, MAX_PAGE_SIZE)
        if "syncToken" in query:
            combined = [name for name in _SYNC_FORBIDDEN if name in query]
            if combined:
                raise _bad_request(f"syncToken cannot be combined with {', '.join(combined)}", combined[0])
            if query.get("showDeleted") == "false":
                raise _bad_request("showDeleted cannot be false with a syncToken", "showDeleted")
            return page_size
        order = query.get("orderBy")
        if order is not None and order not in ("startTime", "updated"):
            raise _bad_request(f"Invalid value for orderBy: {order}", "orderBy")
        if order == "startTime" and query.get("singleEvents") != "true":
            raise _bad_request("The requested ordering is not available for the particular query.", "orderBy")
        bounds: dict[str, datetime] = {}
        for name in ("timeMin", "timeMax"):
            if name in query:
                parsed = _parse_query_time(query[name])
                if parsed is None:
                    raise _bad_request("Bad Request", name)
                bounds[name] = parsed
        if "timeMin" in bounds and "timeMax" in bounds and bounds["timeMin"] >= bounds["timeMax"]:
            raise _api_error(
                400,
                "timeRangeEmpty",
                "The specified time range is empty.",
                domain="calendar",
                location="timeMax",
            )
        return page_size

    def _userinfo(self, headers: Mapping[str, str]) -> dict[str, Any]:
        access = self._bearer(headers)
        user = self._users.get(access.sub) or GoogleUser(sub=access.sub)
        info: dict[str, Any] = {"sub": user.sub}
        if PROFILE_SCOPE in access.scopes:
            info.update(name=user.name, given_name=user.given_name or user.name.split(" ")[0])
            if user.picture:
                info["picture"] = user.picture
        if EMAIL_SCOPE in access.scopes:
            info.update(email=user.email, email_verified=user.email_verified)
        if user.hd:
            info["hd"] = user.hd
        return info

    # === request dispatch ===================================================================================
    def _scripted(self, endpoint: str) -> None:
        """Consume a scripted failure for `endpoint`, if any (the lock is held)."""
        queue = self._scripts[endpoint]
        if not queue:
            return
        item = queue.popleft()
        if item.delay:
            self._lock.release()
            try:
                self._closing.wait(item.delay)
            finally:
                self._lock.acquire()
        if item.status is None:
            return
        body = item.body if item.body is not None else _default_failure(endpoint, item.status)
        raise _HttpError(item.status, body, item.headers)

    def _handle(self, handler: FakeHandler) -> None:
        raw = handler.read_body()
        headers = {name.lower(): value for name, value in handler.headers.items()}
        parts = urlsplit(handler.path)
        route = parts.path
        query_pairs = parse_qsl(parts.query, keep_blank_values=True)
        form: dict[str, str] | None = None
        if raw and "application/x-www-form-urlencoded" in headers.get("content-type", ""):
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        record: dict[str, Any] = {
            "method": handler.command,
            "path": handler.path,
            "route": route,
            "query": dict(query_pairs),
            "headers": headers,
            "form": form,
            "body": raw.decode("utf-8", "replace"),
            "status": None,
        }
        with self._lock:
            self._requests.append(record)
        status = 200
        extra_headers: dict[str, str] = {}
        payload: Any
        try:
            with self._lock:
                status, payload, extra_headers = self._route(
                    handler.command, route, query_pairs, raw, headers
                )
        except _HttpError as err:
            status, payload, extra_headers = err.status, err.payload, err.headers
        record["status"] = status
        try:
            if status == 302:
                handler.send_response(302)
                handler.send_header("location", payload)
                handler.send_header("content-length", "0")
                handler.end_headers()
                return
            if isinstance(payload, str):
                data = payload.encode()
                content_type = "text/html; charset=utf-8"
            else:
                data = json.dumps(payload, indent=2).encode()
                content_type = "application/json; charset=utf-8"
            handler.send_response(status)
            handler.send_header("content-type", content_type)
            for name, value in extra_headers.items():
                handler.send_header(name, value)
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:
            return

    def _route(
        self,
        method: str,
        route: str,
        query_pairs: list[tuple[str, str]],
        raw: bytes,
        headers: Mapping[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        no_store = {"cache-control": "no-cache, no-store, max-age=0, must-revalidate", "pragma": "no-cache"}
        if route == "/.well-known/openid-configuration" and method == "GET":
            self._scripted("discovery")
            return 200, self.discovery_document(), {"cache-control": "public, max-age=3600"}
        if route in ("/oauth2/v3/certs", "/certs") and method == "GET":
            self._scripted("certs")
            return 200, self.jwks(), {"cache-control": "public, max-age=19204, must-revalidate, no-transform"}
        if route == "/o/oauth2/v2/auth" and method == "GET":
            self._scripted("authorize")
            return self._http_authorize(route, query_pairs)
        if route == "/token":
            if method != "POST":
                raise _oauth_error(405, "invalid_request", "Method not allowed")
            if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
                raise _oauth_error(400, "invalid_request", "Expected application/x-www-form-urlencoded")
            form = _single_values(parse_qsl(raw.decode(), keep_blank_values=True))
            return 200, self._token(form, headers), no_store
        if route == "/revoke" and method in ("POST", "GET"):
            values = dict(query_pairs)
            if raw:
                values.update(parse_qsl(raw.decode(), keep_blank_values=True))
            self._revoke(values)
            return 200, {}, no_store
        if route in ("/v1/userinfo", "/oauth2/v3/userinfo") and method == "GET":
            info = self._userinfo(headers)
            self._scripted("userinfo")
            return 200, info, no_store
        if route.startswith("/calendar/v3/"):
            if method != "GET":
                raise _api_error(405, "methodNotAllowed", "FakeGoogle's Calendar is read-only")
            query = _calendar_query(query_pairs)
            return 200, self._calendar_request(route, query, headers), {}
        return 404, "<!DOCTYPE html><title>Error 404 (Not Found)!!1</title><p>404. That's an error.", {}

    def _http_authorize(
        self, route: str, query_pairs: list[tuple[str, str]]
    ) -> tuple[int, Any, dict[str, str]]:
        if self._browser is None:
            return (
                400,
                "<!DOCTYPE html><title>FakeGoogle</title><p>Nobody is signed in: call fake.login_as(user).",
                {},
            )
        user, consent, scopes = self._browser
        url = self.authorization_endpoint + "?" + urlencode(query_pairs)
        try:
            location = self._authorize(url, user, consent, scopes)
        except GoogleAuthorizationError as err:
            title = f"Error 400: {err.error}"
            page = f"<!DOCTYPE html><title>{title}</title><p>{title}<p>{err.description}"
            return 400, page, {}
        return 302, location, {}


def _calendar_query(pairs: list[tuple[str, str]]) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query and name not in ("privateExtendedProperty", "sharedExtendedProperty", "eventTypes"):
            raise _bad_request(f"Duplicate parameter: {name}", name)
        query[name] = value
    return query


def _default_failure(endpoint: str, status: int) -> Any:
    if endpoint == "calendar":
        if status == 429:
            return _api_error(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits").payload
        if status == 403:
            return _api_error(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits").payload
        if status == 401:
            return _api_error(401, "authError", "Invalid Credentials", location="Authorization").payload
        if status == 410:
            return _api_error(
                410,
                "fullSyncRequired",
                "Sync token is no longer valid, a full sync is required.",
                domain="calendar",
            ).payload
        if status >= 500:
            return _api_error(status, "backendError", "Backend Error").payload
        return _api_error(status, "badRequest", "Bad Request").payload
    if endpoint in ("token", "revoke"):
        if status == 400:
            return {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        if status == 429:
            return {"error": "rate_limit_exceeded", "error_description": "Rate limit exceeded."}
        return {"error": "internal_failure", "error_description": "Backend Error"}
    return f"<!DOCTYPE html><title>Error {status}</title><p>{status}. That's an error."


def start_fake_google(
    *,
    issuer: str | None = None,
    require_pkce: bool = True,
    require_nonce: bool = True,
    require_state: bool = True,
    code_ttl: float = 600.0,
) -> FakeGoogle:
    """Start a fake on 127.0.0.1 (a free port); call `.close()` when done (or use it as a context manager)."""
    return FakeGoogle(
        issuer=issuer,
        require_pkce=require_pkce,
        require_nonce=require_nonce,
        require_state=require_state,
        code_ttl=code_ttl,
    )
