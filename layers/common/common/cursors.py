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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
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


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, scope: str, payload: str) -> bytes:
        message = scope.encode() + b"\x00" + payload.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: Sequence[Any]) -> str:
        payload = _b64(json.dumps(list(position), separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._tag(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> list[Any]:
        """The position a cursor carries; 400 when it was not issued for exactly this list."""
        invalid = BadRequestError(
            "The cursor is invalid, altered, or belongs to another list; "
            "repeat the request without it to start from the first page",
            slug="invalid-cursor",
        )
        if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
            raise invalid
        payload, tag = cursor.split(".")
        # Compared as text, so even the spare bits of the last base64 character must match.
        if not hmac.compare_digest(tag.encode(), _b64(self._tag(scope, payload)).encode()):
            raise invalid
        try:
            position = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            raise invalid from None
        if not isinstance(position, list):
            raise invalid
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
        self, scope: str, rows: list[dict[str, Any]], sizes: list[int] | None = None
    ) -> tuple[int, str | None]:
        """Rows fetched with limit + 1 -> how many of them make this page, and the next page's cursor
        (None at the end).

        `sizes` (the encoded size of each row's item) cut the page short once it would pass
        MAX_PAGE_BYTES, after at least one item: the client follows the cursor for the rest. Each row
        carries `sort_key` (its value of the list's sort expression) and `id`.
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
        last = rows[count - 1]
        return count, self.codec.encode(scope, [last["sort_key"], last["id"]])


def rows_size_bound(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """At least the size in JSON (UTF-8) of the items made of these rows (one object per row, keyed by
    `columns`), counted from string lengths alone: a character takes at most 6 bytes in JSON (a control
    character as `\\u001f`), a number or null at most 24. It holds for items whose views only parse
    JSON text columns (re-encoding a JSON array's text never takes more than 6 bytes a character) or
    turn numbers into booleans. Values past the columns (a list's sort key) only add to it."""
    total = (2 + sum(6 * len(name) + 4 for name in columns)) * len(rows)  # braces, "keys":, commas
    for row in rows:
        for value in row:
            kind = value.__class__
            if kind is str:
                total += 6 * len(value) + 2
            elif value is None or kind is int or kind is float:
                total += 24
            else:
                total += len(to_json(value))
    return total


def encoded_sizes(items: Sequence[Any]) -> list[int]:
    """Each item's size as compact JSON, as the response model writes it (pydantic_core: ~5x faster than
    json.dumps), for `PageRequest.page`'s byte cap."""
    return [len(to_json(item)) for item in items]


def list_scope(user_id: str, name: str, **filters: Any) -> str:
    """What a cursor is bound to: the caller, the list, and every filter and sort of the query."""
    return json.dumps([user_id, name, sorted(filters.items())], separators=(",", ":"), default=str)
