"""Calendar poll of many connected users against the fake Google (OAuth token + Calendar v3) with a
fixed latency on every call, through the path a deployment takes.

    python -m bench.calendar_poll [--users 1000] [--latency 0.05] [--concurrency 10] [--events 2]

Deployed (template.yaml), the scheduled invocation only fans out one SQS message per connected user;
the sync queue's event source then invokes `calendar_poll.handler.lambda_handler` with batches of 10
messages (BatchSize 10) on at most 10 instances at once (ScalingConfig.MaximumConcurrency 10), and each
instance syncs its batch's users one after the other (Powertools' BatchProcessor). Here: `--concurrency`
threads play the instances, each invoking the real handler with SQS events of 10 records built like
events/sqs/calendar_sync.json; every user is a first sync (google-auth refreshes the access token, then
one events.list page: 2 calls) against tests/fakes/google_server.py, whose `delay_next` holds every
token and calendar answer for `--latency` seconds (concurrent answers wait in parallel).

Ideal = Google calls x latency / concurrency (the calls counted at the fake). Budget (issue 9): wall
time at most 1.3x ideal. CPU seconds per user are printed too: threads of one process share one GIL
(and here 2 shared cores), whereas Lambda instances each have their own CPU, so when CPU per user x
users / concurrency approaches the ideal this run understates a deployment's parallelism.
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._harness import Budgets, isolated_data_dir, load_average, machine

BUDGET = 1.3
CLIENT_ID = "bench-client.apps.googleusercontent.com"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the fake's client, not a secret
BATCH = 10


def sqs_event(user_ids: list[str]) -> dict[str, Any]:
    from tests.events import EVENTS_DIR

    sample = json.loads((EVENTS_DIR / "sqs" / "calendar_sync.json").read_text())["Records"][0]
    records = []
    for user_id in user_ids:
        body = json.dumps({"kind": "calendar_sync", "user_id": user_id}, separators=(",", ":"))
        records.append({**sample, "messageId": str(uuid.uuid4()), "body": body, "md5OfBody": ""})
    return {"Records": records}


def populate(fake: Any, users: int, events: int) -> list[str]:
    """`users` accounts with a stored calendar connection (as the connect flow stores it), each with
    `events` upcoming events in its calendar (one an interview, the rest ordinary)."""
    from common.calendar import refresh_token_context
    from common.clock import new_id, to_iso
    from common.crypto import get_sealer
    from common.db import Statement, get_database
    from tests.fakes.google_server import GoogleUser

    sealer = get_sealer()
    now = datetime.now(UTC)
    stamp = to_iso(now)
    statements: list[Statement] = []
    user_ids = []
    for n in range(users):
        user_id = new_id()
        person = GoogleUser(email=f"user{n}@example.com", name=f"User {n}")
        token = fake.grant(person, CLIENT_ID)
        calendar = fake.calendar(person)
        for k in range(events):
            start = now + timedelta(days=1 + k, hours=n % 8)
            summary = "Technical interview with Acme" if k == 0 else f"Dentist {k}"
            calendar.add_event(start=start, end=start + timedelta(hours=1), summary=summary)
        statements += [
            Statement(
                "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (user_id, person.email, person.name, stamp, stamp),
            ),
            Statement(
                "INSERT INTO calendar_connections (user_id, status, refresh_token, scopes, created_at, "
                "updated_at) VALUES (?, 'connected', ?, '', ?, ?)",
                (
                    user_id,
                    sealer.seal(token["refresh_token"], context=refresh_token_context(user_id)),
                    stamp,
                    stamp,
                ),
            ),
        ]
        user_ids.append(user_id)
    get_database().batch(statements)
    return user_ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every Google answer")
    parser.add_argument("--concurrency", type=int, default=10, help="instances syncing at once")
    parser.add_argument("--events", type=int, default=2, help="upcoming events per calendar")
    args = parser.parse_args(argv)

    import os

    from tests.fakes.google_server import start_fake_google

    with isolated_data_dir("bench-calendar-"), start_fake_google() as fake:
        fake.register_client(CLIENT_ID, CLIENT_SECRET, ["http://localhost/v1/auth/google/calendar/callback"])
        os.environ.update(
            GOOGLE_CLIENT_ID=CLIENT_ID,
            GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
            GOOGLE_DISCOVERY_URL=fake.discovery_url,
            GOOGLE_CALENDAR_API_URL=fake.calendar_api_root,
        )
        from calendar_poll.google_calendar import get_calendar_source
        from calendar_poll.handler import lambda_handler
        from common.db import get_database
        from tests.events import LambdaContext

        started = time.perf_counter()
        user_ids = populate(fake, args.users, args.events)
        setup = time.perf_counter() - started
        get_calendar_source()  # discovery: once per instance, at its first sync (not timed)
        # The first sync of a process imports google-api-python-client: each instance pays it once.
        lambda_handler(
            sqs_event(user_ids[:1]), LambdaContext(function_name="interview-tracker-calendar-poll")
        )
        todo = user_ids[1:]
        fake.clear_requests()
        for endpoint in ("token", "calendar"):
            fake.delay_next(endpoint, args.latency, times=10 * len(todo) + 100)

        batches: queue.Queue[list[str]] = queue.Queue()
        for index in range(0, len(todo), BATCH):
            batches.put(todo[index : index + BATCH])
        failures: list[Any] = []

        def instance() -> None:
            while True:
                try:
                    batch = batches.get_nowait()
                except queue.Empty:
                    return
                context = LambdaContext(function_name="interview-tracker-calendar-poll", timeout_seconds=60)
                answer = lambda_handler(sqs_event(batch), context)
                failures.extend(answer.get("batchItemFailures", []))

        threads = [threading.Thread(target=instance) for _ in range(args.concurrency)]
        load_before = load_average()
        started, cpu_started = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        requests = fake.requests
        calls = sum(1 for r in requests if "/calendar/v3/" in r["path"] or r["path"].endswith("/token"))
        synced = (
            get_database()
            .execute("SELECT count(*) FROM calendar_connections WHERE last_synced_at IS NOT NULL")
            .scalar()
        )
        interviews = (
            get_database().execute("SELECT count(*) FROM interviews WHERE source = 'calendar'").scalar()
        )

    ideal = calls * args.latency / args.concurrency
    ratio = wall / ideal
    budgets = Budgets("bench.calendar_poll")
    verdict = budgets.check(
        f"calendar poll of {len(todo)} users",
        ratio <= BUDGET and not failures,
        f"{wall:.1f} s = {ratio:.2f}x the ideal {ideal:.1f} s (budget {BUDGET}x); "
        f"{len(failures)} failed messages",
    )
    print(f"bench.calendar_poll: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(f"{load_before} at the start, {load_average()} at the end; setup {setup:.1f} s\n")
    print(
        "| users | Google calls | latency ms | concurrency | ideal s | wall s | wall vs ideal | CPU s | "
        "CPU ms per user | users synced | calendar interviews | budget |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {len(todo)} | {calls} | {args.latency * 1000:.0f} | {args.concurrency} | {ideal:.1f} | "
        f"{wall:.1f} | {ratio:.2f}x | {cpu:.1f} | {cpu / len(todo) * 1000:.1f} | {synced} | {interviews} "
        f"| {verdict} |"
    )
    budgets.finish()


if __name__ == "__main__":
    main()
