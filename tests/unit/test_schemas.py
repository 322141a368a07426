"""The shared request building blocks that carry API.md's Conventions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from common.schemas import AwareDatetime, Email, LongText, ProfileText, RequestModel, ShortText


class Sample(RequestModel):
    name: ShortText
    email: Email | None = None
    body: LongText = ""
    resume: ProfileText = ""
    at: AwareDatetime | None = None


def test_short_text_is_trimmed_bounded_and_single_line() -> None:
    assert Sample(name="  Ada  ").name == "Ada"
    assert len(Sample(name="x" * 300).name) == 300
    for bad in ("", "   ", "x" * 301, "a\x00b", "line\nbreak", "tab\there", "del\x7f"):
        with pytest.raises(ValidationError):
            Sample(name=bad)


def test_long_text_keeps_newlines_but_never_nul() -> None:
    assert Sample(name="n", body="para one\n\tpara two\r\n").body == "para one\n\tpara two\r\n"
    assert len(Sample(name="n", body="x" * 100_000).body) == 100_000
    assert len(Sample(name="n", resume="x" * 200_000).resume) == 200_000
    for field, value in (("body", "x" * 100_001), ("resume", "x" * 200_001), ("body", "a\x00b")):
        with pytest.raises(ValidationError):
            Sample.model_validate({"name": "n", field: value})


def test_email_is_normalised_and_checked() -> None:
    assert Sample(name="n", email="  Ada.Lovelace+jobs@Example.COM ").email == "ada.lovelace+jobs@example.com"
    for bad in ("ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@example.com"):
        with pytest.raises(ValidationError):
            Sample(name="n", email=bad)


def test_times_must_carry_an_offset() -> None:
    at = Sample.model_validate({"name": "n", "at": "2026-05-01T09:30:00+02:00"}).at
    assert at == datetime(2026, 5, 1, 7, 30, tzinfo=UTC)
    assert at is not None
    assert at.utcoffset() == timedelta(hours=2)
    assert Sample.model_validate({"name": "n", "at": "2026-05-01T09:30:00Z"}).at == datetime(
        2026,
        5,
        1,
        9,
        30,
        tzinfo=timezone.utc,  # noqa: UP017
    )
    with pytest.raises(ValidationError, match="offset"):
        Sample.model_validate({"name": "n", "at": "2026-05-01T09:30:00"})


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Sample.model_validate({"name": "n", "id": "forged"})
