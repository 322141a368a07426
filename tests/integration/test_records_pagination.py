"""Keyset pagination of every records list, as properties (API.md, Conventions: lists and cursors; records
design, General: "items never duplicated or skipped while others are created/deleted between pages";
cursors signed and bound to the user, the list, its filters and sort).

Each test uses one user and one database; hypothesis examples share them and keep to their own scope (a
unique tag or a fresh opportunity to filter by), so that examples do not see each other's items.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import bearer, register
from tests.problems import assert_problem
from tests.records import (
    assert_invalid,
    case,
    create_activity,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
    ids,
    list_all,
    list_page,
)

# Every example makes HTTP calls: few examples, no deadline. Derandomized so that a run is repeatable.
HTTP_PROPERTY = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIST_PATHS = ("/v1/opportunities", "/v1/interviews", "/v1/contacts", "/v1/notes", "/v1/activity")
SORTS = ("updated_at", "created_at", "company", "applied_at")
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

Key = Callable[[dict[str, Any]], Any]


# ---- expected orders, computed from the items themselves ---------------------------------------


@dataclass(frozen=True)
class Order:
    """A list's order: items sorted by `key` (descending if `descending`); items with equal keys form a
    group whose inner order API.md leaves open (a tie-breaker is required, its direction is not)."""

    key: Key
    descending: bool = False

    def groups(self, items: list[dict[str, Any]]) -> list[set[str]]:
        ordered = sorted(items, key=self.key, reverse=self.descending)
        return [set(ids(list(group))) for _, group in itertools.groupby(ordered, key=self.key)]

    def assert_sorted(self, items: list[dict[str, Any]]) -> None:
        keys = [self.key(item) for item in items]
        pairs = itertools.pairwise(keys)
        bad = [(a, b) for a, b in pairs if (a < b if self.descending else a > b)]
        assert not bad, bad[:3]


def assert_in_order(actual: list[str], groups: list[set[str]]) -> None:
    """`actual` lists the groups one after the other, each group's ids in any order."""
    assert len(actual) == sum(len(group) for group in groups), (len(actual), [len(g) for g in groups])
    position = 0
    for group in groups:
        chunk = actual[position : position + len(group)]
        assert set(chunk) == group, (position, chunk, group)
        position += len(group)


def by_company(item: dict[str, Any]) -> Any:
    return (item["company"].casefold(), item["id"])  # A->Z, case-insensitive; ties by id


def by_schedule(item: dict[str, Any]) -> Any:
    return (item["scheduled_at"] is None, item["scheduled_at"] or "", item["id"])  # unscheduled last


def by_name(item: dict[str, Any]) -> Any:
    return (item["name"].casefold(), item["id"])


def by_applied(item: dict[str, Any]) -> Any:
    # Newest first, nulls last: with `descending`, a null must sort below every time.
    return (item["applied_at"] is not None, item["applied_at"] or "")


OPPORTUNITY_ORDERS = {
    "company": Order(by_company),
    "created_at": Order(lambda i: i["created_at"], descending=True),
    "updated_at": Order(lambda i: i["updated_at"], descending=True),
    "applied_at": Order(by_applied, descending=True),
}
ORDERS = {
    "/v1/interviews": Order(by_schedule),
    "/v1/contacts": Order(by_name),
    "/v1/notes": Order(lambda i: i["created_at"], descending=True),
    "/v1/activity": Order(lambda i: i["occurred_at"], descending=True),
}


def order_of(path: str, params: dict[str, Any]) -> Order:
    if path == "/v1/opportunities":
        return OPPORTUNITY_ORDERS[params.get("sort", "updated_at")]
    return ORDERS[path]


def walk(
    client: TestClient,
    headers: dict[str, str],
    path: str,
    params: dict[str, Any],
    limits: list[int],
    between: Callable[[int], None] | None = None,
) -> list[list[dict[str, Any]]]:
    """The pages of a list, each page asked with the next limit of `limits` (cycling); `between(n)` runs
    after page n. Every page but the last is full; the last has next_cursor null."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for number in range(1000):
        limit = limits[number % len(limits)]
        query = {**params, "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        page = list_page(client, headers, path, **query)
        assert len(page["items"]) <= limit, (path, query)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(page["items"]) == limit, (path, query, "a page before the last is not full")
        if between is not None:
            between(number)
    raise AssertionError(f"{path} {params}: no last page after 1000 pages")


def flat(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [item for page in pages for item in page]


# ---- a fixed world for the read-only properties ------------------------------------------------


Query = tuple[str, dict[str, Any], list[dict[str, Any]] | None]  # path, params, expected items (None: any)


@dataclass
class World:
    headers: dict[str, str]
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    interviews: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)


COMPANIES = [
    "acme",
    "Acme",
    "ACME Widgets",
    "Beta",
    "beta",
    "Gamma",
    "delta",
    "Epsilon",
    "zeta",
    "Eta",
    "Ómega",
]
STATUSES = ("wishlist", "applied", "screening", "interviewing", "offer", "accepted", "rejected", "withdrawn")
TAGS = [["remote"], ["Remote", "python"], [], ["python"], ["onsite"]]


def words_match(query: str, item: dict[str, Any]) -> bool:
    """FTS semantics of the opportunity search for plain ASCII words: each word prefixes some word."""
    text = " ".join([item["company"], item["role"], item["job_description"] or "", *item["tags"]]).lower()
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    return all(any(word.startswith(term) for word in words) for term in query.lower().split())


@pytest.fixture
def world(client: TestClient) -> World:
    headers = bearer(register(client, email="pager@example.com", name="Pager"))
    w = World(headers)
    for n in range(26):
        fields: dict[str, Any] = {
            "company": COMPANIES[n % len(COMPANIES)],
            "role": ("Engineer", "Engineering Manager", "Designer")[n % 3],
            "status": STATUSES[n % len(STATUSES)],
            "tags": TAGS[n % len(TAGS)],
            "archived": n % 6 == 5,
        }
        if n % 4 != 0:  # distinct times but one tie (n = 2 and 3); null for every fourth
            fields["applied_at"] = (
                f"2026-03-{min(n, 2):02d}T10:00:00+02:00"
                if n in (2, 3)
                else (f"2026-03-{n:02d}T10:00:00+02:00")
            )
        w.opportunities.append(create_opportunity(client, headers, **fields))
    # Touch some so that updated_at order differs from created_at order.
    for n in (3, 11, 0, 20, 7):
        response = client.patch(
            f"/v1/opportunities/{w.opportunities[n]['id']}", json={"priority": "high"}, headers=headers
        )
        assert response.status_code == 200, response.text
        w.opportunities[n] = response.json()
    first, second = w.opportunities[0]["id"], w.opportunities[1]["id"]
    schedules = [
        None,
        "2026-12-01T10:00:00Z",
        "2026-12-01T12:00:00+02:00",  # the same instant as the one before: tie broken by id
        "2026-11-30T23:00:00-05:00",
        None,
        "2026-12-03T08:00:00Z",
        "2026-12-01T10:00:00Z",
        "2026-12-02T00:00:00+00:00",
        None,
        "2026-12-05T18:30:00+01:00",
        "2026-11-29T09:15:00Z",
        "2026-12-01T10:00:00Z",
    ]
    outcomes = ("pending", "passed", "failed", "cancelled")
    for n, when in enumerate(schedules):
        extra = {"scheduled_at": when} if when else {}
        w.interviews.append(
            create_interview(client, headers, (first, second)[n % 2], outcome=outcomes[n % 4], **extra)
        )
    names = ["bob", "Alice", "carol", "alice", "Bob", "Dave", "eve", "Eve", "mallory", "Zoe", "al", "Al"]
    for n, name in enumerate(names):
        linked = [first] if n % 2 else []
        w.contacts.append(
            create_contact(
                client, headers, name=name, company=("Acme", "Globex")[n % 2], opportunity_ids=linked
            )
        )
    for n in range(12):
        links = {"opportunity_id": (first, second)[n % 2]} if n % 3 else {}
        if n % 4 == 1:
            links["contact_id"] = w.contacts[n]["id"]
        w.notes.append(create_note(client, headers, body=f"Note {n}", **links))
    for n in range(8):
        when = ("2026-01-01T00:00:00Z", "2026-06-01T12:00:00+02:00", "2026-06-01T10:00:00Z")[n % 3]
        create_activity(client, headers, kind=("email", "call")[n % 2], summary=f"A{n}", occurred_at=when)

    live = [o for o in w.opportunities if not o["archived"]]
    archived = [o for o in w.opportunities if o["archived"]]
    for sort in SORTS:
        w.queries.append(("/v1/opportunities", {"sort": sort}, live))
        w.queries.append(("/v1/opportunities", {"sort": sort, "archived": "true"}, archived))
        w.queries.append(
            ("/v1/opportunities", {"sort": sort, "tag": "PYTHON"}, [o for o in live if "python" in o["tags"]])
        )
        w.queries.append(
            ("/v1/opportunities", {"sort": sort, "q": "acme"}, [o for o in live if words_match("acme", o)])
        )
    w.queries.append(("/v1/opportunities", {}, live))
    w.queries.append(
        ("/v1/opportunities", {"status": "applied"}, [o for o in live if o["status"] == "applied"])
    )
    w.queries.append(("/v1/interviews", {}, w.interviews))
    w.queries.append(
        (
            "/v1/interviews",
            {"opportunity_id": first},
            [i for i in w.interviews if i["opportunity_id"] == first],
        )
    )
    w.queries.append(
        ("/v1/interviews", {"outcome": "pending"}, [i for i in w.interviews if i["outcome"] == "pending"])
    )
    window = ("2026-12-01T10:00:00Z", "2026-12-03T08:00:00Z")
    w.queries.append(
        (
            "/v1/interviews",
            {"from": window[0], "to": window[1]},
            [
                i
                for i in w.interviews
                if i["scheduled_at"] and window[0][:19] <= i["scheduled_at"][:19] < window[1][:19]
            ],
        )
    )
    w.queries.append(("/v1/contacts", {}, w.contacts))
    w.queries.append(("/v1/contacts", {"q": "AL"}, [c for c in w.contacts if "al" in c["name"].lower()]))
    w.queries.append(
        ("/v1/contacts", {"opportunity_id": first}, [c for c in w.contacts if first in c["opportunity_ids"]])
    )
    w.queries.append(("/v1/notes", {}, w.notes))
    w.queries.append(
        ("/v1/notes", {"opportunity_id": second}, [n for n in w.notes if n["opportunity_id"] == second])
    )
    w.queries.append(("/v1/activity", {}, None))  # service entries too: the expected set is the single page
    w.queries.append(("/v1/activity", {"kind": "email"}, None))
    return w


def check_walk(client: TestClient, world: World, query: Query, limits: list[int]) -> None:
    path, params, expected = query
    whole = list_page(client, world.headers, path, **params, limit=200)
    assert whole["next_cursor"] is None
    reference = whole["items"]
    order = order_of(path, params)
    if expected is not None:
        assert_in_order(ids(reference), order.groups(expected))
    else:
        order.assert_sorted(reference)
    walked = flat(walk(client, world.headers, path, params, limits))
    assert len(set(ids(walked))) == len(walked), "an item appeared twice"
    assert ids(walked) == ids(reference)
    assert walked == reference


def test_every_query_walks_in_order(client: TestClient, world: World) -> None:
    """Each list, sort and filter of the world, walked one item at a time and in pages of 2 and 5."""
    assert sum(1 for o in world.opportunities if o["archived"]) >= 3
    failures: list[str] = []
    for query in world.queries:
        path, params, expected = query
        # Several pages, and ties among the items, for the walk to mean something.
        assert expected is None or len(expected) >= 2, (path, params)
        for limits in ([1], [2, 5]):
            with case(failures, f"{path} {params} limits {limits}"):
                check_walk(client, world, query, limits)
    assert not failures, "\n".join(failures)


@HTTP_PROPERTY
@given(data=st.data())
def test_paging_yields_every_item_once_in_order(
    client: TestClient, world: World, data: st.DataObject
) -> None:
    query = data.draw(st.sampled_from(world.queries), label="query")
    limits = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=4), label="limits")
    check_walk(client, world, query, limits)


def test_default_page_size_is_50_and_200_is_allowed(client: TestClient) -> None:
    headers = bearer(register(client, email="many@example.com", name="Many"))
    names = [f"Person {k:03d}" for k in range(130)]
    random.Random(7).shuffle(names)
    created = [create_contact(client, headers, name=name) for name in names]
    expected = ids(sorted(created, key=by_name))
    first = list_page(client, headers, "/v1/contacts")
    assert len(first["items"]) == 50 and first["next_cursor"] is not None
    pages = walk(client, headers, "/v1/contacts", {}, [50])
    assert [len(page) for page in pages] == [50, 50, 30]
    assert ids(flat(pages)) == expected
    # Without `limit` every page holds 50 too, to the end.
    assert ids(list_all(client, headers, "/v1/contacts")) == expected
    whole = list_page(client, headers, "/v1/contacts", limit=200)
    assert ids(whole["items"]) == expected and whole["next_cursor"] is None
    exact = list_page(client, headers, "/v1/contacts", limit=130)
    assert ids(exact["items"]) == expected and exact["next_cursor"] is None
    assert ids(flat(walk(client, headers, "/v1/contacts", {}, [7, 200, 1, 33]))) == expected


def test_limit_out_of_range_is_422(client: TestClient) -> None:
    headers = bearer(register(client, email="limits@example.com", name="Limits"))
    opportunity = create_opportunity(client, headers)
    create_interview(client, headers, opportunity["id"])
    create_contact(client, headers)
    create_note(client, headers)
    failures: list[str] = []
    for path in LIST_PATHS:
        for limit in ("0", "201", "-1", "abc", "1.5", "1e2", "99999999999999999999"):
            with case(failures, f"{path}?limit={limit}"):
                assert_invalid(client.get(path, params={"limit": limit}, headers=headers), ["query", "limit"])
        for limit in (1, 200):
            page = list_page(client, headers, path, limit=limit)
            assert 1 <= len(page["items"]) <= limit, (path, limit)
    assert not failures, "\n".join(failures)


# ---- creates and deletes between pages ---------------------------------------------------------


@dataclass
class Scope:
    """Items of one example, kept apart from other examples' items by a filter."""

    path: str
    params: dict[str, Any]
    create: Callable[[Any], dict[str, Any]]
    delete: Callable[[str], None] | None


SCOPES = (*(f"opportunities:{sort}" for sort in SORTS), "interviews", "notes", "contacts", "activity")
VALUES: dict[str, list[Any]] = {
    "opportunities": ["acme", "Acme", "beta", "Beta", "gamma"],
    "opportunities:applied_at": [
        None,
        "2026-03-01T10:00:00Z",
        "2026-03-02T10:00:00Z",
        "2026-03-02T12:00:00+02:00",
    ],
    "interviews": [None, "2026-12-01T10:00:00Z", "2026-12-01T12:00:00+02:00", "2026-12-02T09:00:00Z"],
    "contacts": ["al", "Al", "bob", "Carol", "carol"],
    "activity": ["2026-01-01T00:00:00Z", "2026-01-01T02:00:00+02:00", "2026-02-01T00:00:00Z"],
    "notes": [None],
}


def make_scope(client: TestClient, headers: dict[str, str], name: str) -> Scope:
    kind, _, sort = name.partition(":")

    def delete(path: str) -> Callable[[str], None]:
        def run(item_id: str) -> None:
            assert client.delete(f"{path}/{item_id}", headers=headers).status_code == 204

        return run

    if kind == "opportunities":
        tag = uuid.uuid4().hex[:12]

        def create_opp(value: Any) -> dict[str, Any]:
            if sort == "applied_at":
                return create_opportunity(client, headers, tags=[tag], applied_at=value)
            return create_opportunity(client, headers, company=value, tags=[tag])

        return Scope("/v1/opportunities", {"tag": tag, "sort": sort}, create_opp, delete("/v1/opportunities"))
    parent = create_opportunity(client, headers, company="Scope")["id"]
    params = {"opportunity_id": parent}
    if kind == "interviews":

        def create_iv(value: Any) -> dict[str, Any]:
            return create_interview(client, headers, parent, **({"scheduled_at": value} if value else {}))

        return Scope("/v1/interviews", params, create_iv, delete("/v1/interviews"))
    if kind == "notes":
        return Scope(
            "/v1/notes",
            params,
            lambda _: create_note(client, headers, opportunity_id=parent),
            delete("/v1/notes"),
        )
    if kind == "contacts":
        return Scope(
            "/v1/contacts",
            params,
            lambda value: create_contact(client, headers, name=value, opportunity_ids=[parent]),
            delete("/v1/contacts"),
        )
    # Activity entries cannot be deleted: only creates happen between its pages.
    return Scope(
        "/v1/activity",
        params,
        lambda value: create_activity(client, headers, opportunity_id=parent, occurred_at=value),
        None,
    )


@pytest.fixture
def pager(client: TestClient) -> dict[str, str]:
    return bearer(register(client, email="walker@example.com", name="Walker"))


@settings(HTTP_PROPERTY, max_examples=25)
@given(data=st.data())
def test_creates_and_deletes_between_pages_never_duplicate_or_skip(
    client: TestClient, pager: dict[str, str], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(SCOPES), label="list")
    values = VALUES.get(name, VALUES[name.partition(":")[0]])
    scope = make_scope(client, pager, name)
    initial = [
        scope.create(value) for value in data.draw(st.lists(st.sampled_from(values), min_size=2, max_size=8))
    ]
    limit = data.draw(st.integers(1, 3), label="limit")
    alive = {item["id"]: item for item in initial}
    deleted_at: dict[str, int] = {}  # id -> pages fetched before it was deleted
    created: set[str] = set()
    pages_done = 0

    def between(number: int) -> None:
        nonlocal pages_done
        pages_done = number + 1
        ops = data.draw(
            st.lists(st.sampled_from(["create", "delete"]), max_size=2), label=f"ops after page {number}"
        )
        for op in ops:
            if op == "create":
                created.add(scope.create(data.draw(st.sampled_from(values)))["id"])
            elif scope.delete is not None and alive:
                victim = data.draw(st.sampled_from(sorted(alive)))
                scope.delete(victim)
                del alive[victim]
                deleted_at[victim] = pages_done

    pages = walk(client, pager, scope.path, scope.params, [limit], between)
    seen = flat(pages)
    seen_ids = ids(seen)
    assert len(seen_ids) == len(set(seen_ids)), "an item appeared twice"
    # Every item that existed for the whole walk appears (exactly once, by the line above).
    assert set(alive) <= set(seen_ids), set(alive) - set(seen_ids)
    # A deleted item appears only on a page fetched before its deletion.
    for page_number, page in enumerate(pages):
        for item in page:
            if item["id"] in deleted_at:
                assert page_number < deleted_at[item["id"]], (item["id"], page_number, deleted_at[item["id"]])
    # Nothing from outside the scope, and the walk is in the list's order.
    initial_ids = {item["id"] for item in initial}
    assert set(seen_ids) <= initial_ids | created | {e["id"] for e in seen if scope.path == "/v1/activity"}
    order_of(scope.path, scope.params).assert_sorted(seen)


# ---- tampered and misused cursors --------------------------------------------------------------


@pytest.fixture
def cursors(client: TestClient) -> tuple[dict[str, str], dict[str, str]]:
    """A user with two items in every list, and a real first-page cursor of each list."""
    headers = bearer(register(client, email="cursors@example.com", name="Cursors"))
    opportunities = [
        create_opportunity(client, headers, company=c, tags=["remote"]) for c in ("Acme", "Beta")
    ]
    for opportunity in opportunities:
        create_interview(client, headers, opportunity["id"], scheduled_at="2026-12-01T10:00:00Z")
        create_contact(client, headers, name=f"Contact of {opportunity['company']}")
        create_note(client, headers, opportunity_id=opportunity["id"])
    found = {}
    for path in LIST_PATHS:
        page = list_page(client, headers, path, limit=1)
        assert page["next_cursor"], path
        found[path] = page["next_cursor"]
    return headers, found


def assert_bad_cursor(
    client: TestClient, headers: dict[str, str], path: str, cursor: str, **params: Any
) -> None:
    response = client.get(path, params={**params, "cursor": cursor, "limit": 1}, headers=headers)
    assert_problem(response, 400, (path, cursor, params))


TAMPERS: dict[str, Callable[[str], str]] = {
    "first char flipped": lambda c: ("B" if c[0] != "B" else "C") + c[1:],
    "middle char flipped": lambda c: (
        c[: len(c) // 2] + ("x" if c[len(c) // 2] != "x" else "y") + c[len(c) // 2 + 1 :]
    ),
    "last char flipped": lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
    "last char +1": lambda c: c[:-1] + B64URL[(B64URL.index(c[-1]) + 1) % 64] if c[-1] in B64URL else c + "A",
    "truncated by one": lambda c: c[:-1],
    "truncated to half": lambda c: c[: len(c) // 2],
    "payload only": lambda c: c.split(".")[0],
    "dot removed": lambda c: c.replace(".", ""),
    "appended A": lambda c: c + "A",
    "appended =": lambda c: c + "=",
    "appended !": lambda c: c + "!",
    "appended space": lambda c: c + " ",
    "prepended A": lambda c: "A" + c,
    "parts swapped": lambda c: ".".join(reversed(c.split("."))),
    "doubled": lambda c: c + c,
    "garbage": lambda _: "not-a-cursor",
    "two dots": lambda _: "a.b.c",
    "json": lambda _: '{"after": 1}',
    "long": lambda c: c + "A" * 5000,
}


def test_tampered_cursors_are_400(client: TestClient, cursors: tuple[dict[str, str], dict[str, str]]) -> None:
    headers, found = cursors
    failures: list[str] = []
    for path, cursor in found.items():
        assert list_page(client, headers, path, cursor=cursor, limit=1)["items"]  # the real one works
        for label, tamper in TAMPERS.items():
            bad = tamper(cursor)
            assert bad != cursor, label
            with case(failures, f"{path} {label} ({cursor!r} -> {bad!r})"):
                assert_bad_cursor(client, headers, path, bad)
    assert not failures, "\n".join(failures)


@HTTP_PROPERTY
@given(data=st.data())
def test_randomly_tampered_cursors_are_400(
    client: TestClient, cursors: tuple[dict[str, str], dict[str, str]], data: st.DataObject
) -> None:
    headers, found = cursors
    path = data.draw(st.sampled_from(LIST_PATHS), label="path")
    cursor = found[path]
    how = data.draw(st.sampled_from(["flip", "truncate", "append", "garbage"]), label="how")
    if how == "flip":
        position = data.draw(st.integers(0, len(cursor) - 1), label="position")
        char = data.draw(
            st.sampled_from(B64URL + ".=").filter(lambda ch: ch != cursor[position]), label="char"
        )
        bad = cursor[:position] + char + cursor[position + 1 :]
    elif how == "truncate":
        bad = cursor[: data.draw(st.integers(1, len(cursor) - 1), label="keep")]
    elif how == "append":
        bad = cursor + data.draw(st.text(alphabet=B64URL + ".=", min_size=1, max_size=6), label="tail")
    else:
        bad = data.draw(
            st.text(min_size=1, max_size=80).filter(lambda text: text.strip() != ""), label="garbage"
        )
    if bad != cursor:
        assert_bad_cursor(client, headers, path, bad)


def test_cursors_are_bound_to_user_list_filters_and_sort(
    client: TestClient, cursors: tuple[dict[str, str], dict[str, str]]
) -> None:
    headers, found = cursors
    other = bearer(register(client, email="other@example.com", name="Other"))
    opportunity = create_opportunity(client, other)
    create_opportunity(client, other)
    create_interview(client, other, opportunity["id"])
    create_contact(client, other)
    create_note(client, other)
    failures: list[str] = []

    def bad(label: str, who: dict[str, str], path: str, cursor: str, **params: Any) -> None:
        with case(failures, label):
            assert_bad_cursor(client, who, path, cursor, **params)

    # Another user's cursor.
    for path, cursor in found.items():
        bad(f"{path} cursor of another user", other, path, cursor)
    # Another list's cursor.
    for (path, cursor), target in itertools.product(found.items(), LIST_PATHS):
        if target != path:
            bad(f"cursor of {path} on {target}", headers, target, cursor)
    # The same list with another sort or other filters.
    by_company = list_page(client, headers, "/v1/opportunities", sort="company", limit=1)["next_cursor"]
    assert by_company
    for params in (
        {"sort": "created_at"},
        {"sort": "updated_at"},
        {"sort": "applied_at"},
        {"sort": "company", "status": "wishlist"},
        {"sort": "company", "archived": "true"},
        {"sort": "company", "tag": "remote"},
        {"sort": "company", "q": "acme"},
    ):
        bad(f"sort=company cursor with {params}", headers, "/v1/opportunities", by_company, **params)
    opportunity_id = list_page(client, headers, "/v1/opportunities", limit=1)["items"][0]["id"]
    for path, params in (
        ("/v1/interviews", {"opportunity_id": opportunity_id}),
        ("/v1/interviews", {"outcome": "pending"}),
        ("/v1/interviews", {"from": "2026-01-01T00:00:00Z"}),
        ("/v1/contacts", {"q": "contact"}),
        ("/v1/contacts", {"opportunity_id": opportunity_id}),
        ("/v1/notes", {"opportunity_id": opportunity_id}),
        ("/v1/activity", {"kind": "created"}),
        ("/v1/activity", {"opportunity_id": opportunity_id}),
    ):
        bad(f"{path} cursor with {params}", headers, path, found[path], **params)
    assert not failures, "\n".join(failures)
    # Control: the same list with the same filters and only another page size accepts it.
    for path, cursor in found.items():
        assert list_page(client, headers, path, cursor=cursor, limit=5)["items"], path
    page = list_page(client, headers, "/v1/opportunities", sort="company", cursor=by_company, limit=3)
    assert [item["company"] for item in page["items"]] == ["Beta"]
