"""`make run`'s calendar poller: the schedule EventBridge Scheduler gives the deployed function, as a
timer thread (CALENDAR_POLL_INTERVAL_SECONDS), syncing every connected user in turn."""

from __future__ import annotations

import threading
from datetime import datetime

from calendar_poll.google_calendar import get_calendar_source
from calendar_poll.handler import sync_settings
from calendar_poll.service import poll_all, sync_user
from common.clock import utc_now
from common.crypto import get_sealer
from common.db import get_database
from common.observability import get_logger
from common.queue import PREP_JOB, get_job_queue


def sync_one(user_id: str, now: datetime) -> None:
    source = get_calendar_source()
    if source is None:
        return
    sync_user(
        get_database(),
        source,
        get_sealer(),
        get_job_queue(PREP_JOB),
        sync_settings(),
        user_id=user_id,
        now=now,
    )


def poll_once(now: datetime | None = None) -> dict[str, int]:
    source = get_calendar_source()
    if source is None:
        return {}
    return poll_all(
        get_database(), source, get_sealer(), get_job_queue(PREP_JOB), sync_settings(), now=now or utc_now()
    )


class CalendarPoller(threading.Thread):
    def __init__(self, interval_seconds: float) -> None:
        super().__init__(name="calendar-poller", daemon=True)
        self.interval = interval_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                outcomes = poll_once()
                if outcomes:
                    get_logger().info("calendar poll", extra=outcomes)
            except Exception:
                get_logger().exception("calendar poll failed")

    def stop(self) -> None:
        self.stopping.set()
