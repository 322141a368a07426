"""The dashboard's arithmetic over a status ledger (pure functions, fixed clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from records.stats import by_status, response_rate, time_in_stage, week_bounds

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday


def day(n: float) -> str:
    moment = datetime(2026, 11, 1, tzinfo=UTC).timestamp() + n * 86400
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ledger(opportunity: str, *stays: tuple[str, float]) -> list[tuple[str | None, str, str, str | None]]:
    """Consecutive stays: each (status, entered on day n); the last one is ongoing."""
    rows: list[tuple[str | None, str, str, str | None]] = []
    for index, (status, entered) in enumerate(stays):
        left = day(stays[index + 1][1]) if index + 1 < len(stays) else None
        rows.append((opportunity, status, day(entered), left))
    return rows


def test_by_status_lists_every_status() -> None:
    counts = by_status([("applied", 2), ("offer", 1)])
    assert counts == {
        "wishlist": 0,
        "applied": 2,
        "screening": 0,
        "interviewing": 0,
        "offer": 1,
        "accepted": 0,
        "rejected": 0,
        "withdrawn": 0,
    }


def test_response_rate_counts_histories_not_current_status() -> None:
    rows = [
        *ledger("a", ("wishlist", 0), ("applied", 1), ("rejected", 5)),  # applied, no response
        *ledger("b", ("applied", 0), ("screening", 2), ("rejected", 9)),  # responded, then rejected
        *ledger("c", ("screening", 0)),  # created at screening: counts both ways
        *ledger("d", ("wishlist", 0), ("withdrawn", 1)),  # never applied: neither way
    ]
    assert response_rate(rows) == pytest.approx(2 / 3, abs=1e-4)


def test_response_rate_is_none_without_applications() -> None:
    assert response_rate(ledger("a", ("wishlist", 0), ("rejected", 1))) is None
    assert response_rate([]) is None


def test_time_in_stage_takes_medians_of_stays() -> None:
    rows = [
        *ledger("a", ("applied", 0), ("screening", 2), ("offer", 3), ("accepted", 4)),
        *ledger("b", ("applied", 0), ("screening", 4), ("rejected", 10)),
        *ledger("c", ("applied", 0), ("screening", 6)),
    ]
    medians = time_in_stage(rows, NOW)
    assert medians["applied"] == 4.0  # stays of 2, 4, 6 days
    # 1, 6 and the ongoing stay of c since day 6 (Nov 7) up to Nov 27 12:00 = 20.5 days
    assert medians["screening"] == 6.0
    assert medians["offer"] == 1.0
    # Exits are not measured while they last.
    assert medians["accepted"] is None and medians["rejected"] is None
    assert medians["wishlist"] is None


def test_week_bounds_are_monday_to_monday_utc() -> None:
    start, end = week_bounds(NOW)
    assert start == datetime(2026, 11, 23, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, tzinfo=UTC)
    assert week_bounds(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))[0] == start
