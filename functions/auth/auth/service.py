"""Accounts and sessions: registration, login with lockout, refresh rotation with reuse detection."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from auth import repository as repo
from common.calendar import calendar_status
from common.clock import from_iso, new_id, to_iso, utc_now
from common.db import Database, DatabaseError, Statement
from common.errors import (
    ConflictError,
    InvalidCredentialsError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from common.passwords import hash_password, needs_rehash, verify_password
from common.storage import BlobStore, erase_user_exports
from common.tokens import TokenService

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
REFRESH_PREFIX = "rt_"


@dataclass(frozen=True)
class SessionPolicy:
    tokens: TokenService
    refresh_ttl_seconds: int
    email_key_secret: bytes  # keys the pseudonym under which failed logins are counted


def _hash_refresh(token: str) -> str:
    """Refresh tokens are high-entropy, so a plain SHA-256 suffices to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def _refresh_expiry(policy: SessionPolicy) -> str:
    return to_iso(utc_now() + timedelta(seconds=policy.refresh_ttl_seconds))


def email_key(policy: SessionPolicy, email: str) -> str:
    """Failed logins are counted under a keyed hash of the email: no address in the table, and no
    dictionary of known addresses can reverse it without the server's secret."""
    return hmac.new(policy.email_key_secret, email.encode(), hashlib.sha256).hexdigest()


def user_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "picture_url": row["picture_url"],
        "google_linked": row["google_sub"] is not None,
        "calendar": calendar_status(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def token_response(
    policy: SessionPolicy, *, user: dict[str, Any], session_id: str, refresh_token: str
) -> dict[str, Any]:
    access = policy.tokens.issue(user_id=user["id"], session_id=session_id, now=int(time.time()))
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": policy.tokens.ttl_seconds,
        "refresh_token": refresh_token,
        "user": user_view(user),
    }


def _new_refresh() -> tuple[str, str]:
    token = REFRESH_PREFIX + secrets.token_urlsafe(32)
    return token, _hash_refresh(token)


def session_statements(
    policy: SessionPolicy, *, user_id: str, now_iso: str
) -> tuple[str, str, list[Statement]]:
    session_id = new_id()
    refresh, refresh_hash = _new_refresh()
    expires = _refresh_expiry(policy)
    stmts = repo.open_session(
        session_id=session_id,
        user_id=user_id,
        token_id=new_id(),
        token_hash=refresh_hash,
        now=now_iso,
        expires_at=expires,
    )
    return session_id, refresh, stmts


def check_database(open_database: Callable[[], Database]) -> None:
    """503 when the database cannot be opened or answer a trivial query."""
    try:
        open_database().execute("SELECT 1")
    except DatabaseError as exc:
        raise ServiceUnavailableError("The database is unreachable") from exc


def register(db: Database, policy: SessionPolicy, *, email: str, password: str, name: str) -> dict[str, Any]:
    """Create an account and its first session; 409 when the email is taken."""
    now = to_iso(utc_now())
    user_id = new_id()
    insert = repo.insert_user_if_new(
        user_id=user_id, email=email, name=name, password_hash=hash_password(password), now=now
    )
    session_id, refresh, session_stmts = session_statements(policy, user_id=user_id, now_iso=now)
    results = db.batch([insert, *session_stmts, repo.user_select(user_id)])
    user = results[-1].first()
    if results[0].rows_affected == 0 or user is None:
        raise ConflictError("An account with this email already exists")
    return token_response(policy, user=user, session_id=session_id, refresh_token=refresh)


def login(db: Database, policy: SessionPolicy, *, email: str, password: str) -> dict[str, Any]:
    """Password sign-in; 5 failures for one email within 15 minutes lock it until the oldest ages out."""
    now_dt = utc_now()
    now = to_iso(now_dt)
    key = email_key(policy, email)
    window_start = now_dt - LOCKOUT_WINDOW
    reserved, row = repo.reserve_attempt(
        db, email=email, email_key=key, now=now, window_start=to_iso(window_start), limit=LOCKOUT_FAILURES
    )
    if not reserved:
        failures = repo.recent_failures(db, email_key=key, since=to_iso(window_start))
        # The attempt is allowed again once all but LOCKOUT_FAILURES - 1 of these have aged out.
        oldest_blocking = failures[max(0, len(failures) - LOCKOUT_FAILURES)] if failures else now
        unlocks_at = from_iso(oldest_blocking) + LOCKOUT_WINDOW
        raise RateLimitedError(
            "Too many failed sign-in attempts for this account; try again later",
            retry_after=int((unlocks_at - now_dt).total_seconds()) + 1,
        )
    stored = row["password_hash"] if row else None
    # Verify before looking at `row`: an unknown email must cost the same argon2 work as a known one.
    if not verify_password(stored, password) or row is None:
        raise InvalidCredentialsError()  # the reserved attempt stays recorded as a failure
    session_id, refresh, session_stmts = session_statements(policy, user_id=row["id"], now_iso=now)
    stmts = [repo.clear_failures(key), *session_stmts]
    if stored and needs_rehash(stored):
        stmts.append(repo.set_password_hash(user_id=row["id"], password_hash=hash_password(password)))
    db.batch(stmts)
    return token_response(policy, user=row, session_id=session_id, refresh_token=refresh)


def refresh(db: Database, policy: SessionPolicy, *, refresh_token: str) -> dict[str, Any]:
    """Rotate a refresh token. Presenting a used one revokes its whole session (reuse detection)."""
    now = to_iso(utc_now())
    old_hash = _hash_refresh(refresh_token)
    new_token, new_hash = _new_refresh()
    expires = _refresh_expiry(policy)
    rotated = repo.rotate_refresh_token(
        db, old_hash=old_hash, new_id=new_id(), new_hash=new_hash, now=now, expires_at=expires
    )
    if rotated is None:
        known = repo.find_refresh_token(db, old_hash)
        if known is not None and known["used_at"] is not None:
            revoke = repo.revoke_session(
                session_id=known["session_id"], user_id=known["user_id"], now=now, reason="reuse"
            )
            db.batch([revoke])
        raise UnauthorizedError("The refresh token is invalid, expired or already used")
    return token_response(policy, user=rotated, session_id=rotated["session_id"], refresh_token=new_token)


def logout(db: Database, *, user_id: str, session_id: str, refresh_token: str | None) -> None:
    """End the caller's session and, if given, the session of the presented refresh token (if theirs)."""
    now = to_iso(utc_now())
    stmts = [repo.revoke_session(session_id=session_id, user_id=user_id, now=now, reason="logout")]
    if refresh_token:
        token_hash = _hash_refresh(refresh_token)
        stmts.append(
            repo.revoke_session_of_token(token_hash=token_hash, user_id=user_id, now=now, reason="logout")
        )
    db.batch(stmts)


def get_me(db: Database, *, user_id: str) -> dict[str, Any]:
    user = repo.find_user(db, user_id)
    if user is None:
        raise NotFoundError("account")
    return user_view(user)


def update_me(db: Database, *, user_id: str, name: str) -> dict[str, Any]:
    results = db.batch(
        [repo.update_name(user_id=user_id, name=name, now=to_iso(utc_now())), repo.user_select(user_id)]
    )
    user = results[1].first()
    if user is None:
        raise NotFoundError("account")
    return user_view(user)


def delete_user(db: Database, policy: SessionPolicy, *, user: dict[str, Any], exports: BlobStore) -> None:
    """Delete the account's export files, then the account and, by cascade, every row of it."""
    # Files first: if the store fails, nothing is deleted yet and the user can simply try again.
    erase_user_exports(exports, user["id"])
    db.batch(repo.delete_user(user_id=user["id"], email_key=email_key(policy, user["email"])))
    db.purge_deleted()
