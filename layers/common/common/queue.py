"""The job queue port between `records` (producer) and `prep` (consumer).

Two adapters, chosen once from settings:
- SQS (`PREP_QUEUE_URL` set): the message is sent after the database batch that created the job's
  row commits; the prep function consumes it (at-least-once, so consumers are idempotent).
- Local (default): a durable `jobs` table written IN the producer's batch (a transactional outbox: the
  job exists exactly when its prep does), drained by a worker thread inside `make run`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from common.clock import new_id
from common.db import Database, Params, Statement


@dataclass(frozen=True)
class Job:
    kind: str
    user_id: str
    payload: dict[str, Any]

    def body(self) -> str:
        return json.dumps({"kind": self.kind, "user_id": self.user_id, **self.payload}, separators=(",", ":"))

    @classmethod
    def from_body(cls, body: str) -> Job:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise ValueError("not a job message")
        kind, user_id = data.pop("kind"), data.pop("user_id")
        if not isinstance(user_id, str):
            raise ValueError("job message without a user")
        return cls(kind, user_id, data)


class JobQueue(Protocol):
    def enqueue_statements(self, job: Job, *, now: str, only_if: tuple[str, Params]) -> list[Statement]:
        """Statements to run inside the producer's batch (`only_if`: an SQL condition that must hold)."""
        ...

    def publish(self, job: Job) -> None:
        """Called after that batch committed."""
        ...


class LocalJobQueue:
    """Jobs as rows; `wakeup` lets the in-process worker start at once instead of at its next poll."""

    wakeup = threading.Event()

    def enqueue_statements(self, job: Job, *, now: str, only_if: tuple[str, Params]) -> list[Statement]:
        condition, params = only_if
        return [
            Statement(
                "INSERT INTO jobs (id, user_id, kind, payload, available_at, created_at) "
                f"SELECT ?, ?, ?, ?, ?, ? WHERE {condition}",
                (new_id(), job.user_id, job.kind, json.dumps(job.payload), now, now, *params),
            )
        ]

    def publish(self, job: Job) -> None:
        self.wakeup.set()

    # ---- the consumer side (the local worker) ----

    @staticmethod
    def claim(db: Database, *, now: str, lease_until: str) -> tuple[str, Job, int] | None:
        """Take the oldest available job for a lease (a job whose worker died comes back when it ends)."""
        row = db.execute(
            "UPDATE jobs SET lease_until = ?, attempts = attempts + 1 WHERE id = ("
            "SELECT id FROM jobs WHERE available_at <= ? AND (lease_until IS NULL OR lease_until <= ?) "
            "ORDER BY available_at, id LIMIT 1) RETURNING id, kind, user_id, payload, attempts",
            (lease_until, now, now),
        ).first()
        if row is None:
            return None
        return row["id"], Job(row["kind"], row["user_id"], json.loads(row["payload"])), int(row["attempts"])

    @staticmethod
    def complete(db: Database, job_id: str) -> None:
        db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    @staticmethod
    def retry_at(db: Database, job_id: str, available_at: str) -> None:
        db.execute(
            "UPDATE jobs SET available_at = ?, lease_until = NULL WHERE id = ?", (available_at, job_id)
        )


class SqsJobQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def enqueue_statements(self, job: Job, *, now: str, only_if: tuple[str, Params]) -> list[Statement]:
        return []

    def publish(self, job: Job) -> None:
        sqs_client().send_message(QueueUrl=self.queue_url, MessageBody=job.body())

    def publish_batch(self, jobs: list[Job]) -> int:
        """Send up to 10 jobs in one call; returns how many SQS accepted."""
        entries = [{"Id": str(n), "MessageBody": job.body()} for n, job in enumerate(jobs[:10])]
        if not entries:
            return 0
        response = sqs_client().send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(response.get("Successful", []))


@lru_cache(maxsize=1)
def sqs_client() -> Any:
    import boto3  # only on the path that sends: keeps boto3 out of cold starts that never enqueue

    return boto3.client("sqs")


PREP_JOB = "prep"
CALENDAR_SYNC_JOB = "calendar_sync"


@lru_cache(maxsize=4)
def get_job_queue(kind: str = PREP_JOB) -> JobQueue:
    """Where jobs of a kind go: their SQS queue in AWS, the local job table otherwise (one table for
    every kind; the local worker dispatches by kind)."""
    from common.settings import get_settings

    settings = get_settings()
    url = {PREP_JOB: settings.PREP_QUEUE_URL, CALENDAR_SYNC_JOB: settings.CALENDAR_SYNC_QUEUE_URL}[kind]
    return SqsJobQueue(url) if url else LocalJobQueue()
