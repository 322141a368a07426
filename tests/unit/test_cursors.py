"""Signed list cursors: round trip, and every alteration or reuse elsewhere refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.cursors import (
    MAX_PAGE_BYTES,
    CursorCodec,
    PageRequest,
    encoded_sizes,
    list_scope,
    rows_size_bound,
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


def test_a_cursor_is_an_hmac_of_the_scope_and_its_payload() -> None:
    """The format cursors already handed out were made in (json.dumps payload): they stay valid."""
    payload = base64.urlsafe_b64encode(json.dumps(["k é", "id1"]).encode()).rstrip(b"=").decode()
    tag = hmac.new(b"k" * 32, SCOPE.encode() + b"\x00" + payload.encode(), hashlib.sha256).digest()[:16]
    cursor = f"{payload}.{base64.urlsafe_b64encode(tag).rstrip(b'=').decode()}"
    assert CODEC.decode(SCOPE, cursor) == ["k é", "id1"]
    assert (
        CODEC.encode(SCOPE, ["k", "id1"]).split(".")[0]
        == base64.urlsafe_b64encode(b'["k","id1"]').rstrip(b"=").decode()
    )


any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
filter_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    any_text,
    st.datetimes(),
    st.lists(any_text, max_size=3),
)


@given(
    st.text(max_size=30),
    st.text(max_size=20),
    st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), filter_values, max_size=6),
)
def test_a_list_scope_is_the_json_cursors_were_signed_over(
    user_id: str, name: str, filters: dict[str, Any]
) -> None:
    expected = json.dumps([user_id, name, sorted(filters.items())], separators=(",", ":"), default=str)
    assert list_scope(user_id, name, **filters) == expected


def test_a_page_gives_a_cursor_only_when_more_rows_exist() -> None:
    rows = [{"id": f"id{i}", "sort_key": f"k{i}"} for i in range(4)]
    page = PageRequest(limit=3, cursor=None, codec=CODEC)
    count, cursor = page.page(SCOPE, rows)
    assert count == 3
    assert cursor is not None and CODEC.decode(SCOPE, cursor) == ["k2", "id2"]
    assert page.page(SCOPE, rows[:3]) == (3, None)
    assert PageRequest(limit=3, cursor=cursor, codec=CODEC).position(SCOPE) == ["k2", "id2"]


def test_a_page_of_row_tuples_takes_its_cursor_from_the_last_row_shown() -> None:
    rows = [(f"id{i}", "company", f"k{i}") for i in range(5)]  # item columns, then the sort key
    asked: list[Any] = []

    def position(row: tuple[str, ...]) -> tuple[str, str]:
        asked.append(row)
        return row[-1], row[0]

    count, cursor = PageRequest(limit=3, cursor=None, codec=CODEC).page(SCOPE, rows, None, position)
    assert count == 3 and asked == [rows[2]]
    assert cursor is not None and CODEC.decode(SCOPE, cursor) == ["k2", "id2"]


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
# A column value as the database returns it, and what a view may make of it: JSON text of a list of
# strings parsed (tags, interviewers), an integer turned into a boolean (archived).
columns_values = st.one_of(
    st.tuples(nasty_text, st.none()),
    st.tuples(st.none(), st.none()),
    st.tuples(st.integers(-(2**63), 2**63 - 1), st.sampled_from([None, "bool"])),
    st.tuples(st.floats(allow_nan=False, allow_infinity=False), st.none()),
    st.tuples(st.lists(nasty_text, max_size=5), st.just("json")),
)


@given(
    st.lists(st.lists(st.tuples(st.text(min_size=1, max_size=20), columns_values), max_size=8), max_size=5)
)
def test_the_rows_size_bound_is_never_below_the_items_encoded_size(
    table: list[list[tuple[str, Any]]],
) -> None:
    width = min((len(row) for row in table), default=0)
    if not table or width == 0:
        return
    columns = [name for name, _ in table[0][:width]]
    rows, items = [], []
    for row in table:
        values, item = [], {}
        for name, (value, view) in zip(columns, (cell for _, cell in row[:width]), strict=True):
            if view == "json":
                values.append(json.dumps(value, ensure_ascii=False))
                item[name] = json.loads(values[-1])
            else:
                values.append(value)
                item[name] = bool(value) if view == "bool" else value
        rows.append(tuple(values))
        items.append(item)
    _assert_bound_holds(columns, rows, items)


def _assert_bound_holds(columns: list[str], rows: list[tuple[Any, ...]], items: list[dict[str, Any]]) -> None:
    assert rows_size_bound(columns, rows) >= sum(encoded_sizes(items))
    assert rows_size_bound(columns, rows) >= sum(
        len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) for item in items
    )


# A column of one kind, as a table's column is (nullable): the bound counts such a column in one go.
column_kinds = st.sampled_from(["text", "integer", "boolean", "float", "json"])


@given(st.lists(column_kinds, min_size=1, max_size=6), st.integers(1, 6), st.data())
def test_the_rows_size_bound_holds_for_columns_of_one_kind(kinds: list[str], count: int, data: Any) -> None:
    values_of = {
        "text": nasty_text,
        "integer": st.integers(-(2**63), 2**63 - 1),
        "boolean": st.sampled_from([0, 1]),
        "float": st.floats(allow_nan=False, allow_infinity=False),
        "json": st.lists(nasty_text, max_size=5),
    }
    columns = [f"c{i}" for i in range(len(kinds))]
    rows, items = [], []
    for _ in range(count):
        values, item = [], {}
        for name, kind in zip(columns, kinds, strict=True):
            value = data.draw(st.one_of(st.none(), values_of[kind]) if kind != "json" else values_of[kind])
            values.append(json.dumps(value, ensure_ascii=False) if kind == "json" else value)
            item[name] = bool(value) if kind == "boolean" and value is not None else value
        rows.append(tuple(values))
        items.append(item)
    _assert_bound_holds(columns, rows, items)


def test_encoded_sizes_are_the_compact_json_the_response_writes() -> None:
    items = [{"id": "a", "notes": 'say "hi"\n', "tags": ["é"], "n": None}, {"id": "b"}]
    assert encoded_sizes(items) == [
        len(json.dumps(i, ensure_ascii=False, separators=(",", ":")).encode()) for i in items
    ]


def test_the_bound_clears_a_usual_page_and_not_a_page_of_long_texts() -> None:
    columns = ["id", "job_description", "tags", "salary_min", "archived"]
    usual = [(f"id{i}", "x" * 3000, '["a","b"]', 10**6, 0) for i in range(50)]
    assert rows_size_bound(columns, usual) <= MAX_PAGE_BYTES
    long = [(f"id{i}", "x" * 100_000, "[]", None, 1) for i in range(20)]
    assert rows_size_bound(columns, long) > MAX_PAGE_BYTES


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1f", "\U0001f600", '"'])
def test_the_bound_holds_and_is_tight_for_the_widest_characters(char: str) -> None:
    item = {"i": "x", "t": char * 1000}
    exact = sum(encoded_sizes([item]))
    bound = rows_size_bound(["i", "t"], [("x", char * 1000)])
    assert exact <= bound
    if char < " ":  # 6 bytes each: the bound is the exact size give or take the keys' slack
        assert bound - exact < 40
