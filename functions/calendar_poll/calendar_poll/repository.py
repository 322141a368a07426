"""SQL of calendar polling. Every statement names the user; calendar interviews are found by
(user_id, calendar_event_id), which a unique index backs, so a resync never duplicates one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from common.db import Database, Statement, Value

INTERVIEW_FIELDS = (
    "id",
    "opportunity_id",
    "kind",
    "title",
    "scheduled_at",
    "duration_minutes",
    "location",
    "meeting_url",
    "interviewers",
    "outcome",
    "calendar_event_id",
    "prep_status",
)


def connected_users(db: Database, *, after: str, limit: int) -> list[str]:
    """Users with a connected calendar, in id order from `after` (a resumable cursor)."""
    result = db.execute(
        "SELECT user_id FROM calendar_connections WHERE status = 'connected' AND user_id > ? "
        "ORDER BY user_id LIMIT ?",
        (after, limit),
    )
    return [row[0] for row in result.rows]


def sync_context(db: Database, *, user_id: str) -> list[Any]:
    """The connection, the user's email, their opportunities and contacts, and their calendar
    interviews: everything one sync reads, in one round trip."""
    return db.batch(
        [
            Statement(
                "SELECT c.status, c.refresh_token, c.access_token, c.access_token_expires_at, c.sync_token, "
                "u.email FROM calendar_connections AS c JOIN users AS u ON u.id = c.user_id "
                "WHERE c.user_id = ?",
                (user_id,),
            ),
            Statement(
                "SELECT o.id, o.company, o.role, o.url, (SELECT json_group_array(c.email) FROM contacts AS c "
                "JOIN contact_opportunities AS co ON co.contact_id = c.id AND co.user_id = c.user_id "
                "WHERE co.opportunity_id = o.id AND co.user_id = o.user_id AND c.email IS NOT NULL) "
                "AS emails "
                "FROM opportunities AS o WHERE o.user_id = ? AND o.archived = 0 "
                "AND o.status NOT IN ('rejected', 'withdrawn', 'accepted')",
                (user_id,),
            ),
            Statement(
                f"SELECT {', '.join(INTERVIEW_FIELDS)} FROM interviews "
                "WHERE user_id = ? AND calendar_event_id IS NOT NULL",
                (user_id,),
            ),
        ]
    )


def insert_interview(values: Mapping[str, Value]) -> Statement:
    names = list(values)
    return Statement(
        f"INSERT INTO interviews ({', '.join(names)}) SELECT {', '.join('?' * len(names))} "
        "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) "
        "ON CONFLICT (user_id, calendar_event_id) WHERE calendar_event_id IS NOT NULL DO NOTHING",
        (*values.values(), values["user_id"]),
    )


# What the calendar owns in a calendar interview. kind, opportunity_id, debrief and outcome (other than
# cancellation) are the user's: later syncs never overwrite them.
CALENDAR_OWNED = ("title", "scheduled_at", "duration_minutes", "location", "meeting_url", "interviewers")


def update_from_calendar(
    *, user_id: str, interview_id: str, values: Mapping[str, Value], outcome: str | None, now: str
) -> Statement:
    names = [name for name in CALENDAR_OWNED if name in values]
    assignments = [f"{name} = ?" for name in names]
    params: list[Value] = [values[name] for name in names]
    if outcome is not None:
        assignments.append("outcome = ?")
        params.append(outcome)
    assignments.append("updated_at = ?")
    params.append(now)
    return Statement(
        f"UPDATE interviews SET {', '.join(assignments)} "
        "WHERE id = ? AND user_id = ? AND source = 'calendar'",
        (*params, interview_id, user_id),
    )


def cancel(*, user_id: str, interview_id: str, now: str) -> Statement:
    return Statement(
        "UPDATE interviews SET outcome = 'cancelled', updated_at = ? WHERE id = ? AND user_id = ? "
        "AND outcome != 'cancelled'",
        (now, interview_id, user_id),
    )


def activity(
    *,
    activity_id: str,
    user_id: str,
    kind: str,
    summary: str,
    opportunity_id: str | None,
    interview_id: str,
    now: str,
) -> Statement:
    return Statement(
        "INSERT INTO activity (id, user_id, kind, summary, opportunity_id, interview_id, occurred_at, "
        "created_at, updated_at) SELECT ?, ?, ?, ?, ?, id, ?, ?, ? FROM interviews "
        "WHERE id = ? AND user_id = ?",
        (activity_id, user_id, kind, summary, opportunity_id, now, now, now, interview_id, user_id),
    )


def save_sync_state(
    *,
    user_id: str,
    sync_token: str | None,
    access_token: str | None,
    access_token_expires_at: str | None,
    now: str,
) -> list[Statement]:
    return [
        Statement(
            "UPDATE calendar_connections SET sync_token = ?, access_token = coalesce(?, access_token), "
            "access_token_expires_at = coalesce(?, access_token_expires_at), last_synced_at = ?, "
            "interviews_found = (SELECT count(*) FROM interviews WHERE user_id = ? AND source = 'calendar'), "
            "error = NULL, updated_at = ? WHERE user_id = ? AND status = 'connected'",
            (sync_token, access_token, access_token_expires_at, now, user_id, now, user_id),
        )
    ]


def mark_reauth_required(*, user_id: str, reason: str, now: str) -> Statement:
    """Stop polling this user until they connect again; the dead tokens and sync state go."""
    return Statement(
        "UPDATE calendar_connections SET status = 'reauth_required', error = ?, refresh_token = NULL, "
        "access_token = NULL, access_token_expires_at = NULL, sync_token = NULL, updated_at = ? "
        "WHERE user_id = ?",
        (reason, now, user_id),
    )


def upcoming_without_prep(db: Database, *, user_id: str, start: str, end: str) -> list[str]:
    """Calendar interviews linked to an opportunity, starting in [start, end), with no prep yet."""
    result = db.execute(
        "SELECT id FROM interviews WHERE user_id = ? AND source = 'calendar' AND opportunity_id IS NOT NULL "
        "AND outcome = 'pending' AND prep_status = 'none' AND scheduled_at >= ? AND scheduled_at < ? "
        "ORDER BY scheduled_at",
        (user_id, start, end),
    )
    return [row[0] for row in result.rows]


def rows(result: Any) -> list[dict[str, Any]]:
    return list(result.all())


def by_event(interviews: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["calendar_event_id"]: row for row in interviews}


def poll_cursor(db: Database, name: str) -> str:
    return str(db.execute("SELECT cursor FROM poll_state WHERE name = ?", (name,)).scalar() or "")


def save_poll_cursor(*, name: str, cursor: str, now: str) -> Statement:
    return Statement(
        "INSERT INTO poll_state (name, cursor, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        (name, cursor, now),
    )
