"""Requesting AI interview prep: versioning by inputs, idempotency, the hourly limit, and the hand-off
to the job queue. Shared by `records` (POST /v1/interviews/{id}/prep) and `calendar_poll` (prep for
upcoming interviews found in calendars); generation itself is the `prep` function's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.clock import from_iso, new_id, to_iso
from common.db import Database, Statement, Value
from common.errors import ConflictError, NotFoundError, RateLimitedError, ServiceUnavailableError
from common.observability import get_logger
from common.prep_data import input_statements, interview_context, prep_view
from common.queue import PREP_JOB, Job, JobQueue

RATE_WINDOW = timedelta(hours=1)
# Longer than any wait a queued prep can have: the longest backoff (15 min) plus a delivery (10 min).
STUCK_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class PrepPolicy:
    model: str
    hourly_limit: int
    configured: bool  # an AI provider key is set


def request_prep(
    db: Database,
    queue: JobQueue,
    policy: PrepPolicy,
    *,
    user_id: str,
    interview_id: str,
    now: datetime,
    on_demand: bool = True,
) -> dict[str, Any]:
    """The live prep for the interview's current inputs, queueing a new version when there is none.
    `on_demand=False` (pre-generation by calendar polling) neither counts against nor is refused by the
    user's hourly limit."""
    context = interview_context(db.batch(input_statements(user_id=user_id, interview_id=interview_id)))
    if context is None:  # ownership first: a foreign id is 404 whatever else holds
        raise NotFoundError("interview")
    if context.inputs is None:
        raise ConflictError(
            "This interview is not linked to an opportunity; link it to one to prepare for it"
        )
    if not policy.configured:
        raise ServiceUnavailableError("AI prep is not available: no AI provider is configured on this server")
    prep_id = new_id()
    now_iso = to_iso(now)
    job = Job(PREP_JOB, user_id, {"prep_id": prep_id})
    results = db.batch(
        prep_request_statements(
            user_id=user_id,
            interview_id=interview_id,
            prep_id=prep_id,
            inputs_hash=context.inputs.digest(policy.model),
            model=policy.model,
            now=now_iso,
            window_start=to_iso(now - RATE_WINDOW),
            hourly_limit=policy.hourly_limit if on_demand else None,
            enqueue=queue.enqueue_statements(
                job, now=now_iso, only_if=prep_created_condition(user_id=user_id, prep_id=prep_id)
            ),
        )
    )
    live, oldest = results[-2].first(), results[-1].scalar()
    if live is None:
        # Not created and no live version: the hourly limit refused it.
        retry_after = from_iso(oldest) + RATE_WINDOW - now if oldest else RATE_WINDOW
        raise RateLimitedError(
            f"At most {policy.hourly_limit} prep requests an hour; try again later",
            retry_after=int(retry_after.total_seconds()) + 1,
        )
    if live["id"] == prep_id:
        _publish(db, queue, job, user_id=user_id, now_iso=now_iso)
    elif live["status"] == "queued" and from_iso(live["updated_at"]) < now - STUCK_AFTER:
        # Queued this long with no worker touching it: its message was lost (the process died between
        # the commit and the send). Send it again; a duplicate is harmless (workers claim the prep).
        _publish(db, queue, Job(PREP_JOB, user_id, {"prep_id": live["id"]}), user_id=user_id, now_iso=now_iso)
        db.batch([touch_queued_prep(user_id=user_id, prep_id=live["id"], now=now_iso)])
    return prep_view(live)


def _publish(db: Database, queue: JobQueue, job: Job, *, user_id: str, now_iso: str) -> None:
    try:
        queue.publish(job)
    except Exception as exc:
        # The version exists but no worker will hear of it: fail it visibly rather than leave it queued.
        get_logger().error("prep job not queued", extra={"error_type": type(exc).__name__})
        db.batch(
            fail_unqueued_prep(
                user_id=user_id,
                prep_id=job.payload["prep_id"],
                error="The prep could not be queued; please try again",
                now=now_iso,
            )
        )
        raise ServiceUnavailableError("The prep queue is unavailable; try again shortly") from exc


def get_prep(db: Database, *, user_id: str, interview_id: str) -> dict[str, Any]:
    """The newest prep of the interview."""
    stmt = select_newest_prep(user_id=user_id, interview_id=interview_id)
    row = db.execute(stmt.sql, stmt.params).first()
    if row is None:
        raise NotFoundError("prep")
    return prep_view(row)


# ---- SQL --------------------------------------------------------------------------------

_PREP_SELECT = (
    "SELECT id, interview_id, status, error, model, content, ai_processing, created_at, updated_at FROM preps"
)


def prep_request_statements(
    *,
    user_id: str,
    interview_id: str,
    prep_id: str,
    inputs_hash: str,
    model: str,
    now: str,
    window_start: str,
    hourly_limit: int | None,
    enqueue: Sequence[Statement],
) -> list[Statement]:
    """Queue a new prep version unless one with these inputs is live or the hourly limit is reached.

    All conditions are checked inside one atomic batch (and the partial unique index backs the first),
    so concurrent requests cannot both enqueue. An existing live version becomes the interview's current
    one again (asking for the same inputs after asking for others). The last two statements read back
    the live version (with when it was last updated, to spot one stuck in the queue) and the oldest
    request of the window (for Retry-After).
    """
    created = prep_created_condition(user_id=user_id, prep_id=prep_id)
    return [
        Statement(
            "DELETE FROM prep_requests WHERE user_id = ? AND requested_at <= ?", (user_id, window_start)
        ),
        Statement(
            "INSERT INTO preps (id, user_id, interview_id, inputs_hash, model, status, requested_at, "
            "created_at, updated_at) "
            "SELECT ?, ?, ?, ?, ?, 'queued', ?, ?, ? WHERE EXISTS "
            "(SELECT 1 FROM interviews WHERE id = ? AND user_id = ? AND opportunity_id IS NOT NULL) "
            "AND NOT EXISTS (SELECT 1 FROM preps WHERE user_id = ? AND interview_id = ? AND inputs_hash = ? "
            "AND status IN ('queued', 'generating', 'ready')) "
            "AND (? IS NULL OR "
            "(SELECT count(*) FROM prep_requests WHERE user_id = ? AND requested_at > ?) < ?)",
            (
                prep_id,
                user_id,
                interview_id,
                inputs_hash,
                model,
                now,
                now,
                now,
                interview_id,
                user_id,
                user_id,
                interview_id,
                inputs_hash,
                hourly_limit,
                user_id,
                window_start,
                hourly_limit,
            ),
        ),
        Statement(
            "INSERT INTO prep_requests (user_id, requested_at) "
            f"SELECT ?, ? WHERE ? IS NOT NULL AND {created[0]}",
            (user_id, now, hourly_limit, *created[1]),
        ),
        *enqueue,
        Statement(
            "UPDATE preps SET requested_at = ? WHERE user_id = ? AND interview_id = ? AND inputs_hash = ? "
            "AND status IN ('queued', 'generating', 'ready')",
            (now, user_id, interview_id, inputs_hash),
        ),
        Statement(
            "UPDATE interviews SET prep_status = (SELECT status FROM preps WHERE user_id = ? "
            "AND interview_id = ? AND inputs_hash = ? AND status IN ('queued', 'generating', 'ready')) "
            "WHERE id = ? AND user_id = ? "
            "AND EXISTS (SELECT 1 FROM preps WHERE user_id = ? AND interview_id = ? AND inputs_hash = ? "
            "AND status IN ('queued', 'generating', 'ready'))",
            (user_id, interview_id, inputs_hash, interview_id, user_id, user_id, interview_id, inputs_hash),
        ),
        Statement(
            f"{_PREP_SELECT} WHERE user_id = ? AND interview_id = ? AND inputs_hash = ? "
            "AND status IN ('queued', 'generating', 'ready') ORDER BY created_at DESC LIMIT 1",
            (user_id, interview_id, inputs_hash),
        ),
        Statement(
            "SELECT min(requested_at) FROM prep_requests WHERE user_id = ? AND requested_at > ?",
            (user_id, window_start),
        ),
    ]


def prep_created_condition(*, user_id: str, prep_id: str) -> tuple[str, tuple[Value, ...]]:
    return "EXISTS (SELECT 1 FROM preps WHERE id = ? AND user_id = ?)", (prep_id, user_id)


def fail_unqueued_prep(*, user_id: str, prep_id: str, error: str, now: str) -> list[Statement]:
    return [
        Statement(
            "UPDATE preps SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            (error, now, prep_id, user_id),
        ),
        Statement(
            "UPDATE interviews SET prep_status = 'failed' WHERE user_id = ? AND id = "
            "(SELECT interview_id FROM preps WHERE id = ? AND user_id = ?)",
            (user_id, prep_id, user_id),
        ),
    ]


def touch_queued_prep(*, user_id: str, prep_id: str, now: str) -> Statement:
    """Note that a queued prep's job was sent again (so it is not resent on every request)."""
    return Statement(
        "UPDATE preps SET updated_at = ? WHERE id = ? AND user_id = ? AND status = 'queued'",
        (now, prep_id, user_id),
    )


def select_newest_prep(*, user_id: str, interview_id: str) -> Statement:
    return Statement(
        f"{_PREP_SELECT} WHERE user_id = ? AND interview_id = ? ORDER BY requested_at DESC, id DESC LIMIT 1",
        (user_id, interview_id),
    )
