"""Lambda entry point of the calendar_poll function.

Two kinds of event reach it:
- the schedule (EventBridge Scheduler): fan out one sync job per connected user to the sync queue;
- an SQS batch from that queue (also fed by POST /v1/me/calendar/sync): sync each user, with partial
  batch failures. A sync Google defers (429/5xx) is acknowledged: the next poll tries again with the
  same sync token, so nothing is lost and nothing loops.
"""

from __future__ import annotations

from typing import Any

from calendar_poll.google_calendar import get_calendar_source
from calendar_poll.service import SyncSettings, fan_out, sync_user
from common.batch import SqsMessage, process_sqs_batch
from common.clock import utc_now
from common.crypto import get_sealer
from common.db import get_database
from common.observability import get_logger
from common.prep_requests import PrepPolicy
from common.queue import CALENDAR_SYNC_JOB, PREP_JOB, Job, SqsJobQueue, get_job_queue
from common.settings import get_settings


def sync_settings() -> SyncSettings:
    settings = get_settings()
    return SyncSettings(
        lookahead_days=settings.CALENDAR_LOOKAHEAD_DAYS,
        prep_lead_days=settings.PREP_LEAD_DAYS,
        prep=PrepPolicy(
            model=settings.PREP_MODEL,
            hourly_limit=settings.PREP_RATE_LIMIT_PER_HOUR,
            configured=settings.ai_configured,
        ),
    )


def record_handler(record: SqsMessage) -> bool:
    job = Job.from_body(record.body)
    if job.kind != CALENDAR_SYNC_JOB:
        raise ValueError("not a calendar sync job")
    source = get_calendar_source()
    if source is None:
        return True  # Google is not configured: nothing can be synced
    result = sync_user(
        get_database(),
        source,
        get_sealer(),
        get_job_queue(PREP_JOB),
        sync_settings(),
        user_id=job.user_id,
        now=utc_now(),
    )
    get_logger().info("calendar synced", extra={"outcome": result.outcome, "added": result.added})
    return True


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    get_logger().append_keys(request_id=getattr(context, "aws_request_id", None))
    if "Records" in event:
        return process_sqs_batch(event, record_handler)
    queue = get_job_queue(CALENDAR_SYNC_JOB)
    if not isinstance(queue, SqsJobQueue):
        raise RuntimeError("CALENDAR_SYNC_QUEUE_URL must be set for the scheduled poll")
    handed = fan_out(
        get_database(),
        queue.publish_batch,
        now=utc_now(),
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    get_logger().info("calendar poll fanned out", extra={"users": handed})
    return {"users": handed}
