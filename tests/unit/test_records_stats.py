"""The dashboard's arithmetic over status stays (pure functions; days come from SQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from records.stats import Stay, by_status, response_rate, time_in_stage, week_bounds

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday


def stays(opportunity: str, *path: tuple[str, float]) -> list[Stay]:
    """Consecutive stays of one opportunity: (status, days spent); the last one is still going on."""
    return [(opportunity, status, days, index == len(path) - 1) for index, (status, days) in enumerate(path)]


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
        *stays("a", ("wishlist", 1), ("applied", 4), ("rejected", 9)),  # applied, no response
        *stays("b", ("applied", 2), ("screening", 7), ("rejected", 9)),  # responded, then rejected
        *stays("c", ("screening", 3)),  # created at screening: counts both ways
        *stays("d", ("wishlist", 1), ("withdrawn", 2)),  # never applied: neither way
    ]
    assert response_rate(rows) == pytest.approx(2 / 3, abs=1e-4)


def test_response_rate_is_none_without_applications() -> None:
    assert response_rate(stays("a", ("wishlist", 1), ("rejected", 1))) is None
    assert response_rate([]) is None


def test_time_in_stage_takes_medians_of_stays() -> None:
    rows = [
        *stays("a", ("applied", 2), ("screening", 1), ("offer", 1), ("accepted", 30)),
        *stays("b", ("applied", 4), ("screening", 6), ("rejected", 40)),
        *stays("c", ("applied", 6), ("screening", 20.5)),  # still in screening: counts up to now
    ]
    medians = time_in_stage(rows)
    assert medians["applied"] == 4.0  # 2, 4, 6
    assert medians["screening"] == 6.0  # 1, 6, 20.5
    assert medians["offer"] == 1.0
    # Exits are not measured while they last.
    assert medians["accepted"] is None and medians["rejected"] is None
    assert medians["wishlist"] is None


def test_negative_lengths_from_clock_skew_count_as_zero() -> None:
    assert time_in_stage(stays("a", ("applied", -0.5), ("screening", 1)))["applied"] == 0.0


def test_week_bounds_are_monday_to_monday_utc() -> None:
    start, end = week_bounds(NOW)
    assert start == datetime(2026, 11, 23, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, tzinfo=UTC)
    assert week_bounds(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))[0] == start
