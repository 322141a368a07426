"""Export of a heavy user against a raw streaming baseline: peak memory and wall time, each run in a
process of its own.

    python -m bench.export [--records 100000] [--runs 3] [--seed 7]

For each size, one user gets that many records (opportunities with job ads, interviews, contacts, notes,
timeline entries, prep documents), written in batches through the Database port. Then, in fresh
processes that import the same modules first:

- baseline: the same rows read in keyset pages of 1,000 through the Database port and written with
  csv.writer to a file as they come (no views, no escaping, no ZIP, no hashing): the floor for any
  streaming export;
- json / csv: `export.service.create_export` with the local store, as POST /v1/exports runs it (views,
  JSON or CSV-in-ZIP, SHA-256, the file written and renamed into place).

Peak RSS is the process's high-water mark (VmHWM). Budgets (issue 7): at most 20 MB over the baseline's
peak, at most 1.5x its time. Memory must not grow with the data: compare the sizes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._harness import Budgets, isolated_data_dir, machine
from bench.search import LOCATIONS, TAGS, job_description

BATCH = 1000
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
RSS_BUDGET_MB = 20.0
TIME_BUDGET = 1.5
# Shares of the records, by collection (sums to 1).
MIX = {
    "opportunities": 0.20,
    "interviews": 0.20,
    "contacts": 0.10,
    "notes": 0.24,
    "activity": 0.25,
    "preps": 0.01,
}
WORDS = (
    "follow", "up", "with", "recruiter", "about", "the", "offer", "team", "asked", "system", "design",
    "questions", "on", "caching", "and", "queues", "felt", "good", "salary", "range", "discussed", "next",
    "round", "onsite", "manager", "culture", "remote", "policy", "équipe", "größe", "café", "naïve",
)  # fmt: skip


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _iso(moment: datetime) -> str:
    from common.clock import to_iso

    return to_iso(moment)


def populate(user_id: str, records: int, seed: int) -> dict[str, int]:
    """Write `records` records of one user in batches; the number per collection."""
    from common.clock import new_id
    from common.db import Statement, get_database

    db = get_database()
    rng = random.Random(seed)
    counts = {name: int(records * share) for name, share in MIX.items()}
    counts["activity"] += records - sum(counts.values())
    pending: list[Statement] = []

    def add(sql: str, params: tuple[Any, ...]) -> None:
        pending.append(Statement(sql, params))
        if len(pending) >= BATCH:
            db.batch(pending)
            pending.clear()

    def moment() -> str:
        return _iso(NOW - timedelta(days=rng.uniform(0, 365)))

    opportunity_ids = []
    for number in range(counts["opportunities"]):
        opportunity_id = new_id()
        opportunity_ids.append(opportunity_id)
        company = f"Company {number % 997}"
        tags = rng.sample(TAGS, rng.randint(0, 4))
        at = moment()
        add(
            "INSERT INTO opportunities (id, user_id, company, company_key, role, status, job_description, "
            "url, location, salary_min, salary_max, currency, source, priority, tags, applied_at, archived, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'applied', ?, ?, ?, 90000, 120000, 'EUR', "
            "'referral', 'medium', ?, ?, 0, ?, ?)",
            (
                opportunity_id,
                user_id,
                company,
                company.casefold(),
                "Backend Engineer",
                job_description(rng, company, "Backend Engineer", tags),
                f"https://jobs.example.com/{number}",
                rng.choice(LOCATIONS),
                json.dumps(tags),
                at,
                at,
                at,
            ),
        )
    interview_ids = []
    for _ in range(counts["interviews"]):
        interview_id = new_id()
        interview_ids.append(interview_id)
        at = moment()
        add(
            "INSERT INTO interviews (id, user_id, opportunity_id, kind, title, scheduled_at, "
            "duration_minutes, interviewers, outcome, debrief, created_at, updated_at) "
            "VALUES (?, ?, ?, 'technical', 'Technical interview', ?, 60, ?, 'pending', ?, ?, ?)",
            (
                interview_id,
                user_id,
                rng.choice(opportunity_ids),
                at,
                json.dumps(["Grace Hopper", "Alan Turing"]),
                _text(rng, 50),
                at,
                at,
            ),
        )
    contact_ids = []
    for number in range(counts["contacts"]):
        contact_id = new_id()
        contact_ids.append(contact_id)
        at = moment()
        name = f"Contact {number}"
        add(
            "INSERT INTO contacts (id, user_id, name, name_key, email, company, title, notes, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, 'Acme', 'Recruiter', ?, ?, ?)",
            (contact_id, user_id, name, name.casefold(), f"c{number}@example.com", _text(rng, 30), at, at),
        )
        for position, opportunity_id in enumerate(rng.sample(opportunity_ids, 2)):
            add(
                "INSERT INTO contact_opportunities (user_id, contact_id, opportunity_id, position) "
                "VALUES (?, ?, ?, ?)",
                (user_id, contact_id, opportunity_id, position),
            )
    for _ in range(counts["notes"]):
        at = moment()
        add(
            "INSERT INTO notes (id, user_id, body, opportunity_id, interview_id, contact_id, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
            (new_id(), user_id, _text(rng, 70), rng.choice(opportunity_ids), rng.choice(contact_ids), at, at),
        )
    for _ in range(counts["activity"]):
        at = moment()
        add(
            "INSERT INTO activity (id, user_id, kind, summary, opportunity_id, occurred_at, created_at, "
            "updated_at) VALUES (?, ?, 'call', ?, ?, ?, ?, ?)",
            (new_id(), user_id, _text(rng, 10), rng.choice(opportunity_ids), at, at, at),
        )
    content = {
        "summary": _text(rng, 80),
        "company_insights": [_text(rng, 20) for _ in range(4)],
        "role_fit": [{"requirement": _text(rng, 8), "evidence": _text(rng, 20)} for _ in range(4)],
        "likely_questions": [
            {
                "question": _text(rng, 12),
                "category": "technical",
                "why": _text(rng, 15),
                "answer_outline": _text(rng, 40),
            }
            for _ in range(8)
        ],
        "stories": [],
        "questions_to_ask": [_text(rng, 10) for _ in range(4)],
        "debrief_followups": [],
    }
    for number in range(counts["preps"]):
        at = moment()
        add(
            "INSERT INTO preps (id, user_id, interview_id, inputs_hash, model, status, content, "
            "ai_processing, requested_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'claude-bench', 'ready', ?, ?, ?, ?, ?)",
            (
                new_id(),
                user_id,
                interview_ids[number],
                f"{number:064x}",
                json.dumps(content),
                json.dumps({"provider": "anthropic", "model": "claude-bench", "fields_sent": ["company"]}),
                at,
                at,
                at,
            ),
        )
    if pending:
        db.batch(pending)
    return counts


# ---- the measured runs (each in a child process) ------------------------------------------------


def _peak_rss_mb() -> float:
    """The process's high-water RSS (VmHWM), in MB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(user_id: str, target: Path) -> int:
    """Same rows, same pages, same port; straight into csv.writer."""
    from common.db import get_database
    from export import repository as repo

    db = get_database()
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for collection in repo.COLLECTIONS:
            writer.writerow(collection.columns)
            order = ", ".join(collection.order)
            after: tuple[Any, ...] | None = None
            while True:
                where = f"({order}) > ({', '.join('?' * len(collection.order))})" if after else "1"
                result = db.execute(
                    f"SELECT {', '.join(collection.columns)} FROM {collection.table} "
                    f"WHERE user_id = ? AND {where} ORDER BY {order} LIMIT 1000",
                    (user_id, *(after or ())),
                )
                if not result.rows:
                    break
                writer.writerows(result.rows)
                last = dict(zip(result.columns, result.rows[-1], strict=True))
                after = tuple(last[column] for column in collection.order)
    return target.stat().st_size


def child(mode: str, user_id: str) -> None:
    # The same imports in every mode, before measuring: the difference is the work, not the modules.
    from common.db import get_database
    from common.storage import get_blob_store
    from export import service

    db = get_database()
    db.execute("SELECT count(*) FROM users").scalar()
    store = get_blob_store()  # derives the link key: setup, not export work
    started, cpu_started = time.perf_counter(), time.process_time()
    if mode == "csv-stored":  # the same ZIP with its members stored, not deflated: what compression costs
        from export import writers

        writers.COMPRESS_LEVEL, mode = 0, "csv"
    if mode == "baseline":
        size = _baseline(user_id, Path(os.environ["TRACKER_DATA_DIR"]) / "baseline.csv")
    else:
        policy = service.ExportPolicy(url_ttl_seconds=900, hourly_limit=10**6)
        created = service.create_export(
            db, store, policy, user_id=user_id, export_format=mode, now=datetime.now(UTC)
        )
        size = int(created["size_bytes"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_rss_mb(), "bytes": size}))


def run_child(mode: str, user_id: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", mode, "--user", user_id],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if out.returncode:
        raise RuntimeError(f"{mode} run failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_size(records: int, runs: int, seed: int, budgets: Budgets) -> list[str]:
    with isolated_data_dir("bench-export-") as data_dir:
        from common.clock import new_id
        from common.db import get_database
        from common.keys import derived_key
        from common.settings import get_settings

        for cache in (get_settings, get_database, derived_key):  # this size's data dir, not the last one's
            cache.cache_clear()

        user_id = new_id()
        now = _iso(NOW)
        get_database().execute(
            "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, "heavy@example.com", "Heavy User", now, now),
        )
        started = time.perf_counter()
        counts = populate(user_id, records, seed)
        setup = time.perf_counter() - started
        get_database().close()
        get_database.cache_clear()
        size_mb = sum(p.stat().st_size for p in data_dir.glob("tracker.db*")) / 2**20
        mix = ", ".join(f"{n} {k}" for k, n in counts.items())
        print(f"setup: {records} records ({mix}) in {setup:.1f} s, database {size_mb:.0f} MiB", flush=True)
        results: dict[str, list[dict[str, float]]] = {"baseline": [], "json": [], "csv": [], "csv-stored": []}
        for _ in range(runs):  # interleaved, so a noisy moment hits every mode alike
            for mode in results:
                results[mode].append(run_child(mode, user_id))
                for path in (data_dir / "exports").rglob("*"):
                    if path.is_file():
                        path.unlink()  # keep the disk to one file at a time
    base_time = statistics.median(r["seconds"] for r in results["baseline"])
    base_cpu = statistics.median(r["cpu_seconds"] for r in results["baseline"])
    base_rss = max(r["peak_rss_mb"] for r in results["baseline"])
    rows = []
    for mode, samples in results.items():
        seconds = statistics.median(r["seconds"] for r in samples)
        cpu = statistics.median(r["cpu_seconds"] for r in samples)
        rss = max(r["peak_rss_mb"] for r in samples)
        over, ratio = rss - base_rss, seconds / base_time
        verdict = ""
        if mode != "baseline":
            verdict = budgets.check(
                f"export {mode} of {records} records",
                over <= RSS_BUDGET_MB and ratio <= TIME_BUDGET,
                f"{ratio:.2f}x the baseline's time (budget {TIME_BUDGET}x), peak RSS {over:+.1f} MB "
                f"(budget +{RSS_BUDGET_MB:.0f} MB)",
            )
        rows.append(
            f"| {mode} | {records} | {samples[0]['bytes'] / 2**20:.1f} | {seconds:.2f} "
            f"({min(r['seconds'] for r in samples):.2f}..{max(r['seconds'] for r in samples):.2f}) | "
            f"{ratio:.2f}x | {cpu:.2f} | {cpu / base_cpu:.2f}x | {rss:.1f} | {over:+.1f} | {verdict} |"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    # 100,000 is issue 9's size; add 10000 (`--records 10000,100000`) to see that memory stays flat.
    parser.add_argument("--records", default="100000", help="comma-separated sizes")
    parser.add_argument("--runs", type=int, default=3, help="processes per mode and size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", choices=("baseline", "json", "csv", "csv-stored"), help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.user)
        return

    budgets = Budgets("bench.export")
    rows = []
    for records in (int(size) for size in args.records.split(",")):
        rows += measure_size(records, args.runs, args.seed, budgets)
    print()
    print(f"machine: {machine()}; {args.runs} runs per row (median times, highest peak RSS)")
    print()
    print(
        "| run | records | output MiB | wall s, median (range) | wall vs baseline | CPU s | CPU vs baseline "
        "| peak RSS MB | RSS vs baseline MB | budget |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    budgets.finish()


if __name__ == "__main__":
    main()
