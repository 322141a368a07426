"""The two export formats, written incrementally: each writer yields bytes as pages of items arrive, so
neither holds more than one page of the user's data.

- JSON: one document, `{"format_version": 1, "exported_at", "user", "profile", <collections>, "calendar"}`,
  written by hand around json.dumps of each item (one item per line).
- CSV: a ZIP (deflate, streamed with data descriptors) of one RFC 4180 CSV file per collection plus
  `profile.csv` and `user.csv`, UTF-8 without BOM, header row first. Lists and objects are JSON text,
  null is an empty cell, booleans are `true`/`false`. A text cell that starts with `=`, `+`, `-`, `@`, tab
  or carriage return gets a leading `'` (OWASP, CSV injection), so a spreadsheet shows it as text
  instead of running it as a formula: `csv_cell` here for the user and profile rows, the same rule in
  SQL for the collections' rows (export.repository.csv_value). The escape is one-way: the JSON export
  is the lossless one.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 1
# zlib level (bench/export.py measures the trade-off).
COMPRESS_LEVEL = 1
_FORMULA_TRIGGERS = frozenset("=+-@\t\r")


@dataclass(frozen=True)
class Collection:
    """One collection: its fields, and its rows a page at a time as tuples in field order. JSON turns each
    row (as a dict) into its API item with `item`; CSV writes the rows as they come, so for CSV they are
    read as cells already (export.repository.csv_value: formula-escaped text, true/false, lists as the
    JSON text the database holds)."""

    name: str
    fields: tuple[str, ...]
    pages: Iterable[list[tuple[Any, ...]]]
    item: Callable[[dict[str, Any]], dict[str, Any]]


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
        fields, item = collection.fields, collection.item
        for rows in collection.pages:
            if rows:
                text = ",\n".join(_json(item(dict(zip(fields, row, strict=True)))) for row in rows)
                yield (separator + text).encode()
                separator = ",\n"
        yield b"\n]"
    yield f',\n"calendar": {_json(content.calendar)}}}\n'.encode()


def csv_cell(value: Any) -> str:
    """One value as CSV text (module docstring)."""
    if value.__class__ is str:  # the common case first: this runs for every cell
        return "'" + value if value[:1] in _FORMULA_TRIGGERS else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = _json(value) if isinstance(value, list | dict) else str(value)
    return "'" + text if text[:1] in _FORMULA_TRIGGERS else text


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


def _members(content: ExportContent) -> Iterator[tuple[str, tuple[str, ...], Iterable[list[Any]]]]:
    for collection in content.collections:
        yield f"{collection.name}.csv", collection.fields, collection.pages
    for name, single in (("profile", content.profile), ("user", content.user)):
        yield f"{name}.csv", tuple(single), [[[csv_cell(value) for value in single.values()]]]


def csv_zip(content: ExportContent, *, compresslevel: int | None = None) -> Iterator[bytes]:
    sink = _Sink()
    level = COMPRESS_LEVEL if compresslevel is None else compresslevel
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, fields, pages in _members(content):
            # force_zip64: the size is unknown while streaming, and a member may pass 2 GiB.
            with archive.open(name, "w", force_zip64=True) as member:
                # Compressed a megabyte at a time, not per 8 KiB chunk of the text layer.
                buffered = io.BufferedWriter(member, buffer_size=1024 * 1024)
                text = io.TextIOWrapper(buffered, encoding="utf-8", newline="")
                writer = csv.writer(text)
                writer.writerow(fields)
                for rows in pages:
                    writer.writerows(rows)
                    text.flush()
                    yield sink.take()
                text.flush()
                text.detach().detach()  # the member is closed by its `with`, not by the wrappers
        yield sink.take()
    yield sink.take()  # the central directory, written on close
