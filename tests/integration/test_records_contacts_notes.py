"""Contacts and notes over HTTP: CRUD, validation, ownership of linked ids, search, filters, order, and what
deleting one does to the other (API.md, Contacts, notes, activity; records design, Contacts and Notes)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.db import get_database
from tests.records import (
    CONTACT_FIELDS,
    NOTE_FIELDS,
    TIME_Z,
    assert_invalid,
    assert_not_found,
    auth_headers,
    case,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
    ids,
    list_all,
    parse_time,
)

CONTACT_OPTIONAL = ("email", "phone", "company", "title", "linkedin_url", "notes")
NOTE_LINKS = ("opportunity_id", "interview_id", "contact_id")
READ_ONLY = {
    "id": "0" * 32,
    "user_id": "0" * 32,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


# ---- helpers -----------------------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    """Rows per table: a rejected request must leave every count as it was."""
    db = get_database()
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows]
    return {name: int(db.execute(f'SELECT count(*) FROM "{name}"').scalar()) for name in names}


def get(client: TestClient, headers: dict[str, str], path: str) -> dict[str, Any]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.text)
    return dict(response.json())


def without_updated_at(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "updated_at"}


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


@pytest.fixture
def other(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "bob@example.com")


@pytest.fixture
def opportunities(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return [
        create_opportunity(client, headers, company=company, role="Engineer")
        for company in ("Initech", "Globex", "Umbrella")
    ]


# ---- contacts: create and read -----------------------------------------------------------------


def test_contact_create_minimal_and_full(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    minimal = create_contact(client, headers, name="Grace Hopper")
    assert set(minimal) >= CONTACT_FIELDS
    assert minimal["name"] == "Grace Hopper"
    assert minimal["opportunity_ids"] == []
    for name in CONTACT_OPTIONAL:
        assert minimal[name] is None, name
    assert TIME_Z.match(minimal["created_at"]) and TIME_Z.match(minimal["updated_at"])
    assert get(client, headers, f"/v1/contacts/{minimal['id']}") == minimal

    first, second, _ = opportunities
    body = {
        "name": "Ada Lovelace",
        "email": "Ada.Lovelace@Example.COM",
        "phone": "+44 20 7946 0958",
        "company": "Analytical Engines Ltd",
        "title": "Head of Engineering",
        "linkedin_url": "https://www.linkedin.com/in/ada-lovelace",
        "notes": "Met at the meetup.\nPrefers email.",
        "opportunity_ids": [first["id"], second["id"], first["id"]],
    }
    full = create_contact(client, headers, **body)
    expected = {**body, "email": "ada.lovelace@example.com", "opportunity_ids": [first["id"], second["id"]]}
    for name, value in expected.items():
        assert full[name] == value, name
    assert get(client, headers, f"/v1/contacts/{full['id']}") == full
    assert full["id"] != minimal["id"]


def test_contact_invalid_create_is_422_and_writes_nothing(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    own = opportunities[0]["id"]
    cases: list[tuple[str, dict[str, Any], list[Any]]] = [
        ("name missing", {"email": "a@example.com"}, ["body", "name"]),
        ("name empty", {"name": ""}, ["body", "name"]),
        ("name blank", {"name": "   "}, ["body", "name"]),
        ("name null", {"name": None}, ["body", "name"]),
        ("name too long", {"name": "x" * 301}, ["body", "name"]),
        ("name not text", {"name": 5}, ["body", "name"]),
        ("name control char", {"name": "Ada\nLovelace"}, ["body", "name"]),
        ("email invalid", {"name": "A", "email": "not-an-email"}, ["body", "email"]),
        ("email two @", {"name": "A", "email": "ada@@example.com"}, ["body", "email"]),
        ("email empty", {"name": "A", "email": ""}, ["body", "email"]),
        ("email too long", {"name": "A", "email": "a" * 300 + "@example.com"}, ["body", "email"]),
        ("phone empty", {"name": "A", "phone": ""}, ["body", "phone"]),
        ("phone too long", {"name": "A", "phone": "1" * 51}, ["body", "phone"]),
        ("phone control char", {"name": "A", "phone": "555\n1234"}, ["body", "phone"]),
        ("company too long", {"name": "A", "company": "x" * 301}, ["body", "company"]),
        ("title too long", {"name": "A", "title": "x" * 301}, ["body", "title"]),
        (
            "linkedin_url relative",
            {"name": "A", "linkedin_url": "linkedin.com/in/a"},
            ["body", "linkedin_url"],
        ),
        (
            "linkedin_url javascript",
            {"name": "A", "linkedin_url": "javascript:alert(1)"},
            ["body", "linkedin_url"],
        ),
        (
            "linkedin_url too long",
            {"name": "A", "linkedin_url": "https://linkedin.com/" + "a" * 280},
            ["body", "linkedin_url"],
        ),
        ("notes too long", {"name": "A", "notes": "x" * 100_001}, ["body", "notes"]),
        ("opportunity_ids not a list", {"name": "A", "opportunity_ids": own}, ["body", "opportunity_ids"]),
        ("opportunity_ids null", {"name": "A", "opportunity_ids": None}, ["body", "opportunity_ids"]),
        (
            "opportunity_ids item not text",
            {"name": "A", "opportunity_ids": [own, 5]},
            ["body", "opportunity_ids", 1],
        ),
        (
            "opportunity_ids over 100",
            {"name": "A", "opportunity_ids": [uuid.uuid4().hex for _ in range(101)]},
            ["body", "opportunity_ids"],
        ),
        ("unknown field", {"name": "A", "twitter": "@ada"}, ["body", "twitter"]),
    ]
    cases += [(f"{key} given", {"name": "A", key: value}, ["body", key]) for key, value in READ_ONLY.items()]
    failures: list[str] = []
    before = row_counts()
    for name, body, loc in cases:
        with case(failures, name):
            assert_invalid(client.post("/v1/contacts", json=body, headers=headers), loc)
    assert not failures, "\n".join(failures)
    assert row_counts() == before
    assert list_all(client, headers, "/v1/contacts") == []


def test_contact_opportunity_ids_must_be_the_callers(
    client: TestClient, headers: dict[str, str], other: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    own = [o["id"] for o in opportunities]
    foreign = create_opportunity(client, other, company="Bob's Burgers")["id"]
    unknown = uuid.uuid4().hex
    before = row_counts()
    for given, bad in [
        ([own[0], foreign], {1}),
        ([unknown], {0}),
        ([own[0], own[1], unknown], {2}),
        ([foreign, own[0], unknown], {0, 2}),
        (["not-an-id"], {0}),
    ]:
        response = client.post(
            "/v1/contacts", json={"name": "Sneaky", "opportunity_ids": given}, headers=headers
        )
        body = assert_invalid(response, ["body", "opportunity_ids", min(bad)])
        reported = {tuple(error["loc"]) for error in body["errors"]}
        assert reported <= {("body", "opportunity_ids", i) for i in bad}, (given, reported)
    assert row_counts() == before
    assert list_all(client, headers, "/v1/contacts") == []
    assert list_all(client, other, "/v1/contacts") == []

    contact = create_contact(client, headers, name="Real", opportunity_ids=[own[0]])
    response = client.patch(
        f"/v1/contacts/{contact['id']}", json={"opportunity_ids": [own[1], foreign]}, headers=headers
    )
    assert_invalid(response, ["body", "opportunity_ids", 1])
    assert get(client, headers, f"/v1/contacts/{contact['id']}") == contact
    assert list_all(client, other, "/v1/contacts", opportunity_id=foreign) == []


def test_contact_patch(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    first, second, third = (o["id"] for o in opportunities)
    contact = create_contact(
        client,
        headers,
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+1 555 0100",
        company="Engines",
        title="CTO",
        linkedin_url="https://www.linkedin.com/in/ada",
        notes="Met at the meetup",
        opportunity_ids=[first, second],
    )
    path = f"/v1/contacts/{contact['id']}"

    def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = client.patch(path, json=body, headers=headers)
        assert response.status_code == 200, (body, response.text)
        updated = dict(response.json())
        assert get(client, headers, path) == updated
        return updated

    # Empty body: unchanged.
    assert patch({}) == contact
    # Partial: only the given field changes; the links are kept when absent.
    updated = patch({"company": "Difference Engines", "email": "ADA@Engines.example"})
    assert without_updated_at(updated) == without_updated_at(
        {**contact, "company": "Difference Engines", "email": "ada@engines.example"}
    )
    assert parse_time(updated["updated_at"]) >= parse_time(contact["updated_at"])
    # opportunity_ids replaces the whole set (deduplicated, order kept).
    assert patch({"opportunity_ids": [third, first, third]})["opportunity_ids"] == [third, first]
    assert ids(list_all(client, headers, "/v1/contacts", opportunity_id=second)) == []
    assert ids(list_all(client, headers, "/v1/contacts", opportunity_id=third)) == [contact["id"]]
    assert patch({"opportunity_ids": []})["opportunity_ids"] == []
    assert ids(list_all(client, headers, "/v1/contacts", opportunity_id=first)) == []
    # null clears every optional field, nothing else.
    cleared = patch(dict.fromkeys(CONTACT_OPTIONAL))
    for name in CONTACT_OPTIONAL:
        assert cleared[name] is None, name
    assert cleared["name"] == "Ada Lovelace"
    assert cleared["created_at"] == contact["created_at"]

    failures: list[str] = []
    before = row_counts()
    for body, loc in [
        ({"name": None}, ["body", "name"]),
        ({"opportunity_ids": None}, ["body", "opportunity_ids"]),
        ({"name": ""}, ["body", "name"]),
        ({"email": "nope"}, ["body", "email"]),
        ({"linkedin_url": "ftp://x.example/"}, ["body", "linkedin_url"]),
        ({"name": "Ada", "nickname": "A"}, ["body", "nickname"]),
        *[({key: value}, ["body", key]) for key, value in READ_ONLY.items()],
    ]:
        with case(failures, str(body)[:80]):
            assert_invalid(client.patch(path, json=body, headers=headers), loc)
            assert get(client, headers, path) == cleared
    assert not failures, "\n".join(failures)
    assert row_counts() == before


# ---- contacts: lists ---------------------------------------------------------------------------


def test_contact_list_is_ordered_by_name_case_insensitive(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = [
        create_contact(client, headers, name=name)
        for name in ("bob", "Alice", "carol", "Dave", "alice", "Bob")
    ]
    expected = ids(sorted(created, key=lambda c: (c["name"].lower(), c["id"])))
    listed = list_all(client, headers, "/v1/contacts")
    assert ids(listed) == expected
    assert [c["name"].lower() for c in listed] == ["alice", "alice", "bob", "bob", "carol", "dave"]
    assert ids(list_all(client, headers, "/v1/contacts", limit=1)) == expected
    assert ids(list_all(client, headers, "/v1/contacts", limit=4)) == expected


def test_contact_search_is_a_case_insensitive_substring(client: TestClient, headers: dict[str, str]) -> None:
    people = [
        {"name": "Ada Lovelace", "email": "ada@engines.example", "company": "Analytical", "title": "CTO"},
        {
            "name": "Grace Hopper",
            "email": "grace@navy.example",
            "company": "US Navy",
            "title": "Rear Admiral",
        },
        {
            "name": "Alan Turing",
            "email": "alan@bletchley.example",
            "company": "GC&CS",
            "title": "Codebreaker",
        },
        {"name": "Katherine Johnson", "company": "NASA", "title": "Mathematician"},
        {"name": "100% Real_Name", "company": "Percent"},
    ]
    created = [create_contact(client, headers, **person) for person in people]

    def search(text: str) -> set[str]:
        return set(ids(list_all(client, headers, "/v1/contacts", q=text)))

    def expect(text: str) -> set[str]:
        needle = text.lower()
        return {
            contact["id"]
            for contact in created
            if any(
                needle in (contact[field] or "").lower() for field in ("name", "email", "company", "title")
            )
        }

    for text in (
        "love",
        "LOVE",
        "navy",
        "NAVY.EXAMPLE",
        "ing",
        "admir",
        "a",
        "gc&cs",
        "Mathem",
        "zzz",
        "%",
        "_",
    ):
        assert search(text) == expect(text), text
    assert search("love") == {created[0]["id"]}
    assert search("ing") == {created[2]["id"]}  # Turing (a substring, not a word prefix)
    # LIKE wildcards are matched literally.
    assert search("%") == {created[4]["id"]}
    assert search("_") == {created[4]["id"]}
    assert search("a%e") == set()
    # Results keep the name order.
    listed = ids(list_all(client, headers, "/v1/contacts", q="a"))
    assert listed == ids(
        sorted((c for c in created if c["id"] in expect("a")), key=lambda c: c["name"].lower())
    )


def test_contact_list_filter_by_opportunity(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    first, second, third = (o["id"] for o in opportunities)
    created = [
        create_contact(client, headers, name="Zed", opportunity_ids=[first]),
        create_contact(client, headers, name="Amy", opportunity_ids=[first, second]),
        create_contact(client, headers, name="Max", opportunity_ids=[second]),
        create_contact(client, headers, name="Nobody"),
    ]
    for opportunity_id in (first, second, third):
        expected = sorted(
            (c for c in created if opportunity_id in c["opportunity_ids"]), key=lambda c: c["name"]
        )
        assert ids(list_all(client, headers, "/v1/contacts", opportunity_id=opportunity_id)) == ids(expected)
    assert list_all(client, headers, "/v1/contacts", opportunity_id=uuid.uuid4().hex) == []
    both = list_all(client, headers, "/v1/contacts", opportunity_id=first, q="am")
    assert ids(both) == [created[1]["id"]]


def test_contact_unknown_ids_and_delete(client: TestClient, headers: dict[str, str]) -> None:
    bodies = []
    for contact_id in (uuid.uuid4().hex, "not-an-id"):
        bodies.append(assert_not_found(client.get(f"/v1/contacts/{contact_id}", headers=headers)))
        response = client.patch(f"/v1/contacts/{contact_id}", json={"name": "X"}, headers=headers)
        bodies.append(assert_not_found(response))
        bodies.append(assert_not_found(client.delete(f"/v1/contacts/{contact_id}", headers=headers)))
    assert all(body == bodies[0] for body in bodies)
    doomed = create_contact(client, headers, name="Doomed")
    kept = create_contact(client, headers, name="Kept")
    response = client.delete(f"/v1/contacts/{doomed['id']}", headers=headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert assert_not_found(client.get(f"/v1/contacts/{doomed['id']}", headers=headers)) == bodies[0]
    assert assert_not_found(client.delete(f"/v1/contacts/{doomed['id']}", headers=headers)) == bodies[0]
    assert ids(list_all(client, headers, "/v1/contacts")) == [kept["id"]]


def test_deleting_a_contact_detaches_its_notes(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    contact = create_contact(client, headers, name="Ada")
    other_contact = create_contact(client, headers, name="Grace")
    linked = create_note(
        client, headers, body="Call Ada", contact_id=contact["id"], opportunity_id=opportunities[0]["id"]
    )
    unrelated = create_note(client, headers, body="Call Grace", contact_id=other_contact["id"])
    assert client.delete(f"/v1/contacts/{contact['id']}", headers=headers).status_code == 204
    survivor = get(client, headers, f"/v1/notes/{linked['id']}")
    assert without_updated_at(survivor) == without_updated_at({**linked, "contact_id": None})
    assert get(client, headers, f"/v1/notes/{unrelated['id']}") == unrelated
    assert list_all(client, headers, "/v1/notes", contact_id=contact["id"]) == []
    assert set(ids(list_all(client, headers, "/v1/notes"))) == {linked["id"], unrelated["id"]}
    # The detached note can be linked again to an existing contact.
    response = client.patch(
        f"/v1/notes/{linked['id']}", json={"contact_id": other_contact["id"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["contact_id"] == other_contact["id"]


def test_deleting_an_opportunity_detaches_its_contacts(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    first, second, _ = (o["id"] for o in opportunities)
    contact = create_contact(client, headers, name="Ada", opportunity_ids=[first, second])
    assert client.delete(f"/v1/opportunities/{first}", headers=headers).status_code == 204
    assert get(client, headers, f"/v1/contacts/{contact['id']}")["opportunity_ids"] == [second]
    assert list_all(client, headers, "/v1/contacts", opportunity_id=first) == []
    assert ids(list_all(client, headers, "/v1/contacts", opportunity_id=second)) == [contact["id"]]


# ---- notes -------------------------------------------------------------------------------------


@pytest.fixture
def linked(
    client: TestClient, headers: dict[str, str], opportunities: list[dict[str, Any]]
) -> dict[str, str]:
    """One of each thing a note can link to."""
    interview = create_interview(client, headers, opportunities[0]["id"], title="Screen")
    contact = create_contact(client, headers, name="Grace")
    return {
        "opportunity_id": opportunities[0]["id"],
        "interview_id": interview["id"],
        "contact_id": contact["id"],
    }


def test_note_create_and_read(client: TestClient, headers: dict[str, str], linked: dict[str, str]) -> None:
    minimal = create_note(client, headers, body="Plain note")
    assert set(minimal) >= NOTE_FIELDS
    assert minimal["body"] == "Plain note"
    for link in NOTE_LINKS:
        assert minimal[link] is None, link
    assert TIME_Z.match(minimal["created_at"]) and TIME_Z.match(minimal["updated_at"])
    assert get(client, headers, f"/v1/notes/{minimal['id']}") == minimal

    prefix = "Line one\n\tindented line two\n"
    text = prefix + "x" * (100_000 - len(prefix))
    assert len(text) == 100_000
    full = create_note(client, headers, body=text, **linked)
    assert full["body"] == text
    for link, value in linked.items():
        assert full[link] == value, link
    assert get(client, headers, f"/v1/notes/{full['id']}") == full
    for link, value in linked.items():
        only = create_note(client, headers, body=f"Only {link}", **{link: value})
        assert [only[name] for name in NOTE_LINKS] == [value if name == link else None for name in NOTE_LINKS]


def test_note_invalid_create_is_422_and_writes_nothing(client: TestClient, headers: dict[str, str]) -> None:
    cases: list[tuple[str, dict[str, Any], list[Any]]] = [
        ("body missing", {}, ["body", "body"]),
        ("body empty", {"body": ""}, ["body", "body"]),
        ("body blank", {"body": "  \n\t "}, ["body", "body"]),
        ("body null", {"body": None}, ["body", "body"]),
        ("body too long", {"body": "x" * 100_001}, ["body", "body"]),
        ("body not text", {"body": 5}, ["body", "body"]),
        ("body NUL", {"body": "a\x00b"}, ["body", "body"]),
        ("opportunity_id not text", {"body": "x", "opportunity_id": 5}, ["body", "opportunity_id"]),
        ("interview_id not text", {"body": "x", "interview_id": ["a"]}, ["body", "interview_id"]),
        ("contact_id not text", {"body": "x", "contact_id": {"id": "a"}}, ["body", "contact_id"]),
        ("unknown field", {"body": "x", "title": "T"}, ["body", "title"]),
    ]
    cases += [(f"{key} given", {"body": "x", key: value}, ["body", key]) for key, value in READ_ONLY.items()]
    failures: list[str] = []
    before = row_counts()
    for name, body, loc in cases:
        with case(failures, name):
            assert_invalid(client.post("/v1/notes", json=body, headers=headers), loc)
    assert not failures, "\n".join(failures)
    assert row_counts() == before
    assert list_all(client, headers, "/v1/notes") == []


def test_note_links_must_be_the_callers(
    client: TestClient, headers: dict[str, str], other: dict[str, str], linked: dict[str, str]
) -> None:
    bobs_opportunity = create_opportunity(client, other, company="Bob's Burgers")
    foreign = {
        "opportunity_id": bobs_opportunity["id"],
        "interview_id": create_interview(client, other, bobs_opportunity["id"])["id"],
        "contact_id": create_contact(client, other, name="Linda")["id"],
    }
    note = create_note(client, headers, body="Mine", **linked)
    path = f"/v1/notes/{note['id']}"
    failures: list[str] = []
    before = row_counts()
    for link in NOTE_LINKS:
        for label, value in (
            ("foreign", foreign[link]),
            ("unknown", uuid.uuid4().hex),
            ("malformed", "nope"),
        ):
            with case(failures, f"{label} {link}"):
                body = {"body": "Sneaky", **linked, link: value}
                assert_invalid(client.post("/v1/notes", json=body, headers=headers), ["body", link])
                assert_invalid(client.patch(path, json={link: value}, headers=headers), ["body", link])
    assert not failures, "\n".join(failures)
    assert row_counts() == before
    assert get(client, headers, path) == note
    assert ids(list_all(client, headers, "/v1/notes")) == [note["id"]]
    assert list_all(client, other, "/v1/notes") == []


def test_note_list_is_newest_first_and_filters(
    client: TestClient, headers: dict[str, str], linked: dict[str, str], opportunities: list[dict[str, Any]]
) -> None:
    second = create_interview(client, headers, opportunities[1]["id"])
    contact = create_contact(client, headers, name="Zed")
    variants: list[dict[str, Any]] = [
        {},
        {"opportunity_id": linked["opportunity_id"]},
        {"interview_id": linked["interview_id"]},
        {"contact_id": linked["contact_id"]},
        dict(linked),
        {"opportunity_id": opportunities[1]["id"], "interview_id": second["id"], "contact_id": contact["id"]},
        {"opportunity_id": linked["opportunity_id"], "contact_id": contact["id"]},
        {},
    ]
    created = [create_note(client, headers, body=f"Note {n}", **links) for n, links in enumerate(variants)]
    newest_first = list(reversed(created))
    assert [parse_time(n["created_at"]) for n in created] == sorted(
        parse_time(n["created_at"]) for n in created
    )
    assert list_all(client, headers, "/v1/notes") == newest_first
    assert ids(list_all(client, headers, "/v1/notes", limit=3)) == ids(newest_first)

    def expect(**filters: str) -> list[str]:
        return ids([n for n in newest_first if all(n[key] == value for key, value in filters.items())])

    filter_values = {
        "opportunity_id": [linked["opportunity_id"], opportunities[1]["id"], opportunities[2]["id"]],
        "interview_id": [linked["interview_id"], second["id"]],
        "contact_id": [linked["contact_id"], contact["id"]],
    }
    for key, values in filter_values.items():
        for value in values:
            assert ids(list_all(client, headers, "/v1/notes", **{key: value})) == expect(**{key: value}), key
    combined = {"opportunity_id": linked["opportunity_id"], "contact_id": contact["id"]}
    assert ids(list_all(client, headers, "/v1/notes", **combined)) == expect(**combined)
    assert len(expect(**combined)) == 1
    for key in NOTE_LINKS:
        assert list_all(client, headers, "/v1/notes", **{key: uuid.uuid4().hex}) == []


def test_note_patch(client: TestClient, headers: dict[str, str], linked: dict[str, str]) -> None:
    note = create_note(client, headers, body="First draft", **linked)
    path = f"/v1/notes/{note['id']}"

    def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = client.patch(path, json=body, headers=headers)
        assert response.status_code == 200, (body, response.text)
        updated = dict(response.json())
        assert get(client, headers, path) == updated
        return updated

    assert patch({}) == note
    updated = patch({"body": "Second draft"})
    assert without_updated_at(updated) == without_updated_at({**note, "body": "Second draft"})
    assert parse_time(updated["updated_at"]) >= parse_time(note["updated_at"])
    updated = patch({"contact_id": None, "interview_id": None})
    assert (updated["opportunity_id"], updated["interview_id"], updated["contact_id"]) == (
        linked["opportunity_id"],
        None,
        None,
    )
    assert list_all(client, headers, "/v1/notes", contact_id=linked["contact_id"]) == []
    updated = patch({"interview_id": linked["interview_id"]})
    assert updated["interview_id"] == linked["interview_id"]

    failures: list[str] = []
    for body, loc in [
        ({"body": None}, ["body", "body"]),
        ({"body": ""}, ["body", "body"]),
        ({"body": "x" * 100_001}, ["body", "body"]),
        ({"pinned": True}, ["body", "pinned"]),
        *[({key: value}, ["body", key]) for key, value in READ_ONLY.items()],
    ]:
        with case(failures, str(body)[:80]):
            assert_invalid(client.patch(path, json=body, headers=headers), loc)
            assert get(client, headers, path) == updated
    assert not failures, "\n".join(failures)


def test_note_with_an_opportunity_appends_activity(
    client: TestClient, headers: dict[str, str], linked: dict[str, str]
) -> None:
    def entries() -> list[dict[str, Any]]:
        return list_all(client, headers, "/v1/activity", limit=200)

    before = entries()
    create_note(client, headers, body="No opportunity", contact_id=linked["contact_id"])
    assert entries() == before
    create_note(client, headers, body="About the job", opportunity_id=linked["opportunity_id"])
    added = [entry for entry in entries() if entry["id"] not in set(ids(before))]
    assert [(entry["kind"], entry["opportunity_id"]) for entry in added] == [
        ("note", linked["opportunity_id"])
    ]
    assert ids(list_all(client, headers, "/v1/activity", kind="note")) == ids(added)


def test_note_unknown_ids_and_delete(client: TestClient, headers: dict[str, str]) -> None:
    bodies = []
    for note_id in (uuid.uuid4().hex, "not-an-id"):
        bodies.append(assert_not_found(client.get(f"/v1/notes/{note_id}", headers=headers)))
        bodies.append(
            assert_not_found(client.patch(f"/v1/notes/{note_id}", json={"body": "x"}, headers=headers))
        )
        bodies.append(assert_not_found(client.delete(f"/v1/notes/{note_id}", headers=headers)))
    assert all(body == bodies[0] for body in bodies)
    doomed = create_note(client, headers, body="Doomed")
    kept = create_note(client, headers, body="Kept")
    response = client.delete(f"/v1/notes/{doomed['id']}", headers=headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert assert_not_found(client.get(f"/v1/notes/{doomed['id']}", headers=headers)) == bodies[0]
    assert assert_not_found(client.delete(f"/v1/notes/{doomed['id']}", headers=headers)) == bodies[0]
    assert list_all(client, headers, "/v1/notes") == [kept]
