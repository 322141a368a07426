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
from collections.abc import Mapping, Sequence
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


def json_size_bound(value: Any) -> int:
    """At least the size of `value` as JSON in UTF-8, from string lengths alone (no encoding): a character
    takes at most 6 bytes in JSON (a control character as `\\u001f`; UTF-8 needs at most 4)."""
    kind = value.__class__
    if kind is str:
        return 6 * len(value) + 2
    if value is None or kind is bool:
        return 5
    if kind is int:
        return len(str(value))
    if kind is float:
        return max(len(repr(value)), 9)
    if isinstance(value, Mapping):
        return 2 + sum(json_size_bound(str(k)) + json_size_bound(v) + 2 for k, v in value.items())
    if isinstance(value, list | tuple):
        return 2 + sum(json_size_bound(v) + 1 for v in value)
    return len(to_json(value))


def encoded_sizes(items: Sequence[Any]) -> list[int] | None:
    """Each item's size as compact JSON (what the response model writes), for `PageRequest.page`'s byte cap;
    None when an upper bound from string lengths already shows the items fit together, which is the
    usual page and costs no encoding (encoding every item to measure it was ~1/5 of a list request)."""
    if sum(json_size_bound(item) for item in items) <= MAX_PAGE_BYTES:
        return None
    return [len(to_json(item)) for item in items]


def list_scope(user_id: str, name: str, **filters: Any) -> str:
    """What a cursor is bound to: the caller, the list, and every filter and sort of the query."""
    return json.dumps([user_id, name, sorted(filters.items())], separators=(",", ":"), default=str)
