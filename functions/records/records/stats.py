"""Dashboard figures computed from the status ledger (pure functions: no I/O, no clock)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from statistics import median

from records.schemas import STATUSES

RESPONDED = frozenset({"screening", "interviewing", "offer", "accepted"})
SUBMITTED = RESPONDED | {"applied"}
# Exits: a stay in one of these never ends, so it is not measured while it lasts.
TERMINAL = frozenset({"accepted", "rejected", "withdrawn"})

# One stay in a status, from the ledger: opportunity id, status, days in it (up to now if ongoing), ongoing.
Stay = tuple[str | None, str, float, bool]


def by_status(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    found = dict(counts)
    return {status: int(found.get(status, 0)) for status in STATUSES}


def response_rate(stays: Iterable[Stay]) -> float | None:
    """Opportunities whose history reached screening or later, over those that reached applied or later.
    rejected/withdrawn count neither way by themselves."""
    history: dict[str | None, set[str]] = defaultdict(set)
    for opportunity_id, status, _, _ in stays:
        history[opportunity_id].add(status)
    submitted = [statuses for statuses in history.values() if statuses & SUBMITTED]
    if not submitted:
        return None
    responded = sum(1 for statuses in submitted if statuses & RESPONDED)
    return round(responded / len(submitted), 4)


def time_in_stage(stays: Iterable[Stay]) -> dict[str, float | None]:
    """Median days per status over every completed stay, plus stays still in progress in a
    non-terminal status (measured up to now): a card stuck in `applied` for weeks shows it."""
    days: dict[str, list[float]] = defaultdict(list)
    for _, status, length, ongoing in stays:
        if ongoing and status in TERMINAL:
            continue
        days[status].append(max(length, 0.0))
    return {status: (round(median(days[status]), 2) if days[status] else None) for status in STATUSES}


def week_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The current ISO week in UTC: Monday 00:00 to the next Monday 00:00."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, monday + timedelta(days=7)
