"""`make run`'s worker: drains the durable local job queue in a background thread.

The same code as the SQS consumers does the work (`process_prep`, the calendar sync). Jobs are
claimed with a lease, so a job whose process died mid-way (between "generating" and "ready") is taken
again after a restart, once its lease has run out; a transient failure reschedules the job with
backoff. Nothing is lost.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from common.clock import to_iso, utc_now
from common.db import DatabaseError, get_database
from common.observability import get_logger
from common.queue import CALENDAR_SYNC_JOB, PREP_JOB, Job, LocalJobQueue
from prep.llm import get_prep_model
from prep.service import LEASE, Outcome, Result, process_prep

POLL_SECONDS = 5.0
UNAVAILABLE_RETRY = timedelta(seconds=60)


def run_once(now: datetime | None = None) -> bool:
    """Process at most one due job; False when none was due."""
    db = get_database()
    now = now or utc_now()
    claimed = LocalJobQueue.claim(db, now=to_iso(now), lease_until=to_iso(now + LEASE))
    if claimed is None:
        return False
    job_id, job, _ = claimed
    try:
        result = _run(job, now)
    except (RuntimeError, DatabaseError) as exc:  # no API key any more, or the database is busy
        get_logger().warning("job deferred", extra={"error_type": type(exc).__name__, "job_kind": job.kind})
        LocalJobQueue.retry_at(db, job_id, to_iso(now + UNAVAILABLE_RETRY))
        return True
    if result.outcome is Outcome.DONE:
        LocalJobQueue.complete(db, job_id)
    else:
        LocalJobQueue.retry_at(db, job_id, to_iso(now + result.delay))
    return True


def _run(job: Job, now: datetime) -> Result:
    """The function a job belongs to, as its queue consumer would run it."""
    if job.kind == PREP_JOB and isinstance(job.payload.get("prep_id"), str):
        return process_prep(
            get_database(), get_prep_model(), user_id=job.user_id, prep_id=job.payload["prep_id"], now=now
        )
    if job.kind == CALENDAR_SYNC_JOB:
        from local.calendar import sync_one

        sync_one(job.user_id, now)
        return Result(Outcome.DONE)
    get_logger().error("dropping an unknown job", extra={"job_kind": job.kind})
    return Result(Outcome.DONE)


class JobWorker(threading.Thread):
    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(name="job-worker", daemon=True)
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                busy = run_once()
            except Exception:
                get_logger().exception("job worker error")
                busy = False
            if not busy:
                LocalJobQueue.wakeup.wait(self.poll_seconds)
                LocalJobQueue.wakeup.clear()

    def stop(self) -> None:
        self.stopping.set()
        LocalJobQueue.wakeup.set()
