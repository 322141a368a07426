"""SQL of the prep function: claiming a prep, finishing it, handing it back. Every statement names the
prep's user; a claim token makes a worker whose lease ran out unable to overwrite its successor's work."""

from __future__ import annotations

from typing import Any

from common.db import Database, Statement


def _sync_interview(*, user_id: str, prep_id: str, status: str, token: str) -> Statement:
    """The interview's prep_status follows its current prep, the one last requested (another version
    finishing changes nothing),
    and only when this worker's write to the prep took effect (its status is now `status` under `token`,
    or handed back with no token)."""
    return Statement(
        "UPDATE interviews SET prep_status = ? WHERE user_id = ? AND id = "
        "(SELECT interview_id FROM preps WHERE id = ? AND user_id = ? AND status = ? "
        "AND coalesce(claim_token, '') = ?) AND NOT EXISTS "
        "(SELECT 1 FROM preps AS newer WHERE newer.user_id = ? AND newer.interview_id = interviews.id "
        "AND newer.requested_at > (SELECT requested_at FROM preps WHERE id = ? AND user_id = ?))",
        (status, user_id, prep_id, user_id, status, token, user_id, prep_id, user_id),
    )


def claim(
    db: Database, *, user_id: str, prep_id: str, token: str, now: str, lease_until: str
) -> dict[str, Any] | None:
    """Take a queued prep (or one whose previous worker's lease ran out); returns its state either way."""
    results = db.batch(
        [
            Statement(
                "UPDATE preps SET status = 'generating', claim_token = ?, lease_until = ?, "
                "attempts = attempts + 1, updated_at = ? WHERE id = ? AND user_id = ? "
                "AND (status = 'queued' OR (status = 'generating' AND lease_until <= ?))",
                (token, lease_until, now, prep_id, user_id, now),
            ),
            _sync_interview(user_id=user_id, prep_id=prep_id, status="generating", token=token),
            Statement(
                "SELECT id, interview_id, status, attempts, claim_token, lease_until FROM preps "
                "WHERE id = ? AND user_id = ?",
                (prep_id, user_id),
            ),
        ]
    )
    return results[2].first()


def finish(
    db: Database,
    *,
    user_id: str,
    prep_id: str,
    token: str,
    status: str,
    content: str | None,
    error: str | None,
    ai_processing: str | None,
    now: str,
) -> bool:
    """Record the outcome (ready or failed) if this worker still holds the claim."""
    statements = [
        Statement(
            "UPDATE preps SET status = ?, content = ?, error = ?, "
            "ai_processing = coalesce(?, ai_processing), claim_token = NULL, lease_until = NULL, "
            "updated_at = ? "
            "WHERE id = ? AND user_id = ? AND claim_token = ? AND status = 'generating'",
            (status, content, error, ai_processing, now, prep_id, user_id, token),
        ),
    ]
    if status == "ready":
        statements.append(
            Statement(
                "INSERT INTO activity (id, user_id, kind, summary, opportunity_id, interview_id, "
                "occurred_at, created_at, updated_at) "
                "SELECT p.id, p.user_id, 'prep_ready', 'Interview prep is ready', "
                "i.opportunity_id, i.id, ?, ?, ? FROM preps AS p JOIN interviews AS i "
                "ON i.id = p.interview_id AND i.user_id = p.user_id "
                "WHERE p.id = ? AND p.user_id = ? AND p.status = 'ready' AND changes() = 1",
                (now, now, now, prep_id, user_id),
            )
        )
    # After the activity entry (which reads changes() of the UPDATE); a finished prep has no token.
    statements.append(_sync_interview(user_id=user_id, prep_id=prep_id, status=status, token=""))
    results = db.batch(statements)
    return results[0].rows_affected == 1


def release(db: Database, *, user_id: str, prep_id: str, token: str, error: str, now: str) -> None:
    """Hand a prep back to the queue after a transient failure (the error says why it is waiting)."""
    db.batch(
        [
            Statement(
                "UPDATE preps SET status = 'queued', error = ?, claim_token = NULL, lease_until = NULL, "
                "updated_at = ? WHERE id = ? AND user_id = ? AND claim_token = ? AND status = 'generating'",
                (error, now, prep_id, user_id, token),
            ),
            _sync_interview(user_id=user_id, prep_id=prep_id, status="queued", token=""),
        ]
    )
