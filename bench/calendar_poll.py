"""Calendar poll of many connected users against the fake Google (OAuth token + Calendar v3) with a
fixed latency on every call, through the path a deployment takes.

    python -m bench.calendar_poll [--users 1000] [--latency 0.05] [--concurrency 10] [--events 2]
                                  [--threads] [--profile FILE]

Deployed (template.yaml), the scheduled invocation only fans out one SQS message per connected user;
the sync queue's event source then invokes `calendar_poll.handler.lambda_handler` with batches of 10
messages (BatchSize 10) on at most 10 instances at once (ScalingConfig.MaximumConcurrency 10), and each
instance syncs its batch's users one after the other. Google's servers spend none of our CPU, and each
instance is a process of its own. So here:
- the fake Google (tests/fakes/google_server.py) is a process of its own, which holds every token and
  Calendar answer for `--latency` seconds (`delay_next`; concurrent answers wait in parallel) and counts
  the calls;
- `--concurrency` worker processes play the instances: each takes SQS events of 10 records (built like
  events/sqs/calendar_sync.json) off one shared queue, as the event source hands batches to whichever
  instance is free, and invokes the real handler on them, all on one embedded database file (WAL).
Every user is a first sync: google-auth refreshes the access token, then one events.list page (2 calls).
Each instance first syncs one user of its own, untimed: its cold start (imports, discovery, the Calendar
client), printed beside the table. `--threads` is the former single-process run (the fake and the
instances as threads of this process, one GIL), kept for comparison.

Ideal = Google calls x latency / concurrency (the calls counted at the fake during the timed part).
Budget (issue 9): wall time at most 1.3x ideal, every user synced, every calendar's interview found, no
failed message. Connections: those the fake accepted in the timed part (deployed, each is a TCP and TLS
handshake with Google, which a plain-HTTP loopback fake does not charge). CPU per user is that of our
processes only (the instances; not the fake's, not this process's, which only waits). `--profile FILE`
writes a cProfile (CPU time) of one instance's timed syncs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from bench._harness import Budgets, isolated_data_dir, load_average, machine

BUDGET = 1.3
CLIENT_ID = "bench-client.apps.googleusercontent.com"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the fake's client, not a secret
BATCH = 10
FUNCTION = "interview-tracker-calendar-poll"


def sqs_event(user_ids: list[str]) -> dict[str, Any]:
    from tests.events import EVENTS_DIR

    sample = json.loads((EVENTS_DIR / "sqs" / "calendar_sync.json").read_text())["Records"][0]
    records = []
    for user_id in user_ids:
        body = json.dumps({"kind": "calendar_sync", "user_id": user_id}, separators=(",", ":"))
        records.append({**sample, "messageId": str(uuid.uuid4()), "body": body, "md5OfBody": ""})
    return {"Records": records}


# ---- the Google side -------------------------------------------------------------------------------


def grant_users(fake: Any, users: int, events: int) -> list[str]:
    """`users` Google accounts that granted our client calendar access, each with `events` upcoming events
    (one an interview, the rest ordinary); their refresh tokens, in order."""
    from tests.fakes.google_server import GoogleUser

    fake.register_client(CLIENT_ID, CLIENT_SECRET, ["http://localhost/v1/auth/google/calendar/callback"])
    now = datetime.now(UTC)
    tokens = []
    for n in range(users):
        person = GoogleUser(email=f"user{n}@example.com", name=f"User {n}")
        tokens.append(fake.grant(person, CLIENT_ID)["refresh_token"])
        calendar = fake.calendar(person)
        for k in range(events):
            start = now + timedelta(days=1 + k, hours=n % 8)
            summary = "Technical interview with Acme" if k == 0 else f"Dentist {k}"
            calendar.add_event(start=start, end=start + timedelta(hours=1), summary=summary)
    return tokens


def slow_down(fake: Any, latency: float, users: int) -> int:
    """From now on every token and Calendar answer takes `latency` seconds; forget the calls so far.
    The connections accepted so far."""
    fake.clear_requests()
    for endpoint in ("token", "calendar"):
        fake.delay_next(endpoint, latency, times=10 * users + 100)
    return int(fake.connections)


def google_calls(fake: Any, connections_before: int) -> tuple[int, int]:
    """Google calls since `slow_down`, and connections opened for them (each one a TLS handshake deployed)."""
    calls = sum(1 for r in fake.requests if "/calendar/v3/" in r["path"] or r["path"].endswith("/token"))
    return calls, fake.connections - connections_before


def serve_google(conn: Connection, users: int, events: int) -> None:
    """The fake Google as a process of its own (a Google that spends none of our CPU), driven over `conn`:
    it sends its addresses and the users' refresh tokens, then answers ("slow_down", (latency, users)),
    ("calls", None) with the Google calls and connections since, and ("close", None)."""
    from tests.fakes.google_server import start_fake_google

    with start_fake_google() as fake:
        tokens = grant_users(fake, users, events)
        conn.send((fake.discovery_url, fake.calendar_api_root, tokens))
        connections = 0
        while True:
            command, argument = conn.recv()
            if command == "slow_down":
                connections = slow_down(fake, *argument)
                conn.send(None)
            elif command == "calls":
                conn.send(google_calls(fake, connections))
            else:
                return


# ---- our side --------------------------------------------------------------------------------------


def store_connections(refresh_tokens: list[str]) -> list[str]:
    """One account per refresh token with a stored calendar connection, as the connect flow stores it;
    their user ids."""
    from common.calendar import refresh_token_context
    from common.clock import new_id, to_iso
    from common.crypto import get_sealer
    from common.db import Statement, get_database

    sealer = get_sealer()
    stamp = to_iso(datetime.now(UTC))
    statements: list[Statement] = []
    user_ids = []
    for n, token in enumerate(refresh_tokens):
        user_id = new_id()
        statements += [
            Statement(
                "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (user_id, f"user{n}@example.com", f"User {n}", stamp, stamp),
            ),
            Statement(
                "INSERT INTO calendar_connections (user_id, status, refresh_token, scopes, created_at, "
                "updated_at) VALUES (?, 'connected', ?, '', ?, ?)",
                (user_id, sealer.seal(token, context=refresh_token_context(user_id)), stamp, stamp),
            ),
        ]
        user_ids.append(user_id)
    get_database().batch(statements)
    return user_ids


def invoke(user_ids: list[str]) -> list[Any]:
    """One invocation of the real handler with an SQS batch of these users; the failed messages."""
    from calendar_poll.handler import lambda_handler
    from tests.events import LambdaContext

    context = LambdaContext(function_name=FUNCTION, timeout_seconds=60)
    return list(lambda_handler(sqs_event(user_ids), context).get("batchItemFailures", []))


def drain(next_batch: Callable[[], list[str] | None]) -> tuple[int, list[Any]]:
    """An instance's life: invoke the handler with batches until none is left; (users, failures)."""
    users, failures = 0, []
    while (batch := next_batch()) is not None:
        failures += invoke(batch)
        users += len(batch)
    return users, failures


def instance(warm_user: str, batches: Any, go: Any, results: Any, profile: str | None) -> None:
    """One Lambda instance as a process: its cold first sync, then batches off the shared queue."""
    started = time.perf_counter()
    failures = invoke([warm_user])
    results.put(("ready", time.perf_counter() - started, failures))
    go.wait()
    cpu = time.process_time()
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
        users, failed = profiler.runcall(drain, batches.get)
        profiler.dump_stats(profile)
    else:
        users, failed = drain(batches.get)
    results.put(("done", time.process_time() - cpu, users, failed))


def run_processes(args: argparse.Namespace) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters, as Lambda instances are
    google, ours = spawn.Pipe()
    fake = spawn.Process(target=serve_google, args=(ours, args.users, args.events), name="fake-google")
    started = time.perf_counter()
    fake.start()
    try:
        discovery_url, api_root, tokens = google.recv()
        os.environ.update(
            GOOGLE_CLIENT_ID=CLIENT_ID,
            GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
            GOOGLE_DISCOVERY_URL=discovery_url,
            GOOGLE_CALENDAR_API_URL=api_root,
        )
        user_ids = store_connections(tokens)
        warm, todo = user_ids[: args.concurrency], user_ids[args.concurrency :]
        batches, results, go = spawn.Queue(), spawn.Queue(), spawn.Event()
        for index in range(0, len(todo), BATCH):
            batches.put(todo[index : index + BATCH])
        for _ in range(args.concurrency):
            batches.put(None)
        workers = [
            spawn.Process(
                target=instance,
                args=(user, batches, go, results, args.profile if n == 0 else None),
                name=f"instance-{n}",
            )
            for n, user in enumerate(warm)
        ]
        for worker in workers:
            worker.start()
        ready = [results.get() for _ in workers]
        setup = time.perf_counter() - started
        google.send(("slow_down", (args.latency, len(todo))))
        google.recv()
        load_before = load_average()
        started = time.perf_counter()
        go.set()
        done = [results.get() for _ in workers]
        wall = time.perf_counter() - started
        for worker in workers:
            worker.join()
        google.send(("calls", None))
        calls, connections = google.recv()
    finally:
        google.send(("close", None))
        fake.join(timeout=10)
    return {
        "todo": todo,
        "calls": calls,
        "connections": connections,
        "wall": wall,
        "cpu": sum(d[1] for d in done),
        "failures": [f for r in ready for f in r[2]] + [f for d in done for f in d[3]],
        "setup": setup,
        "load_before": load_before,
        "cold": max(r[1] for r in ready),
        "per_instance": sorted(d[2] for d in done),
    }


def run_threads(args: argparse.Namespace) -> dict[str, Any]:
    """The former run: the fake and the instances (threads) in this process, under one GIL."""
    from tests.fakes.google_server import start_fake_google

    with start_fake_google() as fake:
        os.environ.update(
            GOOGLE_CLIENT_ID=CLIENT_ID,
            GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
            GOOGLE_DISCOVERY_URL=fake.discovery_url,
            GOOGLE_CALENDAR_API_URL=fake.calendar_api_root,
        )
        started = time.perf_counter()
        user_ids = store_connections(grant_users(fake, args.users, args.events))
        cold_started = time.perf_counter()
        failures = invoke(user_ids[:1])  # the one instance-wide cold start: imports, discovery, client
        cold = time.perf_counter() - cold_started
        setup = time.perf_counter() - started
        todo = user_ids[1:]
        connections = slow_down(fake, args.latency, len(todo))
        batches: queue.Queue[list[str] | None] = queue.Queue()
        for index in range(0, len(todo), BATCH):
            batches.put(todo[index : index + BATCH])
        for _ in range(args.concurrency):
            batches.put(None)
        done: list[tuple[int, list[Any]]] = []
        threads = [
            threading.Thread(target=lambda: done.append(drain(batches.get))) for _ in range(args.concurrency)
        ]
        load_before = load_average()
        started, cpu_started = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        calls, connections = google_calls(fake, connections)
    return {
        "todo": todo,
        "calls": calls,
        "connections": connections,
        "wall": wall,
        "cpu": cpu,  # the fake's CPU included: it runs in this process
        "failures": failures + [f for d in done for f in d[1]],
        "setup": setup,
        "load_before": load_before,
        "cold": cold,
        "per_instance": sorted(d[0] for d in done),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every Google answer")
    parser.add_argument("--concurrency", type=int, default=10, help="instances syncing at once")
    parser.add_argument("--events", type=int, default=2, help="upcoming events per calendar")
    parser.add_argument(
        "--threads", action="store_true", help="the former single-process run (fake and instances as threads)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile (CPU time) one instance's timed syncs into FILE"
    )
    args = parser.parse_args(argv)

    with isolated_data_dir("bench-calendar-"):
        run = run_threads(args) if args.threads else run_processes(args)
        from common.db import get_database

        db = get_database()
        synced = db.execute(
            "SELECT count(*) FROM calendar_connections WHERE last_synced_at IS NOT NULL"
        ).scalar()
        interviews = db.execute("SELECT count(*) FROM interviews WHERE source = 'calendar'").scalar()

    users = len(run["todo"])
    wall, cpu, failures = run["wall"], run["cpu"], run["failures"]
    ideal = run["calls"] * args.latency / args.concurrency
    ratio = wall / ideal
    complete = synced == args.users and interviews == args.users * min(args.events, 1) and not failures
    mode = "threads of one process (CPU incl. the fake's)" if args.threads else "processes"
    budgets = Budgets("bench.calendar_poll")
    verdict = budgets.check(
        f"calendar poll of {users} users ({mode})",
        ratio <= BUDGET and complete,
        f"{wall:.1f} s = {ratio:.2f}x the ideal {ideal:.1f} s (budget {BUDGET}x); {synced}/{args.users} "
        f"synced, {interviews} interviews found, {len(failures)} failed messages",
    )
    print(f"bench.calendar_poll: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(
        f"{run['load_before']} at the start, {load_average()} at the end; setup {run['setup']:.1f} s; "
        f"instances: {mode}, cold first sync {run['cold'] * 1000:.0f} ms (slowest, untimed); "
        f"users per instance {run['per_instance'][0]}-{run['per_instance'][-1]}\n"
    )
    print(
        "| users | Google calls | latency ms | concurrency | ideal s | wall s | wall vs ideal | CPU s | "
        "CPU ms per user | connections | users synced | calendar interviews | budget |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {users} | {run['calls']} | {args.latency * 1000:.0f} | {args.concurrency} | {ideal:.1f} | "
        f"{wall:.1f} | {ratio:.2f}x | {cpu:.1f} | {cpu / users * 1000:.1f} | {run['connections']} | "
        f"{synced} | {interviews} | {verdict} |"
    )
    budgets.finish()


if __name__ == "__main__":
    main()
