"""SQL of the auth function. Every statement that touches a user's rows names the user id."""

from __future__ import annotations

from typing import Any

from common.db import Database, Statement


def insert_user_if_new(*, user_id: str, email: str, name: str, password_hash: str, now: str) -> Statement:
    return Statement(
        "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING",
        (user_id, email, name, password_hash, now, now),
    )


def open_session(
    *, session_id: str, user_id: str, token_id: str, token_hash: str, now: str, expires_at: str
) -> list[Statement]:
    """A new session and its first refresh token, written only if the user row exists."""
    return [
        Statement(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) "
            "SELECT ?, id, ?, ? FROM users WHERE id = ?",
            (session_id, now, expires_at, user_id),
        ),
        Statement(
            "INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, created_at, expires_at) "
            "SELECT ?, id, user_id, ?, ?, ? FROM sessions WHERE id = ? AND user_id = ?",
            (token_id, token_hash, now, expires_at, session_id, user_id),
        ),
    ]


# A user row with its calendar connection's status (NULLs when none), as the User view needs it.
USER_COLUMNS = (
    "u.id, u.email, u.name, u.picture_url, u.google_sub, u.created_at, u.updated_at, "
    "cc.status AS calendar_status, cc.error AS calendar_error, cc.last_synced_at, cc.interviews_found"
)
_USER_FROM = "users AS u LEFT JOIN calendar_connections AS cc ON cc.user_id = u.id"


def user_select(user_id: str) -> Statement:
    return Statement(f"SELECT {USER_COLUMNS} FROM {_USER_FROM} WHERE u.id = ?", (user_id,))


def find_user(db: Database, user_id: str) -> dict[str, Any] | None:
    stmt = user_select(user_id)
    return db.execute(stmt.sql, stmt.params).first()


def login_select(email: str) -> Statement:
    """The account of an email address, with its password hash."""
    return Statement(f"SELECT {USER_COLUMNS}, u.password_hash FROM {_USER_FROM} WHERE u.email = ?", (email,))


def find_login(db: Database, email: str) -> dict[str, Any] | None:
    stmt = login_select(email)
    return db.execute(stmt.sql, stmt.params).first()


def recent_failures(db: Database, *, email_key: str, since: str) -> list[str]:
    result = db.execute(
        "SELECT failed_at FROM login_failures WHERE email_key = ? AND failed_at > ? ORDER BY failed_at",
        (email_key, since),
    )
    return [row[0] for row in result.rows]


def reserve_attempt(
    db: Database, *, email: str, email_key: str, now: str, window_start: str, limit: int
) -> tuple[bool, dict[str, Any] | None]:
    """Count this attempt as a failure up front, only while fewer than `limit` are in the window, and
    read the account of `email` (with its password hash) in the same batch.

    One conditional INSERT, so parallel attempts cannot all pass the check before any failure is
    recorded; a successful login clears the reservation with the rest (clear_failures). Returns
    whether the attempt was reserved, and the account (None when unknown).
    """
    results = db.batch(
        [
            Statement("DELETE FROM login_failures WHERE failed_at <= ?", (window_start,)),
            Statement(
                "INSERT INTO login_failures (email_key, failed_at) SELECT ?, ? "
                "WHERE (SELECT count(*) FROM login_failures WHERE email_key = ? AND failed_at > ?) < ?",
                (email_key, now, email_key, window_start, limit),
            ),
            login_select(email),
        ]
    )
    return results[1].rows_affected == 1, results[2].first()


def clear_failures(email_key: str) -> Statement:
    return Statement("DELETE FROM login_failures WHERE email_key = ?", (email_key,))


def rotate_refresh_token(
    db: Database, *, old_hash: str, new_id: str, new_hash: str, now: str, expires_at: str
) -> dict[str, Any] | None:
    """Mark the presented token used and issue its successor in one atomic batch.

    Returns the successor's session id with its user's row when the old token was live; None otherwise. The
    conditional UPDATE makes two concurrent refreshes with one token produce one successor.
    """
    results = db.batch(
        [
            Statement(
                "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                "AND expires_at > ? AND session_id IN "
                "(SELECT id FROM sessions WHERE revoked_at IS NULL AND expires_at > ?)",
                (now, old_hash, now, now),
            ),
            Statement(
                "INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, created_at, expires_at) "
                "SELECT ?, session_id, user_id, ?, ?, ? FROM refresh_tokens "
                "WHERE token_hash = ? AND used_at = ? AND changes() = 1",
                (new_id, new_hash, now, expires_at, old_hash, now),
            ),
            Statement(
                f"SELECT rt.session_id, {USER_COLUMNS} FROM refresh_tokens AS rt "
                "JOIN users AS u ON u.id = rt.user_id "
                "LEFT JOIN calendar_connections AS cc ON cc.user_id = u.id "
                "WHERE rt.id = ? AND rt.token_hash = ?",
                (new_id, new_hash),
            ),
        ]
    )
    return results[2].first()


def find_refresh_token(db: Database, token_hash: str) -> dict[str, Any] | None:
    return db.execute(
        "SELECT session_id, user_id, used_at FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
    ).first()


def revoke_session(*, session_id: str, user_id: str, now: str, reason: str) -> Statement:
    return Statement(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
        "WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        (now, reason, session_id, user_id),
    )


def revoke_session_of_token(*, token_hash: str, user_id: str, now: str, reason: str) -> Statement:
    """Revoke the session a refresh token belongs to, only if it is the given user's."""
    return Statement(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL "
        "AND id IN (SELECT session_id FROM refresh_tokens WHERE token_hash = ? AND user_id = ?)",
        (now, reason, user_id, token_hash, user_id),
    )


def update_name(*, user_id: str, name: str, now: str) -> Statement:
    return Statement("UPDATE users SET name = ?, updated_at = ? WHERE id = ?", (name, now, user_id))


def set_password_hash(*, user_id: str, password_hash: str) -> Statement:
    return Statement("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def delete_user(*, user_id: str, email_key: str) -> list[Statement]:
    # ON DELETE CASCADE removes every row that references the user (sessions, tokens, records).
    return [
        clear_failures(email_key),
        Statement("DELETE FROM users WHERE id = ?", (user_id,)),
    ]


# ---- Google sign-in and the calendar connection ----------------------------------------------------

_STATE_COLUMNS = "state_hash, purpose, user_id, binding_hash, redirect_uri, secrets, expires_at"


def insert_oauth_state(
    *,
    state_hash: str,
    purpose: str,
    user_id: str | None,
    binding_hash: str,
    redirect_uri: str,
    secrets: str,
    now: str,
    expires_at: str,
) -> list[Statement]:
    """A new flow, after pruning expired ones (nothing else ever reads them)."""
    return [
        Statement("DELETE FROM oauth_states WHERE expires_at <= ?", (now,)),
        Statement(
            "INSERT INTO oauth_states (state_hash, purpose, user_id, binding_hash, redirect_uri, secrets, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (state_hash, purpose, user_id, binding_hash, redirect_uri, secrets, now, expires_at),
        ),
    ]


def consume_oauth_state(db: Database, *, state_hash: str, purpose: str) -> dict[str, Any] | None:
    """Take a flow out (single use: a second callback with the same state finds nothing)."""
    return db.execute(
        f"DELETE FROM oauth_states WHERE state_hash = ? AND purpose = ? RETURNING {_STATE_COLUMNS}",
        (state_hash, purpose),
    ).first()


def find_user_by_google_sub(db: Database, google_sub: str) -> dict[str, Any] | None:
    return db.execute(
        f"SELECT {USER_COLUMNS} FROM {_USER_FROM} WHERE u.google_sub = ?", (google_sub,)
    ).first()


def link_google(*, user_id: str, google_sub: str, picture_url: str | None, now: str) -> Statement:
    return Statement(
        "UPDATE users SET google_sub = ?, picture_url = coalesce(picture_url, ?), updated_at = ? "
        "WHERE id = ? AND google_sub IS NULL",
        (google_sub, picture_url, now, user_id),
    )


def insert_google_user(
    *, user_id: str, email: str, name: str, google_sub: str, picture_url: str | None, now: str
) -> Statement:
    return Statement(
        "INSERT INTO users (id, email, name, google_sub, picture_url, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (user_id, email, name, google_sub, picture_url, now, now),
    )


def upsert_calendar_connection(
    *,
    user_id: str,
    status: str,
    refresh_token: str | None,
    access_token: str | None,
    access_token_expires_at: str | None,
    scopes: str,
    error: str | None,
    now: str,
) -> Statement:
    """Connect (tokens given) or record why not (tokens None: any earlier tokens and sync state go).

    Either way the sync token goes: new tokens may be another Google account's, whose calendar the old
    token does not describe, so the next poll starts with a full sync (which never cancels an interview
    for being absent) instead of a 410 resync that would take the old calendar's events as deleted."""
    return Statement(
        "INSERT INTO calendar_connections (user_id, status, refresh_token, access_token, "
        "access_token_expires_at, scopes, error, created_at, updated_at) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) "
        "ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, "
        "refresh_token = excluded.refresh_token, "
        "access_token = excluded.access_token, access_token_expires_at = excluded.access_token_expires_at, "
        "scopes = excluded.scopes, error = excluded.error, updated_at = excluded.updated_at, "
        "sync_token = NULL",
        (
            user_id,
            status,
            refresh_token,
            access_token,
            access_token_expires_at,
            scopes,
            error,
            now,
            now,
            user_id,
        ),
    )


def calendar_connection_select(user_id: str) -> Statement:
    return Statement(
        "SELECT user_id, status, refresh_token, access_token, error, last_synced_at, interviews_found "
        "FROM calendar_connections WHERE user_id = ?",
        (user_id,),
    )


def find_calendar_connection(db: Database, user_id: str) -> dict[str, Any] | None:
    stmt = calendar_connection_select(user_id)
    return db.execute(stmt.sql, stmt.params).first()


def delete_calendar_connection(user_id: str) -> list[Statement]:
    return [
        Statement("DELETE FROM calendar_connections WHERE user_id = ?", (user_id,)),
        Statement("DELETE FROM oauth_states WHERE user_id = ? AND purpose = 'calendar'", (user_id,)),
    ]
