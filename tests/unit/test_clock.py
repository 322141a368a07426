"""Stored times: fixed-width UTC text whose string order is time order, read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.clock import from_iso, to_iso

ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)


def _in_utc_range(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


@given(st.datetimes(timezones=ZONES))
def test_every_representable_time_is_fixed_width_ordered_and_read_back(moment: datetime) -> None:
    if not _in_utc_range(moment):
        with pytest.raises(OverflowError):
            to_iso(moment)
        return
    text = to_iso(moment)
    assert len(text) == len("2026-05-01T09:30:00.000000Z") and text.endswith("Z")
    assert from_iso(text) == moment
    assert text == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(len(text), "0")


@given(st.datetimes(timezones=ZONES), st.datetimes(timezones=ZONES))
def test_string_order_is_time_order(a: datetime, b: datetime) -> None:
    if _in_utc_range(a) and _in_utc_range(b):
        assert (to_iso(a) < to_iso(b)) == (a < b)


def test_years_below_1000_are_padded() -> None:
    # glibc's strftime("%Y") wrote "999-01-02T...", which sorted after "2026-..." and from_iso refused.
    assert to_iso(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00.000000Z"
    assert to_iso(datetime(1, 1, 1, tzinfo=UTC)) < to_iso(datetime(999, 1, 1, tzinfo=UTC)) < "2026"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_iso(datetime(2026, 1, 1))
