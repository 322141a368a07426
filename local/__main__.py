"""`make run`: prepare the data dir (keys, migrated database), start the job worker and the calendar poller,
serve the whole API."""

from __future__ import annotations

import uvicorn

from common.db import get_database
from common.keys import token_encryption_key
from common.observability import get_logger
from common.settings import get_settings
from common.tokens import get_token_service
from local.app import build_app
from local.calendar import CalendarPoller
from local.worker import JobWorker


def main() -> None:
    settings = get_settings()
    settings.TRACKER_DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    get_token_service()  # generates the JWT key on first start
    token_encryption_key(settings)  # generates the token encryption key on first start
    get_database()  # applies migrations
    worker = JobWorker()
    worker.start()  # drains jobs left from a previous run too
    poller = CalendarPoller(settings.CALENDAR_POLL_INTERVAL_SECONDS)
    poller.start()
    get_logger().info("serving", extra={"url": f"http://{settings.HOST}:{settings.PORT}"})
    try:
        uvicorn.run(
            build_app(), host=settings.HOST, port=settings.PORT, log_level="warning", access_log=False
        )
    finally:
        poller.stop()
        worker.stop()


if __name__ == "__main__":
    main()
