"""Opaque, tamper-evident list cursors for keyset pagination.

A cursor carries the sort key of the last item of a page, signed with HMAC-SHA256 over the list it
belongs to (`scope`: the caller, the route, its filters and sort). A modified cursor, or one reused
for another user or another query, fails verification and gets 400, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _json_string  # json.dumps' own, in C
from operator import itemgetter
from typing import Any

from pydantic_core import to_json

from common.errors import BadRequestError

MAX_CURSOR_CHARS = 1024
# A page's items in JSON bytes, at most. Lambda answers at most 6 MB, and the response envelope escapes
# the body's JSON once more (a `"` becomes `\"`): 2.5 MiB stays under the limit in the worst case.
MAX_PAGE_BYTES = 5 * 512 * 1024
_TAG_BYTES = 16  # 128-bit tag: forging one is out of reach, and cursors stay short


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid() -> BadRequestError:
    return BadRequestError(
        "The cursor is invalid, altered, or belongs to another list; "
        "repeat the request without it to start from the first page",
        slug="invalid-cursor",
    )


class CursorCodec:
    """Cursors of one key. Every list page with a next page makes one, so it is kept short in steps:
    the key's HMAC state is set up once and copied (hmac.new per cursor, with json.dumps for the
    payload, was ~40 us of a page of 50 in the benchmark's process, where its code is out of cache
    after the page's rows; now ~10 us)."""

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def _tag(self, scope: str, payload: str) -> bytes:
        mac = self._mac.copy()
        mac.update(scope.encode() + b"\x00" + payload.encode())
        return mac.digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: Sequence[Any]) -> str:
        payload = _b64(to_json(list(position)))  # compact JSON, as json.loads reads it back
        return f"{payload}.{_b64(self._tag(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> list[Any]:
        """The position a cursor carries; 400 when it was not issued for exactly this list."""
        if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
            raise _invalid()
        payload, tag = cursor.split(".")
        # Compared as text, so even the spare bits of the last base64 character must match.
        if not hmac.compare_digest(tag.encode(), _b64(self._tag(scope, payload)).encode()):
            raise _invalid()
        try:
            position = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            raise _invalid() from None
        if not isinstance(position, list):
            raise _invalid()
        return position


@lru_cache(maxsize=1)
def get_cursor_codec() -> CursorCodec:
    from common.keys import derived_key

    return CursorCodec(derived_key("list-cursors"))


@dataclass(frozen=True)
class PageRequest:
    """One page of a keyset-paginated list: its size, and where the previous page ended."""

    limit: int
    cursor: str | None
    codec: CursorCodec

    def position(self, scope: str) -> list[Any] | None:
        return None if self.cursor is None else self.codec.decode(scope, self.cursor)

    def page(
        self,
        scope: str,
        rows: Sequence[Any],
        sizes: list[int] | None = None,
        position: Callable[[Any], Sequence[Any]] = itemgetter("sort_key", "id"),
    ) -> tuple[int, str | None]:
        """Rows fetched with limit + 1 -> how many of them make this page, and the next page's cursor
        (None at the end).

        `sizes` (the encoded size of each row's item) cut the page short once it would pass
        MAX_PAGE_BYTES, after at least one item: the client follows the cursor for the rest.
        `position` gives a row's place in the list, its value of the list's sort expression and its id
        (by default a row is a mapping with `sort_key` and `id`); it is asked of the page's last row only.
        """
        count = min(len(rows), self.limit)
        if sizes is not None:
            total = 0
            for index in range(count):
                total += sizes[index]
                if total > MAX_PAGE_BYTES and index > 0:
                    count = index
                    break
        if count == len(rows):
            return count, None
        return count, self.codec.encode(scope, list(position(rows[count - 1])))


def rows_size_bound(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """At least the size in JSON (UTF-8) of the items made of these rows (one object per row, keyed by
    `columns`), counted from string lengths alone: a character of text takes at most 6 bytes in JSON (a
    control character as `\\u001f`); a value, its quotes or commas, or a null or false, at most 6 more;
    a number at most 24 characters. It holds for items whose views only parse JSON text columns
    (re-encoding a JSON array's text never takes more than 6 bytes a character) or turn numbers into
    booleans. Values past the columns (a list's sort key) only add to it.

    Counted column by column with built-ins (a page of 50 opportunities is ~900 values; a Python step
    per value was ~0.1 ms of a 1 ms list request): a column of text sums its lengths, a column of
    numbers counts 4 characters (24 bytes) a value, and a column of mixed kinds its repr, which is
    never shorter than its values' text."""
    if not rows:
        return 0
    per_row = 2 + 6 * sum(map(len, columns)) + 4 * len(columns)  # braces, "keys":, commas
    chars = 0
    width = 0
    for values in zip(*rows, strict=True):
        width += 1
        first = next(filter(None, values), None)  # nulls, zeros and "" count 6 bytes each, below
        if first is None:
            continue
        kind = first.__class__
        try:  # a column of another kind than its first value raises TypeError (no column does here)
            if kind is str or kind is bytes:
                chars += sum(map(len, filter(None, values)))
                continue
            if kind is int or kind is float:
                sum(filter(None, values))  # numbers only: at most 24 bytes each
                chars += 4 * len(values)
                continue
        except TypeError:
            pass
        chars += len(repr(values))
    return per_row * len(rows) + 6 * chars + 6 * width * len(rows)


def encoded_sizes(items: Sequence[Any]) -> list[int]:
    """Each item's size as compact JSON, as the response model writes it (pydantic_core: ~5x faster than
    json.dumps), for `PageRequest.page`'s byte cap."""
    return [len(to_json(item)) for item in items]


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = value.__class__
    if kind is str:
        return _json_string(value)
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def list_scope(user_id: str, name: str, **filters: Any) -> str:
    """What a cursor is bound to: the caller, the list, and every filter and sort of the query.

    The text is `json.dumps([user_id, name, sorted(filters.items())], separators=(",", ":"),
    default=str)`, which cursors already handed out were signed over, written without json.dumps
    building an encoder on every call (~40 us of a list request in the benchmark's process)."""
    pairs = ",".join(f"[{_json_string(key)},{_json_value(value)}]" for key, value in sorted(filters.items()))
    return f"[{_json_value(user_id)},{_json_value(name)},[{pairs}]]"
