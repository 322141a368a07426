"""Google sign-in and the calendar connection: the OAuth flows, account linking, and the connection's
lifecycle. Google itself is behind the GoogleClient adapter (auth.google).

A flow's state lives in the database (single use, 10 minutes), so the callback may run in another
Lambda invocation; it is bound to the browser that started it by an HttpOnly cookie, whose hash the
state row keeps. A replayed, forged, expired or other-browser state gets 400 and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from auth import repository as repo
from auth import service
from auth.google import CALENDAR_SCOPE, SIGNIN_SCOPE, GoogleClient, GoogleError, GoogleIdentity
from common.calendar import access_token_context, calendar_status, refresh_token_context
from common.clock import from_iso, new_id, to_iso
from common.crypto import Sealer, SealError
from common.db import ConstraintError, Database
from common.errors import BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError
from common.observability import get_logger
from common.queue import CALENDAR_SYNC_JOB, Job, JobQueue
from common.storage import BlobStore

STATE_TTL = timedelta(minutes=10)
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


@dataclass(frozen=True)
class FlowStart:
    authorization_url: str
    binding: str  # the browser-binding cookie's value (set it; unchanged when the browser had one)


@dataclass(frozen=True)
class Flow:
    user_id: str | None
    redirect_uri: str
    code_verifier: str
    nonce: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _fragment_redirect(redirect_uri: str, values: dict[str, str]) -> str:
    """The frontend URL with values in the fragment (never sent to a server, not in Referer)."""
    return f"{redirect_uri}#{urlencode(values)}"


def check_redirect_uri(redirect_uri: str | None, allowed: list[str]) -> str:
    """Exact match with ALLOWED_REDIRECT_URIS: no prefix, case or normalisation games."""
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so a 500, before).
    given = redirect_uri.encode("utf-8", "surrogatepass") if redirect_uri else b""
    if not redirect_uri or not any(hmac.compare_digest(given, uri.encode()) for uri in allowed):
        raise BadRequestError("redirect_uri is not one of this service's registered frontend URLs")
    return redirect_uri


def _start(
    db: Database,
    google: GoogleClient,
    sealer: Sealer,
    *,
    purpose: str,
    user_id: str | None,
    redirect_uri: str,
    callback_url: str,
    binding: str | None,
    now: datetime,
    scope: str,
    params: dict[str, str],
) -> FlowStart:
    binding = binding if binding and 20 <= len(binding) <= 100 else secrets.token_urlsafe(32)
    state = secrets.token_urlsafe(32)
    flow_secrets = {"code_verifier": secrets.token_urlsafe(64), "nonce": secrets.token_urlsafe(32)}
    state_hash = _digest(state)
    try:
        url = google.authorization_url(
            scope=scope,
            redirect_uri=callback_url,
            state=state,
            code_verifier=flow_secrets["code_verifier"],
            **({"nonce": flow_secrets["nonce"]} if purpose == "signin" else {}),
            **params,
        )
    except GoogleError as exc:
        raise ServiceUnavailableError(f"{exc}; try again shortly") from None
    db.batch(
        repo.insert_oauth_state(
            state_hash=state_hash,
            purpose=purpose,
            user_id=user_id,
            binding_hash=_digest(binding),
            redirect_uri=redirect_uri,
            secrets=sealer.seal(json.dumps(flow_secrets), context=f"oauth-state:{state_hash}"),
            now=to_iso(now),
            expires_at=to_iso(now + STATE_TTL),
        )
    )
    return FlowStart(authorization_url=url, binding=binding)


def _take_flow(
    db: Database, sealer: Sealer, *, purpose: str, state: str | None, binding: str | None, now: datetime
) -> Flow:
    """The flow a callback belongs to, spent on first use; 400 for anything that is not a live flow
    started by this browser."""
    invalid = BadRequestError(
        "This sign-in link is invalid, expired, already used or was started in another browser; start again",
        slug="invalid-oauth-state",
    )
    if not state or len(state) > 200 or not binding:
        raise invalid
    state_hash = _digest(state)
    row = repo.consume_oauth_state(db, state_hash=state_hash, purpose=purpose)
    if row is None or from_iso(row["expires_at"]) <= now:
        raise invalid
    if not hmac.compare_digest(row["binding_hash"], _digest(binding)):
        raise invalid
    try:
        opened = json.loads(sealer.open(row["secrets"], context=f"oauth-state:{state_hash}"))
    except (SealError, ValueError):
        raise invalid from None
    return Flow(row["user_id"], row["redirect_uri"], opened["code_verifier"], opened["nonce"])


def _provider_error(error: str) -> dict[str, str]:
    code = error if _ERROR_CODE.match(error) else "server_error"
    described = "You declined access at Google" if code == "access_denied" else "Google did not complete it"
    return {"error": code, "error_description": described}


# ---- sign-in ------------------------------------------------------------------------------------


def start_signin(
    db: Database,
    google: GoogleClient,
    sealer: Sealer,
    *,
    redirect_uri: str,
    callback_url: str,
    binding: str | None,
    now: datetime,
) -> FlowStart:
    """Begin an OIDC sign-in (state, nonce, PKCE S256; scopes exactly `openid email profile`)."""
    return _start(
        db,
        google,
        sealer,
        purpose="signin",
        user_id=None,
        redirect_uri=redirect_uri,
        callback_url=callback_url,
        binding=binding,
        now=now,
        scope=SIGNIN_SCOPE,
        params={},
    )


def finish_signin(
    db: Database,
    google: GoogleClient,
    sealer: Sealer,
    policy: service.SessionPolicy,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
    binding: str | None,
    callback_url: str,
    now: datetime,
) -> str:
    """Where to send the browser: the frontend with a token response (or `error=`) in the fragment."""
    flow = _take_flow(db, sealer, purpose="signin", state=state, binding=binding, now=now)
    if error:
        return _fragment_redirect(flow.redirect_uri, _provider_error(error))
    if not code:
        raise BadRequestError("The callback carries no authorization code", slug="oauth-error")
    try:
        token = google.exchange_code(
            code=code, redirect_uri=callback_url, code_verifier=flow.code_verifier, scope=SIGNIN_SCOPE
        )
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise GoogleError("Google returned no ID token")
        identity = google.verify_id_token(id_token, nonce=flow.nonce)
    except GoogleError as exc:
        raise BadRequestError(str(exc), slug="oauth-error") from None
    user = _user_for(db, identity, now=now)
    session_id, refresh, statements = service.session_statements(
        policy, user_id=user["id"], now_iso=to_iso(now)
    )
    db.batch(statements)
    response = service.token_response(policy, user=user, session_id=session_id, refresh_token=refresh)
    fragment = {key: str(value) for key, value in response.items() if key != "user"}
    fragment["user"] = json.dumps(response["user"], separators=(",", ":"))
    return _fragment_redirect(flow.redirect_uri, fragment)


def _user_for(db: Database, identity: GoogleIdentity, *, now: datetime) -> dict[str, Any]:
    """The account of a Google identity: by `sub`; else an email account, linked only when Google
    verified the email (409 otherwise: no takeover); else a new account."""
    for _ in range(2):  # a concurrent first sign-in may create the account between our read and write
        user = repo.find_user_by_google_sub(db, identity.sub)
        if user is not None:
            return user
        if identity.email is None:
            raise BadRequestError(
                "Google did not share an email address for this account", slug="oauth-error"
            )
        existing = repo.find_login(db, identity.email)
        now_iso = to_iso(now)
        if existing is not None:
            if not identity.email_verified:
                raise ConflictError(
                    "An account with this email exists, and Google has not verified that the address is "
                    "yours: sign in with your password instead"
                )
            if existing["google_sub"] is not None:
                raise ConflictError("This account is already linked to another Google account")
            db.batch(
                [
                    repo.link_google(
                        user_id=existing["id"],
                        google_sub=identity.sub,
                        picture_url=identity.picture,
                        now=now_iso,
                    )
                ]
            )
            continue
        name = (identity.name or identity.email.split("@")[0]).strip()[:300] or "Google user"
        try:
            db.batch(
                [
                    repo.insert_google_user(
                        user_id=new_id(),
                        email=identity.email,
                        name=name,
                        google_sub=identity.sub,
                        picture_url=identity.picture
                        if identity.picture and len(identity.picture) <= 2000
                        else None,
                        now=now_iso,
                    )
                ]
            )
        except ConstraintError:
            continue
    user = repo.find_user_by_google_sub(db, identity.sub)
    if user is None:
        raise ConflictError("The account could not be created; try again")
    return user


# ---- the calendar connection --------------------------------------------------------------------


def start_calendar(
    db: Database,
    google: GoogleClient,
    sealer: Sealer,
    *,
    user_id: str,
    redirect_uri: str,
    callback_url: str,
    binding: str | None,
    now: datetime,
) -> FlowStart:
    """Ask for read-only calendar access, incrementally and offline (a refresh token)."""
    return _start(
        db,
        google,
        sealer,
        purpose="calendar",
        user_id=user_id,
        redirect_uri=redirect_uri,
        callback_url=callback_url,
        binding=binding,
        now=now,
        scope=CALENDAR_SCOPE,
        params={"access_type": "offline", "include_granted_scopes": "true", "prompt": "consent"},
    )


def finish_calendar(
    db: Database,
    google: GoogleClient,
    sealer: Sealer,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
    binding: str | None,
    callback_url: str,
    now: datetime,
) -> str:
    """Store the encrypted tokens, or record why the calendar is not connected; where to go next."""
    flow = _take_flow(db, sealer, purpose="calendar", state=state, binding=binding, now=now)
    if flow.user_id is None:
        raise BadRequestError("This calendar link belongs to no account", slug="invalid-oauth-state")
    if error:
        _not_connected(db, user_id=flow.user_id, reason="Calendar access was declined at Google", now=now)
        return _fragment_redirect(flow.redirect_uri, _provider_error(error))
    if not code:
        raise BadRequestError("The callback carries no authorization code", slug="oauth-error")
    try:
        token = google.exchange_code(
            code=code, redirect_uri=callback_url, code_verifier=flow.code_verifier, scope=CALENDAR_SCOPE
        )
    except GoogleError as exc:
        raise BadRequestError(str(exc), slug="oauth-error") from None
    granted = str(token.get("scope") or "").split()
    refresh = token.get("refresh_token")
    access = token.get("access_token")
    problem = None
    if CALENDAR_SCOPE not in granted:
        problem = "Read access to your calendar events was not granted; connect again and allow it"
    elif not isinstance(refresh, str) or not refresh:
        problem = "Google granted no offline access (no refresh token); connect again and allow it"
    if problem is not None:
        for unused in (refresh, access):
            if isinstance(unused, str) and unused:
                google.revoke(unused)
        _not_connected(db, user_id=flow.user_id, reason=problem, now=now)
        return _fragment_redirect(
            flow.redirect_uri, {"error": "calendar_not_connected", "error_description": problem}
        )
    assert isinstance(refresh, str)
    expires_in = token.get("expires_in")
    expires_at = now + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int | float) else None
    db.batch(
        [
            repo.upsert_calendar_connection(
                user_id=flow.user_id,
                status="connected",
                refresh_token=sealer.seal(refresh, context=refresh_token_context(flow.user_id)),
                access_token=(
                    sealer.seal(access, context=access_token_context(flow.user_id))
                    if isinstance(access, str)
                    else None
                ),
                access_token_expires_at=to_iso(expires_at) if expires_at else None,
                scopes=" ".join(sorted(set(granted))),
                error=None,
                now=to_iso(now),
            )
        ]
    )
    return _fragment_redirect(flow.redirect_uri, {"calendar": "connected"})


def _not_connected(db: Database, *, user_id: str, reason: str, now: datetime) -> None:
    connection = repo.find_calendar_connection(db, user_id)
    if connection is not None and connection["status"] == "connected":
        return  # a failed re-connect leaves a working connection as it was
    db.batch(
        [
            repo.upsert_calendar_connection(
                user_id=user_id,
                status="disconnected",
                refresh_token=None,
                access_token=None,
                access_token_expires_at=None,
                scopes="",
                error=reason,
                now=to_iso(now),
            )
        ]
    )


def get_calendar_status(db: Database, *, user_id: str) -> dict[str, Any]:
    row = repo.find_calendar_connection(db, user_id)
    if row is None:
        return calendar_status(None)
    return calendar_status({**row, "calendar_status": row["status"], "calendar_error": row["error"]})


def revoke_calendar(db: Database, google: GoogleClient | None, sealer: Sealer, *, user_id: str) -> bool:
    """Revoke the stored refresh token at Google (best effort, logged); True when Google confirmed."""
    return revoke_connection(repo.find_calendar_connection(db, user_id), google, sealer, user_id=user_id)


def revoke_connection(
    row: dict[str, Any] | None, google: GoogleClient | None, sealer: Sealer, *, user_id: str
) -> bool:
    """Revoke the refresh token of a calendar_connections row at Google (best effort, logged)."""
    if row is None or not row["refresh_token"]:
        return False
    revoked = False
    if google is not None:
        try:
            token = sealer.open(row["refresh_token"], context=refresh_token_context(user_id))
            revoked = google.revoke(token)
        except SealError:
            revoked = False
    get_logger().info("google token revocation", extra={"revoked": revoked})
    return revoked


def delete_account(
    db: Database,
    policy: service.SessionPolicy,
    google: GoogleClient | None,
    sealer: Sealer,
    exports: BlobStore,
    *,
    user_id: str,
) -> None:
    """Delete the account for good: Google access is revoked first (best effort), then its export
    files, then the account and, by cascade, every row of it. One read, one atomic write."""
    user, connection = (
        result.first()
        for result in db.batch([repo.user_select(user_id), repo.calendar_connection_select(user_id)])
    )
    if user is None:
        raise NotFoundError("account")
    revoke_connection(connection, google, sealer, user_id=user_id)
    service.delete_user(db, policy, user=user, exports=exports)


def disconnect_calendar(db: Database, google: GoogleClient | None, sealer: Sealer, *, user_id: str) -> None:
    """Revoke at Google, then delete the tokens and sync state (also when Google could not be reached)."""
    revoke_calendar(db, google, sealer, user_id=user_id)
    db.batch(repo.delete_calendar_connection(user_id))


def require(google: GoogleClient | None) -> GoogleClient:
    if google is None:
        raise ServiceUnavailableError("Google sign-in is not configured on this server (GOOGLE_CLIENT_ID)")
    return google


def request_sync(db: Database, queue: JobQueue, *, user_id: str, now: datetime) -> dict[str, Any]:
    """Queue a sync of the caller's calendar now (the scheduled poll's own code path runs it)."""
    status = get_calendar_status(db, user_id=user_id)
    if not status["connected"]:
        raise ConflictError("No calendar is connected; connect one first")
    job = Job(CALENDAR_SYNC_JOB, user_id, {})
    # Locally, one pending sync per user is enough; SQS consumers are idempotent anyway.
    pending = (
        "NOT EXISTS (SELECT 1 FROM jobs WHERE user_id = ? AND kind = ? AND lease_until IS NULL)",
        (user_id, CALENDAR_SYNC_JOB),
    )
    statements = queue.enqueue_statements(job, now=to_iso(now), only_if=pending)
    if statements:
        db.batch(statements)
    try:
        queue.publish(job)
    except Exception as exc:
        get_logger().error("calendar sync not queued", extra={"error_type": type(exc).__name__})
        raise ServiceUnavailableError("The sync queue is unavailable; try again shortly") from exc
    return status
