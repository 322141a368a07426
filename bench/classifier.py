"""Interview detection quality and speed: the calendar classifier on the labelled event set.

    python -m bench.classifier [--events 10000] [--opportunities 200] [--seed 7] [--misses]

Quality: precision, recall and F1 of `is_interview`, opportunity-match accuracy (among true interviews
the classifier found) and kind accuracy, for the whole set and its tuning and holdout splits
(tests/fixtures/calendar_events.json; the holdout was not looked at while the rules were written).
Speed: `classify` over `--events` events drawn from the set (parsed once; a fresh id each) against the
fixture's opportunities padded to `--opportunities` hints, indexed once as the sync engine does.
`--misses` lists the ids and rule names of wrong answers (never event text).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._harness import machine
from calendar_poll.classifier import (
    CalendarEvent,
    Detection,
    OpportunityHint,
    classify,
    company_domains_for,
    index_opportunities,
)

DATA = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "calendar_events.json"


@dataclass(frozen=True)
class Labelled:
    event: dict[str, Any]
    user_email: str
    is_interview: bool
    opportunity: str | None
    kind: str | None
    split: str


def load(path: Path = DATA) -> tuple[list[OpportunityHint], list[Labelled]]:
    """The fixture's opportunities as the sync engine would build hints (company domains derived from the
    opportunity URL and its contacts' emails), and the labelled events."""
    document = json.loads(path.read_text(encoding="utf-8"))
    hints = [
        OpportunityHint(
            id=item["key"],
            company=item["company"],
            contact_emails=[c["email"] for c in item["contacts"] if c.get("email")],
            company_domains=company_domains_for(item.get("url"), [c["email"] for c in item["contacts"]]),
            role=item.get("role") or "",
        )
        for item in document["opportunities"]
    ]
    events = [
        Labelled(
            event={k: v for k, v in raw.items() if k not in ("label", "split", "user_email")},
            user_email=raw.get("user_email", document["user_email"]),
            is_interview=raw["label"]["is_interview"],
            opportunity=raw["label"]["opportunity"],
            kind=raw["label"]["kind"],
            split=raw["split"],
        )
        for raw in document["events"]
    ]
    return hints, events


@dataclass(frozen=True)
class Scores:
    n: int
    tp: int
    fp: int
    fn: int
    tn: int
    matched: int  # true positives linked to the labelled opportunity (None == None counts)
    kinds: int  # true positives with the labelled kind

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def match_accuracy(self) -> float:
        return self.matched / self.tp if self.tp else 1.0

    @property
    def kind_accuracy(self) -> float:
        return self.kinds / self.tp if self.tp else 1.0


def detect(hints: Sequence[OpportunityHint], items: Iterable[Labelled]) -> list[tuple[Labelled, Detection]]:
    index = index_opportunities(hints)
    return [
        (item, classify(CalendarEvent.from_google(item.event), index, user_email=item.user_email))
        for item in items
    ]


def score(results: Iterable[tuple[Labelled, Detection]]) -> Scores:
    tp = fp = fn = tn = matched = kinds = n = 0
    for item, found in results:
        n += 1
        if item.is_interview and found.is_interview:
            tp += 1
            matched += found.opportunity_id == item.opportunity
            kinds += found.kind == item.kind
        elif found.is_interview:
            fp += 1
        elif item.is_interview:
            fn += 1
        else:
            tn += 1
    return Scores(n, tp, fp, fn, tn, matched, kinds)


def quality_table(results: list[tuple[Labelled, Detection]]) -> str:
    lines = [
        "| split | events | interviews | precision | recall | F1 | TP | FP | FN | TN "
        "| opportunity match | kind |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("all", "tuning", "holdout"):
        s = score((i, d) for i, d in results if name == "all" or i.split == name)
        lines.append(
            f"| {name} | {s.n} | {s.tp + s.fn} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.tp} | "
            f"{s.fp} | {s.fn} | {s.tn} | {s.match_accuracy:.3f} ({s.matched}/{s.tp}) | "
            f"{s.kind_accuracy:.3f} ({s.kinds}/{s.tp}) |"
        )
    return "\n".join(lines)


def misses(results: list[tuple[Labelled, Detection]], split: str | None = None) -> list[str]:
    """Wrong answers by event id and rule names (no event text)."""
    lines = []
    for item, found in results:
        if split is not None and item.split != split:
            continue
        wrong = []
        if item.is_interview != found.is_interview:
            wrong.append("FN" if item.is_interview else "FP")
        elif item.is_interview:
            if found.opportunity_id != item.opportunity:
                wrong.append(f"opportunity {found.opportunity_id} != {item.opportunity}")
            if found.kind != item.kind:
                wrong.append(f"kind {found.kind} != {item.kind}")
        if wrong:
            lines.append(
                f"{item.split} {item.event.get('id')}: {', '.join(wrong)}; "
                f"score {found.score}: {found.reasons}"
            )
    return lines


def padded_hints(hints: Sequence[OpportunityHint], count: int, seed: int) -> list[OpportunityHint]:
    """The fixture's hints plus generated ones up to `count` (a heavy user's opportunity list)."""
    rng = random.Random(seed)
    heads = ("Nimbus", "Quanta", "Vertex", "Helio", "Strato", "Lumen", "Corvid", "Tessel", "Arbor", "Kestrel")
    tails = (
        "Labs",
        "Systems",
        "Analytics",
        "Health",
        "Bank",
        "Logistics",
        "Energy",
        "Cloud",
        "Security",
        "AI",
    )
    extra = []
    for number in range(max(0, count - len(hints))):
        company = f"{rng.choice(heads)} {rng.choice(tails)} {number}"
        domain = company.lower().replace(" ", "") + ".com"
        extra.append(
            OpportunityHint(
                id=f"generated-{number}",
                company=company,
                contact_emails=[f"recruiter{number}@{domain}"],
                company_domains=[domain],
                role="Software Engineer",
            )
        )
    return [*hints, *extra]


def throughput(
    hints: Sequence[OpportunityHint], items: Sequence[Labelled], count: int, seed: int
) -> tuple[float, float]:
    """(events per second of classify with a prebuilt index, milliseconds to build the index)."""
    rng = random.Random(seed)
    parsed = [(CalendarEvent.from_google(item.event), item.user_email) for item in items]
    events = [
        (replace(event, id=f"{event.id}-{i}"), user)
        for i, (event, user) in enumerate(rng.choices(parsed, k=count))
    ]
    started = time.perf_counter()
    index = index_opportunities(hints)
    index_ms = (time.perf_counter() - started) * 1000
    for event, user in events[:200]:  # warm-up
        classify(event, index, user_email=user)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for event, user in events:
            classify(event, index, user_email=user)
        best = min(best, time.perf_counter() - started)
    return count / best, index_ms


LONG_PARAGRAPH = (
    "<p>Hi there,</p><p>Thank you for your interest in joining our team! Below you will find everything you "
    "need for the upcoming conversation, including the agenda, the people you will meet and a few practical "
    "notes about accessibility, accommodations and how we handle your data. "
    '<a href="https://example.com/privacy">Privacy notice</a>. If anything comes up, reply to this email '
    "and we will find another slot that works for you.</p>"
)


def with_long_descriptions(items: Sequence[Labelled]) -> list[Labelled]:
    """The labelled events with a description of MAX_SCAN_CHARS of HTML prose appended (the slow case)."""
    filler = (LONG_PARAGRAPH * (4000 // len(LONG_PARAGRAPH) + 1))[:4000]
    return [
        replace(item, event={**item.event, "description": filler + str(item.event.get("description", ""))})
        for item in items
    ]


def parse_throughput(items: Sequence[Labelled], count: int) -> float:
    raw = [item.event for item in items]
    started = time.perf_counter()
    for i in range(count):
        CalendarEvent.from_google(raw[i % len(raw)])
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--opportunities", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--misses", action="store_true", help="list wrong answers (ids and rule names)")
    parser.add_argument("--split", choices=("tuning", "holdout"), help="with --misses: only this split")
    args = parser.parse_args(argv)

    hints, items = load()
    results = detect(hints, items)
    print(f"bench.classifier: {datetime.now(UTC):%Y-%m-%d}, {machine()}")
    print(
        f"labelled set: {DATA.relative_to(DATA.parents[2])}, {len(items)} events, "
        f"{sum(i.is_interview for i in items)} interviews, {len(hints)} opportunities\n"
    )
    print(quality_table(results))
    if args.misses:
        print("\nwrong answers:")
        for line in misses(results, args.split):
            print("- " + line)

    small, small_index_ms = throughput(hints, items, args.events, args.seed)
    big_hints = padded_hints(hints, args.opportunities, args.seed)
    big, big_index_ms = throughput(big_hints, items, args.events, args.seed)
    long, long_index_ms = throughput(big_hints, with_long_descriptions(items), args.events, args.seed)
    parsing = parse_throughput(items, args.events)
    print(f"\nthroughput of classify ({args.events} events, best of 3, index built once):\n")
    print("| events | opportunities | events/s | µs/event | index build ms |")
    print("|---|---:|---:|---:|---:|")
    rows = (
        ("from the labelled set", len(hints), small, small_index_ms),
        ("from the labelled set", len(big_hints), big, big_index_ms),
        ("+ 4,000 chars of HTML description each", len(big_hints), long, long_index_ms),
    )
    for name, count, rate, index_ms in rows:
        print(f"| {name} | {count} | {rate:,.0f} | {1e6 / rate:.1f} | {index_ms:.2f} |")
    print(f"\nCalendarEvent.from_google: {parsing:,.0f} events/s")


if __name__ == "__main__":
    main()
