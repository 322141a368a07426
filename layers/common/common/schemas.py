"""Shared pydantic building blocks: strict request models, bounded strings, RFC 3339 times."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic.warnings import UnsupportedFieldAttributeWarning

SHORT_MAX = 300
LONG_MAX = 100_000
PROFILE_MAX = 200_000


class ApiModel(BaseModel):
    """Every model: its validator and serializer are built on first use, not when the class is declared.

    A function declares every model of its routes at import (cold start) but a warm instance may never
    use most of them (a records instance serving reads never validates a ContactCreate): deferring
    took ~40% off the records function's import. FastAPI's response and body adapters inherit it.
    """

    model_config = ConfigDict(defer_build=True)


# FastAPI wraps a body model in `Annotated[Model, Body(alias=...)]` for its adapter and silences the
# warning pydantic gives for the alias it ignores there, but only around building it; deferred, the build
# happens at the first request, outside that silence. The same warning silenced for the process (and in
# pyproject.toml's pytest filters, which pytest would otherwise reset around each test).
warnings.filterwarnings("ignore", "The 'alias' attribute with value", UnsupportedFieldAttributeWarning)


class RequestModel(ApiModel):
    """Every request body: unknown fields are rejected (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUL = "\x00"


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _no_nul(value: str) -> str:
    if _NUL in value:
        raise ValueError("must not contain NUL characters")
    return value


# One line of text (names, titles, emails, urls): no control characters at all.
ShortText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SHORT_MAX, strip_whitespace=True),
    AfterValidator(_no_control_characters),
]
# Multi-line text keeps newlines and tabs; NUL is never stored.
LongText = Annotated[str, StringConstraints(max_length=LONG_MAX), AfterValidator(_no_nul)]
ProfileText = Annotated[str, StringConstraints(max_length=PROFILE_MAX), AfterValidator(_no_nul)]

_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")


def _normalise_email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("must be an email address such as name@example.com")
    return value


Email = Annotated[
    str, StringConstraints(min_length=3, max_length=SHORT_MAX), AfterValidator(_normalise_email)
]


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_text(value: object) -> object:
    """Only RFC 3339 text with an offset: no unix timestamps (numbers or digit strings), no bare dates."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value.strip()):
        raise ValueError("must be an RFC 3339 time with an offset, e.g. 2026-05-01T09:30:00Z or +02:00")
    return value.strip()


def _require_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset, e.g. 2026-05-01T09:30:00Z or +02:00")
    try:
        value.astimezone(UTC)  # stored in UTC: 0001-01-01T00:30:00+01:00 has no UTC time
    except OverflowError:
        raise ValueError("must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC") from None
    return value


# Input: RFC 3339 with an offset (naive times are rejected). Output: UTC with Z.
AwareDatetime = Annotated[datetime, BeforeValidator(_rfc3339_text), AfterValidator(_require_offset)]

_URL = re.compile(r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$", re.IGNORECASE)


def _http_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


# Links users store (job posting, meeting, LinkedIn profile): absolute http(s) only, so a stored
# `javascript:` URL can never reach a frontend's href.
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SHORT_MAX, strip_whitespace=True),
    AfterValidator(_no_control_characters),
    AfterValidator(_http_url),
]

# An id the client refers to (ours are 32 hex characters; anything else simply matches nothing).
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
