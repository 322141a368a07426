"""Shared pydantic building blocks: strict request models, bounded strings, RFC 3339 times."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, StringConstraints

from common.clock import to_iso

SHORT_MAX = 300
LONG_MAX = 100_000
PROFILE_MAX = 200_000


class RequestModel(BaseModel):
    """Every request body: unknown fields are rejected (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=False)


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=SHORT_MAX, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=LONG_MAX)]
ProfileText = Annotated[str, StringConstraints(max_length=PROFILE_MAX)]

_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")


def _normalise_email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("must be an email address such as name@example.com")
    return value


Email = Annotated[
    str, StringConstraints(min_length=3, max_length=SHORT_MAX), AfterValidator(_normalise_email)
]


def _require_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset, e.g. 2026-05-01T09:30:00Z or +02:00")
    return value


# Input: RFC 3339 with an offset (naive times are rejected). Output: UTC with Z.
AwareDatetime = Annotated[datetime, AfterValidator(_require_offset)]
UtcTime = Annotated[str, PlainSerializer(lambda v: v, return_type=str)]


def iso(value: datetime) -> str:
    return to_iso(value)
