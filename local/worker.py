"""`make run`'s prep worker: drains the durable local job queue in a background thread.

The same `process_prep` as the SQS consumer does the work. Jobs are claimed with a lease, so a job
whose process died mid-way (between "generating" and "ready") is taken again after a restart, once
its lease has run out; a transient failure reschedules the job with backoff. Nothing is lost.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from common.clock import to_iso, utc_now
from common.db import DatabaseError, get_database
from common.observability import get_logger
from common.queue import LocalJobQueue
from prep.llm import get_prep_model
from prep.service import LEASE, Outcome, process_prep

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
    prep_id = job.payload.get("prep_id")
    if job.kind != "prep" or not isinstance(prep_id, str):
        get_logger().error("dropping an unknown job", extra={"job_kind": job.kind})
        LocalJobQueue.complete(db, job_id)
        return True
    try:
        result = process_prep(db, get_prep_model(), user_id=job.user_id, prep_id=prep_id, now=now)
    except (RuntimeError, DatabaseError) as exc:  # no API key any more, or the database is busy
        get_logger().warning("prep job deferred", extra={"error_type": type(exc).__name__})
        LocalJobQueue.retry_at(db, job_id, to_iso(now + UNAVAILABLE_RETRY))
        return True
    if result.outcome is Outcome.DONE:
        LocalJobQueue.complete(db, job_id)
    else:
        LocalJobQueue.retry_at(db, job_id, to_iso(now + result.delay))
    return True


class PrepWorker(threading.Thread):
    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(name="prep-worker", daemon=True)
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                busy = run_once()
            except Exception:
                get_logger().exception("prep worker error")
                busy = False
            if not busy:
                LocalJobQueue.wakeup.wait(self.poll_seconds)
                LocalJobQueue.wakeup.clear()

    def stop(self) -> None:
        self.stopping.set()
        LocalJobQueue.wakeup.set()
