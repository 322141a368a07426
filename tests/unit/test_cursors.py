"""Signed list cursors: round trip, and every alteration or reuse elsewhere refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import to_json

from common.cursors import (
    MAX_PAGE_BYTES,
    CursorCodec,
    PageRequest,
    encoded_sizes,
    json_size_bound,
    list_scope,
)
from common.errors import BadRequestError

CODEC = CursorCodec(b"k" * 32)
SCOPE = list_scope("user-a", "opportunities", sort="company", q=None)
positions = st.lists(st.one_of(st.text(max_size=40), st.integers(), st.none()), min_size=1, max_size=3)


@given(positions)
def test_a_cursor_carries_its_position_back(position: list[object]) -> None:
    assert CODEC.decode(SCOPE, CODEC.encode(SCOPE, position)) == position


@given(positions, st.data())
def test_any_single_character_change_is_refused(position: list[object], data: st.DataObject) -> None:
    cursor = CODEC.encode(SCOPE, position)
    index = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.sampled_from("ABCxyz019-_.=").filter(lambda c: c != cursor[index]))
    altered = cursor[:index] + replacement + cursor[index + 1 :]
    with pytest.raises(BadRequestError) as caught:
        CODEC.decode(SCOPE, altered)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "scope",
    [
        list_scope("user-b", "opportunities", sort="company", q=None),
        list_scope("user-a", "opportunities", sort="created_at", q=None),
        list_scope("user-a", "opportunities", sort="company", q="acme"),
        list_scope("user-a", "contacts", sort="company", q=None),
    ],
)
def test_a_cursor_is_refused_for_another_user_list_or_filter(scope: str) -> None:
    cursor = CODEC.encode(SCOPE, ["x", "id"])
    with pytest.raises(BadRequestError):
        CODEC.decode(scope, cursor)


def test_a_cursor_signed_with_another_key_is_refused() -> None:
    cursor = CursorCodec(b"other key").encode(SCOPE, ["x", "id"])
    with pytest.raises(BadRequestError):
        CODEC.decode(SCOPE, cursor)


@pytest.mark.parametrize("cursor", ["", ".", "a.b.c", "no-dot", "é.é", "x" * 5000, "!!!.@@@"])
def test_garbage_is_refused(cursor: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        CODEC.decode(SCOPE, cursor)
    assert caught.value.type_slug == "invalid-cursor"


def test_a_page_gives_a_cursor_only_when_more_rows_exist() -> None:
    rows = [{"id": f"id{i}", "sort_key": f"k{i}"} for i in range(4)]
    page = PageRequest(limit=3, cursor=None, codec=CODEC)
    count, cursor = page.page(SCOPE, rows)
    assert count == 3
    assert cursor is not None and CODEC.decode(SCOPE, cursor) == ["k2", "id2"]
    assert page.page(SCOPE, rows[:3]) == (3, None)
    assert PageRequest(limit=3, cursor=cursor, codec=CODEC).position(SCOPE) == ["k2", "id2"]


def test_a_page_is_cut_short_by_its_size_but_keeps_one_item() -> None:
    rows = [{"id": f"id{i}", "sort_key": f"k{i}"} for i in range(5)]
    page = PageRequest(limit=4, cursor=None, codec=CODEC)
    third = MAX_PAGE_BYTES // 3 + 1
    count, cursor = page.page(SCOPE, rows, [third] * 5)
    assert count == 2  # a third would pass the limit
    assert cursor is not None and CODEC.decode(SCOPE, cursor) == ["k1", "id1"]
    # One huge item still makes a page (it alone is within Lambda's limit: API.md caps each text).
    assert page.page(SCOPE, rows[:1], [MAX_PAGE_BYTES * 2]) == (1, None)
    count, cursor = page.page(SCOPE, rows, [MAX_PAGE_BYTES * 2] * 5)
    assert count == 1 and cursor is not None


# Text that JSON escapes or widens: quotes, backslashes, every control character, multi-byte and astral.
nasty_text = st.text(
    alphabet=st.one_of(
        st.sampled_from('"\\\x00\x01\x1f\n\t\u2028é€'),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), nasty_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=12,
)


@given(json_values)
def test_the_size_bound_is_never_below_the_encoded_size(value: object) -> None:
    bound = json_size_bound(value)
    assert bound >= len(to_json(value))
    assert bound >= len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def test_encoded_sizes_are_skipped_only_when_the_page_surely_fits() -> None:
    small = [
        {"id": f"id{i}", "job_description": "x" * 3000, "tags": ["a"], "salary_min": 10**6} for i in range(50)
    ]
    assert encoded_sizes(small) is None  # 50 items of ~3 kB: no encoding needed
    # Each item is ~120 kB of control characters as JSON (6 bytes each): exact sizes, which cut the page.
    control = [{"id": f"id{i}", "notes": "\x01" * 20_000} for i in range(30)]
    sizes = encoded_sizes(control)
    assert sizes == [len(to_json(item)) for item in control]
    rows = [{"id": item["id"], "sort_key": item["id"]} for item in control] + [{"id": "x", "sort_key": "x"}]
    count, cursor = PageRequest(limit=30, cursor=None, codec=CODEC).page(SCOPE, rows, sizes)
    assert count == MAX_PAGE_BYTES // sizes[0] and cursor is not None
    # A page the bound cannot clear but whose real size fits is not cut.
    plain = [{"id": f"id{i}", "notes": "x" * 100_000} for i in range(20)]
    plain_sizes = encoded_sizes(plain)
    assert plain_sizes is not None and sum(plain_sizes) < MAX_PAGE_BYTES
    rows = [{"id": item["id"], "sort_key": item["id"]} for item in plain]
    assert PageRequest(limit=20, cursor=None, codec=CODEC).page(SCOPE, rows, plain_sizes) == (20, None)
