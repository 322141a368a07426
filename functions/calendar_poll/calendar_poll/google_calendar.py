"""Calendar adapter: Google Calendar v3 `events.list` through google-api-python-client (read-only).

Full sync: now .. now + lookahead, singleEvents, paged to the last page for `nextSyncToken`.
Incremental sync: `syncToken` only (Google refuses it with timeMin/timeMax/orderBy). Both list with
`showDeleted=true`: an incremental sync always carries deletions, and Google wants every other parameter
of the incremental sync to match the full sync's; a full sync then also reports events deleted while our
sync token was invalid (410), as `status: "cancelled"`, while Google still keeps them. It keeps them only
for a while ("Such cancelled events will eventually disappear", Event.status in the API reference), so
after a 410 the caller names the events it expects in the window (`look_up_if_absent`); any of them the
complete listing lacks is read with events.get, which returns an event wherever it now lies (moved out of
the window) or cancelled, and 404/410 once Google forgot it (reported here in the cancelled form).
Access tokens are refreshed by google-auth with the stored refresh token. Only the bundled
`calendar.v3.json` discovery document is used (static_discovery), and the SDK is imported only when a
sync runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

PAGE_SIZE = 250
TIMEOUT_SECONDS = 20
# How long an idle connection to Google is reused by the next sync of the same thread (an instance syncs
# its batch's users one after the other). Short enough that Google has not closed it (its front ends
# keep idle connections for minutes) and that a connection never outlives a frozen Lambda instance.
KEEP_ALIVE_SECONDS = 20.0


class CalendarError(Exception):
    """Try again at the next poll (rate limit, Google error, network); the sync token is kept."""


class SyncTokenExpiredError(Exception):
    """410: the sync token is no longer valid; a full sync is needed."""


class AccessRevokedError(Exception):
    """invalid_grant (or 401 after a refresh): the user must connect the calendar again."""


@dataclass(frozen=True)
class Listing:
    events: list[dict[str, Any]]
    next_sync_token: str | None
    access_token: str | None
    access_token_expires_at: datetime | None


class GoogleCalendarSource:
    def __init__(self, *, api_root: str, token_uri: str, client_id: str, client_secret: str) -> None:
        self._endpoint = api_root.rstrip("/") + "/calendar/v3/"
        self._token_uri = token_uri
        self._client_id = client_id
        self._client_secret = client_secret
        self._events_api: Any = None
        self._lock = threading.Lock()
        self._connections = threading.local()

    def _events(self) -> Any:
        """The Calendar v3 client's `events` collection, built once per process: `build()` parses the
        discovery document (~10 ms of CPU) and every `service.events()` builds the collection's methods
        and their docstrings anew (~3.6 ms). It holds no credentials: every request is executed with the
        user's own authorized http (`execute(http=...)`), the library's way to share one client between
        users and threads (httplib2 objects are not thread-safe; the client is)."""
        with self._lock:
            if self._events_api is None:
                import httplib2
                from googleapiclient.discovery import build

                self._events_api = build(
                    "calendar",
                    "v3",
                    http=httplib2.Http(timeout=TIMEOUT_SECONDS),
                    static_discovery=True,
                    cache_discovery=False,
                    client_options={"api_endpoint": self._endpoint},
                ).events()
            return self._events_api

    def _transport(self) -> Any:
        """This thread's httplib2.Http (httplib2 is not thread-safe), kept between the syncs of a batch so
        they reuse its connections: one TCP and TLS handshake per Google host for a batch of users instead
        of one per user and host. It holds nothing of a user's: credentials are added to each request by
        the user's own AuthorizedHttp, and httplib2 caches no answers here (no cache given)."""
        import httplib2

        now = time.monotonic()
        local = self._connections
        http = getattr(local, "http", None)
        if http is None or now - local.used > KEEP_ALIVE_SECONDS:
            if http is not None:
                http.close()
            http = local.http = httplib2.Http(timeout=TIMEOUT_SECONDS)  # explicit: httplib2 has none
        local.used = now
        return http

    def list_events(
        self,
        *,
        refresh_token: str,
        access_token: str | None,
        access_token_expires_at: datetime | None,
        sync_token: str | None,
        time_min: datetime,
        time_max: datetime,
        look_up_if_absent: Collection[str] = (),
    ) -> Listing:
        import google.auth.exceptions
        import httplib2
        from google.oauth2.credentials import Credentials
        from googleapiclient.errors import HttpError

        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=access_token,
            refresh_token=refresh_token,
            token_uri=self._token_uri,
            client_id=self._client_id,
            client_secret=self._client_secret,
            scopes=["https://www.googleapis.com/auth/calendar.events.readonly"],
            # google-auth compares expiry with a naive UTC clock.
            expiry=access_token_expires_at.astimezone(UTC).replace(tzinfo=None)
            if access_token_expires_at
            else None,
        )
        import google_auth_httplib2

        http = google_auth_httplib2.AuthorizedHttp(credentials, http=self._transport())
        events_api = self._events()
        query: dict[str, Any] = {
            "calendarId": "primary",
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": PAGE_SIZE,
        }
        if sync_token:
            query["syncToken"] = sync_token
        else:
            query["timeMin"] = _rfc3339(time_min)
            query["timeMax"] = _rfc3339(time_max)
        events: list[dict[str, Any]] = []
        request = events_api.list(**query)
        response: dict[str, Any] = {}
        try:
            while request is not None:
                response = request.execute(http=http, num_retries=0)
                events.extend(item for item in response.get("items", []) if isinstance(item, dict))
                request = events_api.list_next(request, response)
            if not sync_token:
                listed = {item.get("id") for item in events}
                for event_id in sorted(set(look_up_if_absent) - listed):
                    events.append(_look_up(events_api, http, event_id))
        except HttpError as exc:
            status = int(getattr(exc, "status_code", 0) or exc.resp.status)
            if status == 410:
                raise SyncTokenExpiredError() from None
            if status in (401, 403) and _revoked(exc):
                raise AccessRevokedError() from None
            raise CalendarError(f"Google Calendar answered HTTP {status}") from None
        except google.auth.exceptions.RefreshError as exc:
            if "invalid_grant" in str(exc):
                raise AccessRevokedError() from None
            raise CalendarError("the access token could not be refreshed") from None
        except (google.auth.exceptions.TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise CalendarError(f"Google Calendar could not be reached ({type(exc).__name__})") from None
        expiry = credentials.expiry.replace(tzinfo=UTC) if credentials.expiry else None
        return Listing(events, response.get("nextSyncToken"), credentials.token, expiry)


def _look_up(events_api: Any, http: Any, event_id: str) -> dict[str, Any]:
    """The event as Google has it now; the cancelled form once Google has forgotten it (404/410)."""
    from googleapiclient.errors import HttpError

    try:
        item = events_api.get(calendarId="primary", eventId=event_id).execute(http=http, num_retries=0)
    except HttpError as exc:
        if int(getattr(exc, "status_code", 0) or exc.resp.status) in (404, 410):
            return {"id": event_id, "status": "cancelled"}
        raise
    return dict(item) if isinstance(item, dict) else {"id": event_id, "status": "cancelled"}


def _revoked(exc: Any) -> bool:
    # 401 after google-auth already refreshed, or 403 insufficientPermissions (the user unticked the scope).
    text = str(getattr(exc, "reason", "")) + str(getattr(exc, "error_details", ""))
    return exc.resp.status == 401 or "insufficient" in text.lower()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1)
def get_calendar_source() -> GoogleCalendarSource | None:
    """The Google Calendar client, or None without a Google OAuth client (nothing to poll then)."""
    import requests

    from common.settings import get_settings

    settings = get_settings()
    if not settings.GOOGLE_CLIENT_ID or settings.GOOGLE_CLIENT_SECRET is None:
        return None
    response = requests.get(settings.GOOGLE_DISCOVERY_URL, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    return GoogleCalendarSource(
        api_root=settings.GOOGLE_CALENDAR_API_URL,
        token_uri=str(response.json()["token_endpoint"]),
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET.get_secret_value(),
    )
