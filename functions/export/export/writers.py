"""The two export formats, written incrementally: each writer yields bytes as pages of items arrive, so
neither holds more than one page of the user's data.

- JSON: one document, `{"format_version": 1, "exported_at", "user", "profile", <collections>, "calendar"}`,
  written by hand around json.dumps of each item (one item per line).
- CSV: a ZIP (deflate, streamed with data descriptors) of one RFC 4180 CSV file per collection plus
  `profile.csv` and `user.csv`, UTF-8 without BOM, header row first. Lists and objects are JSON text,
  null is an empty cell, booleans are `true`/`false`. A text cell that starts with `=`, `+`, `-`, `@`, tab
  or carriage return gets a leading `'` (OWASP, CSV injection), so a spreadsheet shows it as text
  instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 1
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Collection:
    name: str
    fields: tuple[str, ...]
    pages: Iterable[list[dict[str, Any]]]


@dataclass(frozen=True)
class ExportContent:
    exported_at: str
    user: dict[str, Any]
    profile: dict[str, Any]
    calendar: dict[str, Any]
    collections: tuple[Collection, ...]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def json_document(content: ExportContent) -> Iterator[bytes]:
    head = {
        "format_version": FORMAT_VERSION,
        "exported_at": content.exported_at,
        "user": content.user,
        "profile": content.profile,
    }
    yield ("{" + ",\n".join(f"{_json(key)}: {_json(value)}" for key, value in head.items())).encode()
    for collection in content.collections:
        yield f",\n{_json(collection.name)}: [".encode()
        separator = "\n"
        for items in collection.pages:
            if items:
                yield (separator + ",\n".join(_json(item) for item in items)).encode()
                separator = ",\n"
        yield b"\n]"
    yield f',\n"calendar": {_json(content.calendar)}}}\n'.encode()


def csv_cell(value: Any) -> str:
    """One value as CSV text (module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = _json(value) if isinstance(value, list | dict) else str(value)
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Sink(io.RawIOBase):
    """Where the ZIP writer writes: an unseekable stream (so zipfile uses data descriptors) that the
    generator empties after every page."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def _members(content: ExportContent) -> Iterator[tuple[str, tuple[str, ...], Iterable[list[dict[str, Any]]]]]:
    for collection in content.collections:
        yield f"{collection.name}.csv", collection.fields, collection.pages
    yield "profile.csv", tuple(content.profile), [[content.profile]]
    yield "user.csv", tuple(content.user), [[content.user]]


def csv_zip(content: ExportContent, *, compresslevel: int = 6) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for name, fields, pages in _members(content):
            info = zipfile.ZipInfo(name, date_time=_zip_time(content.exported_at))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            # force_zip64: the size is unknown while streaming, and a member may pass 2 GiB.
            with archive.open(info, "w", force_zip64=True) as member:
                text = io.TextIOWrapper(member, encoding="utf-8", newline="", write_through=True)
                writer = csv.writer(text)
                writer.writerow(fields)
                for items in pages:
                    writer.writerows([csv_cell(item[field]) for field in fields] for item in items)
                    yield sink.take()
                text.detach()  # the member is closed by its `with`, not by the wrapper
        yield sink.take()
    yield sink.take()  # the central directory, written on close


def _zip_time(exported_at: str) -> tuple[int, int, int, int, int, int]:
    """ZIP's DOS timestamp of the export time (RFC 3339 UTC text)."""
    date, time = exported_at[:10], exported_at[11:19]
    year, month, day = (int(part) for part in date.split("-"))
    hour, minute, second = (int(part) for part in time.split(":"))
    return (year, month, day, hour, minute, second)
