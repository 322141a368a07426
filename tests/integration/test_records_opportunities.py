"""Opportunities over HTTP: CRUD, validation, PATCH semantics, filters, search, sorting, pagination,
delete cascade (API.md, Opportunities; records design, General and Opportunities)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.problems import assert_problem, assert_unauthorized
from tests.records import (
    OPPORTUNITY_FIELDS,
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
    list_page,
    parse_time,
)

PATH = "/v1/opportunities"
NULLABLE = (
    "job_description",
    "url",
    "location",
    "salary_min",
    "salary_max",
    "currency",
    "source",
    "applied_at",
)
REQUIRED = ("company", "role", "status", "priority", "tags", "archived")
MISSING = object()  # in a test body: leave the field out


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


def get(client: TestClient, headers: dict[str, str], opportunity_id: str) -> dict[str, Any]:
    response = client.get(f"{PATH}/{opportunity_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def patch(client: TestClient, headers: dict[str, str], opportunity_id: str, body: Any) -> dict[str, Any]:
    response = client.patch(f"{PATH}/{opportunity_id}", json=body, headers=headers)
    assert response.status_code == 200, (body, response.text)
    return dict(response.json())


def everything(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return list_all(client, headers, PATH, **params)


def search(client: TestClient, headers: dict[str, str], q: str, **params: Any) -> set[str]:
    return set(ids(everything(client, headers, q=q, **params)))


def activity(client: TestClient, headers: dict[str, str], opportunity_id: str) -> list[dict[str, Any]]:
    return list_all(client, headers, "/v1/activity", opportunity_id=opportunity_id)


def near_now(value: str) -> bool:
    moment = parse_time(value)
    now = datetime.now(UTC)
    return now - timedelta(minutes=1) <= moment <= now + timedelta(minutes=1)


# ---- create and read ---------------------------------------------------------------------------


def test_create_with_only_required_fields_uses_the_defaults(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.post(PATH, json={"company": "Acme", "role": "Engineer"}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    created = response.json()
    assert set(created) >= OPPORTUNITY_FIELDS
    assert {key: created[key] for key in OPPORTUNITY_FIELDS - {"id", "created_at", "updated_at"}} == {
        "company": "Acme",
        "role": "Engineer",
        "status": "wishlist",
        "priority": "medium",
        "tags": [],
        "archived": False,
        **dict.fromkeys(NULLABLE),
    }
    assert near_now(created["created_at"]) and near_now(created["updated_at"])
    assert parse_time(created["updated_at"]) >= parse_time(created["created_at"])
    assert get(client, headers, created["id"]) == created
    assert everything(client, headers) == [created]


def test_create_with_every_field_round_trips(client: TestClient, headers: dict[str, str]) -> None:
    sent = {
        "company": "Société Générale",
        "role": "Senior Backend Engineer",
        "status": "interviewing",
        "job_description": "We build payment rails.\n\n- Python\n- Postgres\n",
        "url": "https://jobs.example.com/postings/42?ref=board#apply",
        "location": "Paris (hybrid)",
        "salary_min": 70_000,
        "salary_max": 90_000,
        "currency": "EUR",
        "source": "LinkedIn",
        "priority": "high",
        "tags": ["python", "fintech"],
        "applied_at": "2026-03-01T09:30:00+02:00",
        "archived": False,
    }
    created = create_opportunity(client, headers, **sent)
    assert {key: created[key] for key in sent} == {**sent, "applied_at": "2026-03-01T07:30:00.000000Z"}
    assert get(client, headers, created["id"]) == created
    # An opportunity's `source` (where the job was found) is an ordinary writable field.
    assert patch(client, headers, created["id"], {"source": "Job board"})["source"] == "Job board"


def test_ids_are_distinct_and_times_are_utc_with_z(client: TestClient, headers: dict[str, str]) -> None:
    first = create_opportunity(client, headers, applied_at="2026-12-01T10:00:00+02:00")
    second = create_opportunity(client, headers, applied_at="2026-12-01T03:15:30.5-05:30")
    third = create_opportunity(client, headers, applied_at="2026-12-01T08:00:00Z")
    assert len({first["id"], second["id"], third["id"]}) == 3
    assert first["applied_at"] == "2026-12-01T08:00:00.000000Z"
    assert second["applied_at"] == "2026-12-01T08:45:30.500000Z"
    assert third["applied_at"] == "2026-12-01T08:00:00.000000Z"
    for item in (first, second, third):
        parse_time(item["created_at"])
        parse_time(item["updated_at"])


def test_tags_drop_case_insensitive_duplicates_keeping_first_spelling_and_order(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(
        client, headers, tags=["Python", "remote", "python", "PYTHON", "Remote", "AWS"]
    )
    assert created["tags"] == ["Python", "remote", "AWS"]
    updated = patch(client, headers, created["id"], {"tags": ["b", "A", "a", "B", "c"]})
    assert updated["tags"] == ["b", "A", "c"]
    assert get(client, headers, created["id"])["tags"] == ["b", "A", "c"]


def test_limits_accept_their_maximum(client: TestClient, headers: dict[str, str]) -> None:
    long_url = "https://example.com/" + "p" * (300 - len("https://example.com/"))
    sent = {
        "company": "c" * 300,
        "role": "r" * 300,
        "job_description": "j" * 100_000,
        "location": "l" * 300,
        "source": "s" * 300,
        "url": long_url,
        "tags": [f"tag{i}" for i in range(50)],
        "salary_min": 0,
        "salary_max": 10**12,
    }
    created = create_opportunity(client, headers, **sent)
    assert {key: created[key] for key in sent} == sent
    # The 1..300 limit counts the text after surrounding whitespace is stripped.
    padded = create_opportunity(client, headers, company="  " + "c" * 300 + "  ", role=" Engineer ")
    assert (padded["company"], padded["role"]) == ("c" * 300, "Engineer")
    equal = create_opportunity(client, headers, salary_min=5, salary_max=5)
    assert (equal["salary_min"], equal["salary_max"]) == (5, 5)
    only_min = create_opportunity(client, headers, salary_min=100)
    assert (only_min["salary_min"], only_min["salary_max"]) == (100, None)


# ---- validation --------------------------------------------------------------------------------

INVALID_CREATE: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("missing company", {"company": MISSING}, ["body", "company"]),
    ("missing role", {"role": MISSING}, ["body", "role"]),
    ("empty company", {"company": ""}, ["body", "company"]),
    ("blank company", {"company": "   "}, ["body", "company"]),
    ("empty role", {"role": ""}, ["body", "role"]),
    ("company over 300", {"company": "c" * 301}, ["body", "company"]),
    ("role over 300", {"role": "r" * 301}, ["body", "role"]),
    ("company control char", {"company": "Ac\x00me"}, ["body", "company"]),
    ("company number", {"company": 42}, ["body", "company"]),
    ("company list", {"company": ["Acme"]}, ["body", "company"]),
    ("null company", {"company": None}, ["body", "company"]),
    ("unknown status", {"status": "archived"}, ["body", "status"]),
    ("status wrong case", {"status": "Applied"}, ["body", "status"]),
    ("status number", {"status": 1}, ["body", "status"]),
    ("unknown priority", {"priority": "urgent"}, ["body", "priority"]),
    ("priority null", {"priority": None}, ["body", "priority"]),
    ("job_description over 100000", {"job_description": "j" * 100_001}, ["body", "job_description"]),
    ("job_description number", {"job_description": 7}, ["body", "job_description"]),
    ("url ftp", {"url": "ftp://example.com/job"}, ["body", "url"]),
    ("url javascript", {"url": "javascript:alert(1)"}, ["body", "url"]),
    ("url relative", {"url": "/jobs/42"}, ["body", "url"]),
    ("url no scheme", {"url": "example.com/jobs"}, ["body", "url"]),
    ("url empty", {"url": ""}, ["body", "url"]),
    ("url over 300", {"url": "https://example.com/" + "p" * 281}, ["body", "url"]),
    ("location empty", {"location": ""}, ["body", "location"]),
    ("location over 300", {"location": "l" * 301}, ["body", "location"]),
    ("source empty", {"source": ""}, ["body", "source"]),
    ("source over 300", {"source": "s" * 301}, ["body", "source"]),
    ("salary negative", {"salary_min": -1}, ["body", "salary_min"]),
    ("salary string", {"salary_min": "100000"}, ["body", "salary_min"]),
    ("salary float", {"salary_max": 1.5}, ["body", "salary_max"]),
    ("salary bool", {"salary_max": True}, ["body", "salary_max"]),
    ("salary too large", {"salary_max": 10**12 + 1}, ["body", "salary_max"]),
    ("currency lowercase", {"currency": "usd"}, ["body", "currency"]),
    ("currency two letters", {"currency": "US"}, ["body", "currency"]),
    ("currency four letters", {"currency": "USDD"}, ["body", "currency"]),
    ("currency digits", {"currency": "U5D"}, ["body", "currency"]),
    ("currency empty", {"currency": ""}, ["body", "currency"]),
    ("currency number", {"currency": 978}, ["body", "currency"]),
    ("tags not a list", {"tags": "python"}, ["body", "tags"]),
    ("tags null", {"tags": None}, ["body", "tags"]),
    ("tag number", {"tags": ["ok", 1]}, ["body", "tags", 1]),
    ("tag empty", {"tags": [""]}, ["body", "tags", 0]),
    ("tag over 300", {"tags": ["ok", "t" * 301]}, ["body", "tags", 1]),
    ("too many tags", {"tags": [f"t{i}" for i in range(51)]}, ["body", "tags"]),
    ("applied_at naive", {"applied_at": "2026-03-01T09:30:00"}, ["body", "applied_at"]),
    ("applied_at date only", {"applied_at": "2026-03-01"}, ["body", "applied_at"]),
    ("applied_at garbage", {"applied_at": "yesterday"}, ["body", "applied_at"]),
    ("applied_at number", {"applied_at": 1767225600}, ["body", "applied_at"]),
    ("archived string", {"archived": "yes"}, ["body", "archived"]),
    ("archived number", {"archived": 1}, ["body", "archived"]),
    ("archived null", {"archived": None}, ["body", "archived"]),
    ("unknown field", {"favourite": True}, ["body", "favourite"]),
    ("id", {"id": "0" * 32}, ["body", "id"]),
    ("user_id", {"user_id": "0" * 32}, ["body", "user_id"]),
    ("created_at", {"created_at": "2020-01-01T00:00:00Z"}, ["body", "created_at"]),
    ("updated_at", {"updated_at": "2020-01-01T00:00:00Z"}, ["body", "updated_at"]),
]


def test_create_rejects_invalid_fields_and_stores_nothing(
    client: TestClient, headers: dict[str, str]
) -> None:
    failures: list[str] = []
    for name, change, loc in INVALID_CREATE:
        with case(failures, name):
            body: dict[str, Any] = {"company": "Acme", "role": "Engineer", **change}
            body = {key: value for key, value in body.items() if value is not MISSING}
            assert_invalid(client.post(PATH, json=body, headers=headers), loc)
    assert not failures, "\n".join(failures)
    assert everything(client, headers) == []
    assert everything(client, headers, archived="true") == []


def test_create_rejects_inverted_salary_range(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        PATH,
        json={"company": "Acme", "role": "Engineer", "salary_min": 200, "salary_max": 100},
        headers=headers,
    )
    body = assert_invalid(response)
    assert {tuple(err["loc"]) for err in body["errors"]} & {("body", "salary_min"), ("body", "salary_max")}
    assert everything(client, headers) == []


def test_create_rejects_a_body_that_is_not_an_object(client: TestClient, headers: dict[str, str]) -> None:
    failures: list[str] = []
    for body in ([], ["company", "role"], "Acme", 42, None):
        with case(failures, repr(body)):
            assert_invalid(client.post(PATH, json=body, headers=headers))
    assert not failures, "\n".join(failures)
    assert everything(client, headers) == []


INVALID_PATCH: list[tuple[str, dict[str, Any], list[str | int]]] = [
    *((f"null {field}", {field: None}, ["body", field]) for field in REQUIRED),
    ("empty company", {"company": ""}, ["body", "company"]),
    ("role over 300", {"role": "r" * 301}, ["body", "role"]),
    ("unknown status", {"status": "hired"}, ["body", "status"]),
    ("unknown priority", {"priority": "critical"}, ["body", "priority"]),
    ("job_description over 100000", {"job_description": "j" * 100_001}, ["body", "job_description"]),
    ("url javascript", {"url": "javascript:alert(1)"}, ["body", "url"]),
    ("currency", {"currency": "eur"}, ["body", "currency"]),
    ("salary string", {"salary_max": "1"}, ["body", "salary_max"]),
    ("tag empty", {"tags": ["fine", ""]}, ["body", "tags", 1]),
    ("applied_at naive", {"applied_at": "2026-03-01 09:30:00"}, ["body", "applied_at"]),
    ("archived string", {"archived": "false"}, ["body", "archived"]),
    ("unknown field", {"colour": "red"}, ["body", "colour"]),
    ("id", {"id": "0" * 32}, ["body", "id"]),
    ("user_id", {"user_id": "0" * 32}, ["body", "user_id"]),
    ("created_at", {"created_at": "2020-01-01T00:00:00Z"}, ["body", "created_at"]),
    ("updated_at", {"updated_at": "2020-01-01T00:00:00Z"}, ["body", "updated_at"]),
]


def test_patch_rejects_invalid_fields_and_changes_nothing(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers, tags=["kept"], salary_min=1, currency="USD")
    failures: list[str] = []
    for name, body, loc in INVALID_PATCH:
        with case(failures, name):
            # A valid change next to the invalid one is not applied either.
            response = client.patch(
                f"{PATH}/{created['id']}", json={"location": "Moved", **body}, headers=headers
            )
            assert_invalid(response, loc)
            assert get(client, headers, created["id"]) == created
    assert not failures, "\n".join(failures)


def test_patch_rejects_a_change_that_inverts_the_stored_salary_range(
    client: TestClient, headers: dict[str, str]
) -> None:
    both = create_opportunity(client, headers, salary_min=100, salary_max=200)
    only_min = create_opportunity(client, headers, salary_min=100)
    only_max = create_opportunity(client, headers, salary_max=100)
    failures: list[str] = []
    for stored, change in [
        (both, {"salary_min": 300}),
        (both, {"salary_max": 50}),
        (both, {"salary_min": 500, "salary_max": 400}),
        (only_min, {"salary_max": 99}),
        (only_max, {"salary_min": 101}),
    ]:
        with case(failures, f"{stored['salary_min']}..{stored['salary_max']} + {change}"):
            response = client.patch(f"{PATH}/{stored['id']}", json=change, headers=headers)
            body = assert_invalid(response)
            locs = {tuple(err["loc"]) for err in body["errors"]}
            assert locs & {("body", "salary_min"), ("body", "salary_max")}, locs
            assert get(client, headers, stored["id"]) == stored
    assert not failures, "\n".join(failures)


def test_patch_salary_changes_that_keep_the_range_ordered_succeed(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers, salary_min=100, salary_max=200)
    moved = patch(client, headers, created["id"], {"salary_min": 300, "salary_max": 400})
    assert (moved["salary_min"], moved["salary_max"]) == (300, 400)
    raised = patch(client, headers, created["id"], {"salary_max": None})
    assert (raised["salary_min"], raised["salary_max"]) == (300, None)
    assert patch(client, headers, created["id"], {"salary_min": 10**12})["salary_min"] == 10**12
    equal = patch(client, headers, created["id"], {"salary_max": 10**12})
    assert (equal["salary_min"], equal["salary_max"]) == (10**12, 10**12)


# ---- PATCH semantics ---------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(client: TestClient, headers: dict[str, str]) -> None:
    created = create_opportunity(
        client, headers, job_description="JD", location="Berlin", tags=["a"], priority="low", salary_min=1
    )
    updated = patch(client, headers, created["id"], {"role": "Staff Engineer", "priority": "high"})
    expected = {**created, "role": "Staff Engineer", "priority": "high"}
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        k: v for k, v in expected.items() if k != "updated_at"
    }
    assert updated["created_at"] == created["created_at"]
    assert parse_time(updated["updated_at"]) > parse_time(created["updated_at"])
    assert get(client, headers, created["id"]) == updated


def test_empty_patch_returns_the_resource_unchanged(client: TestClient, headers: dict[str, str]) -> None:
    created = create_opportunity(client, headers, tags=["x"], location="Oslo")
    assert patch(client, headers, created["id"], {}) == created
    assert get(client, headers, created["id"]) == created


def test_patch_null_clears_every_optional_field(client: TestClient, headers: dict[str, str]) -> None:
    created = create_opportunity(
        client,
        headers,
        job_description="JD",
        url="https://example.com/job",
        location="Remote",
        salary_min=1,
        salary_max=2,
        currency="GBP",
        source="Referral",
        applied_at="2026-01-05T12:00:00Z",
    )
    for field in NULLABLE:
        assert created[field] is not None
    # One at a time: the others stay.
    one = patch(client, headers, created["id"], {"location": None})
    assert (one["location"], one["currency"], one["url"]) == (None, "GBP", "https://example.com/job")
    cleared = patch(client, headers, created["id"], dict.fromkeys(NULLABLE))
    for field in NULLABLE:
        assert cleared[field] is None, field
    assert (cleared["company"], cleared["role"], cleared["status"]) == ("Acme", "Engineer", "wishlist")
    assert get(client, headers, created["id"]) == cleared


def test_patch_tags_replaces_the_list_and_empty_list_clears_it(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers, tags=["one", "two"])
    assert patch(client, headers, created["id"], {"tags": ["three"]})["tags"] == ["three"]
    assert patch(client, headers, created["id"], {"tags": []})["tags"] == []
    assert everything(client, headers, tag="one") == []
    assert everything(client, headers, tag="three") == []


# ---- status, applied_at, activity ---------------------------------------------------------------


def test_status_change_appends_a_status_changed_activity_entry(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers)
    patch(client, headers, created["id"], {"status": "applied"})
    patch(client, headers, created["id"], {"status": "screening"})
    entries = activity(client, headers, created["id"])
    changes = [entry for entry in entries if entry["kind"] == "status_changed"]
    # Newest first.
    assert [(entry["from_status"], entry["to_status"]) for entry in changes] == [
        ("applied", "screening"),
        ("wishlist", "applied"),
    ]
    for entry in changes:
        assert entry["opportunity_id"] == created["id"]
        assert isinstance(entry["summary"], str) and entry["summary"]
        assert near_now(entry["occurred_at"])


def test_patch_without_a_status_change_appends_no_status_entry(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers, status="applied")
    before = activity(client, headers, created["id"])
    patch(client, headers, created["id"], {"role": "Other"})
    patch(client, headers, created["id"], {"status": "applied"})  # the same status: not a change
    after = activity(client, headers, created["id"])
    assert [entry for entry in after if entry["kind"] == "status_changed"] == []
    assert ids(after) == ids(before)


def test_creating_as_applied_sets_applied_at_to_now_unless_given(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers, status="applied")
    assert created["applied_at"] is not None and near_now(created["applied_at"])
    assert get(client, headers, created["id"])["applied_at"] == created["applied_at"]
    given = create_opportunity(client, headers, status="applied", applied_at="2025-11-02T08:00:00+01:00")
    assert given["applied_at"] == "2025-11-02T07:00:00.000000Z"
    # Only `applied` sets it.
    for status in ("wishlist", "screening", "interviewing", "rejected"):
        assert create_opportunity(client, headers, status=status)["applied_at"] is None, status


def test_status_becoming_applied_sets_applied_at_once(client: TestClient, headers: dict[str, str]) -> None:
    created = create_opportunity(client, headers)
    assert created["applied_at"] is None
    applied = patch(client, headers, created["id"], {"status": "applied"})
    assert applied["applied_at"] is not None and near_now(applied["applied_at"])
    # Later changes, and becoming applied again, keep the first applied_at.
    patch(client, headers, created["id"], {"status": "screening"})
    again = patch(client, headers, created["id"], {"status": "applied"})
    assert again["applied_at"] == applied["applied_at"]


def test_status_becoming_applied_keeps_an_applied_at_given_or_already_stored(
    client: TestClient, headers: dict[str, str]
) -> None:
    created = create_opportunity(client, headers)
    updated = patch(
        client, headers, created["id"], {"status": "applied", "applied_at": "2026-02-10T23:30:00-02:00"}
    )
    assert updated["applied_at"] == "2026-02-11T01:30:00.000000Z"
    stored = create_opportunity(client, headers, applied_at="2026-01-01T00:00:00Z")
    assert (
        patch(client, headers, stored["id"], {"status": "applied"})["applied_at"]
        == "2026-01-01T00:00:00.000000Z"
    )


# ---- not found and ownership -------------------------------------------------------------------


def test_unknown_malformed_and_foreign_ids_are_the_same_404(
    client: TestClient, headers: dict[str, str]
) -> None:
    mine = create_opportunity(client, headers)
    other = auth_headers(client, "mallory@example.com")
    theirs = create_opportunity(client, other, company="Secret Co")
    their_interview = create_interview(client, other, theirs["id"])
    cases = {"foreign": theirs["id"], "unknown": "0" * 32, "malformed": "not-an-id", "long": "x" * 300}
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    for name, opportunity_id in cases.items():
        url = f"{PATH}/{opportunity_id}"
        bodies[("GET", name)] = assert_not_found(client.get(url, headers=headers))
        bodies[("PATCH", name)] = assert_not_found(client.patch(url, json={"role": "Pwned"}, headers=headers))
        bodies[("DELETE", name)] = assert_not_found(client.delete(url, headers=headers))
    for method in ("GET", "PATCH", "DELETE"):
        assert bodies[(method, "foreign")] == bodies[(method, "unknown")]
    # An invalid PATCH of a foreign id reveals nothing either way and changes nothing.
    invalid = client.patch(f"{PATH}/{theirs['id']}", json={"status": "nope"}, headers=headers)
    assert invalid.status_code in (404, 422), invalid.text
    # Nothing of the other user's changed or was deleted, and it never shows in my lists.
    assert get(client, other, theirs["id"]) == theirs
    assert client.get(f"/v1/interviews/{their_interview['id']}", headers=other).status_code == 200
    assert ids(everything(client, headers)) == [mine["id"]]
    assert search(client, headers, "secret") == set()


def test_opportunity_routes_need_a_bearer_token(client: TestClient) -> None:
    routes = [
        ("GET", PATH),
        ("POST", PATH),
        ("GET", f"{PATH}/x"),
        ("PATCH", f"{PATH}/x"),
        ("DELETE", f"{PATH}/x"),
    ]
    for method, path in routes:
        kwargs: dict[str, Any] = (
            {"json": {"company": "A", "role": "B"}} if method in ("POST", "PATCH") else {}
        )
        assert_unauthorized(client.request(method, path, **kwargs))
        assert_unauthorized(client.request(method, path, headers={"Authorization": "Bearer x.y.z"}, **kwargs))


# ---- delete ------------------------------------------------------------------------------------


def test_delete_is_204_and_a_second_delete_is_404(client: TestClient, headers: dict[str, str]) -> None:
    created = create_opportunity(client, headers)
    response = client.delete(f"{PATH}/{created['id']}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_not_found(client.get(f"{PATH}/{created['id']}", headers=headers))
    assert_not_found(client.delete(f"{PATH}/{created['id']}", headers=headers))
    assert_not_found(client.patch(f"{PATH}/{created['id']}", json={}, headers=headers))
    assert everything(client, headers) == []


def test_delete_cascades_to_interviews_notes_activity_and_detaches_contacts(
    client: TestClient, headers: dict[str, str]
) -> None:
    doomed = create_opportunity(client, headers, company="Doomed")
    kept = create_opportunity(client, headers, company="Kept")
    doomed_interview = create_interview(client, headers, doomed["id"], scheduled_at="2026-06-01T10:00:00Z")
    kept_interview = create_interview(client, headers, kept["id"], scheduled_at="2026-06-02T10:00:00Z")
    contact = create_contact(client, headers, opportunity_ids=[doomed["id"], kept["id"]])
    only_doomed_contact = create_contact(client, headers, name="Solo", opportunity_ids=[doomed["id"]])
    note_on_opportunity = create_note(client, headers, opportunity_id=doomed["id"])
    note_on_interview = create_note(client, headers, interview_id=doomed_interview["id"])
    note_on_contact = create_note(client, headers, contact_id=contact["id"])
    note_on_kept = create_note(client, headers, opportunity_id=kept["id"])
    logged = client.post(
        "/v1/activity",
        json={"kind": "call", "summary": "Phoned the recruiter", "opportunity_id": doomed["id"]},
        headers=headers,
    )
    assert logged.status_code == 201, logged.text
    assert activity(client, headers, doomed["id"]) != []

    response = client.delete(f"{PATH}/{doomed['id']}", headers=headers)
    assert response.status_code == 204, response.text

    assert_not_found(client.get(f"/v1/interviews/{doomed_interview['id']}", headers=headers))
    assert_not_found(client.get(f"/v1/notes/{note_on_opportunity['id']}", headers=headers))
    assert_not_found(client.get(f"/v1/notes/{note_on_interview['id']}", headers=headers))
    assert activity(client, headers, doomed["id"]) == []
    all_activity = list_all(client, headers, "/v1/activity")
    assert all_activity and all(entry["opportunity_id"] != doomed["id"] for entry in all_activity)
    assert logged.json()["id"] not in ids(all_activity)
    interviews = list_all(client, headers, "/v1/interviews")
    assert ids(interviews) == [kept_interview["id"]]
    notes = list_all(client, headers, "/v1/notes")
    assert set(ids(notes)) == {note_on_contact["id"], note_on_kept["id"]}
    # Contacts survive, without the deleted opportunity.
    contact_now = client.get(f"/v1/contacts/{contact['id']}", headers=headers)
    assert contact_now.status_code == 200, contact_now.text
    assert contact_now.json()["opportunity_ids"] == [kept["id"]]
    solo_now = client.get(f"/v1/contacts/{only_doomed_contact['id']}", headers=headers)
    assert solo_now.status_code == 200, solo_now.text
    assert solo_now.json()["opportunity_ids"] == []
    assert ids(everything(client, headers)) == [kept["id"]]
    assert get(client, headers, kept["id"]) == kept


# ---- filters -----------------------------------------------------------------------------------


def test_status_filter(client: TestClient, headers: dict[str, str]) -> None:
    made = {
        status: create_opportunity(client, headers, status=status)["id"] for status in ("wishlist", "applied")
    }
    second_applied = create_opportunity(client, headers, status="applied")["id"]
    assert set(ids(everything(client, headers, status="applied"))) == {made["applied"], second_applied}
    assert ids(everything(client, headers, status="wishlist")) == [made["wishlist"]]
    assert everything(client, headers, status="offer") == []


def test_list_rejects_invalid_query_parameters(client: TestClient, headers: dict[str, str]) -> None:
    failures: list[str] = []
    for param, value in [
        ("status", "bogus"),
        ("status", "APPLIED"),
        ("sort", "salary"),
        ("sort", "-created_at"),
        ("archived", "maybe"),
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "-1"),
        ("limit", "abc"),
        ("q", "q" * 301),
    ]:
        with case(failures, f"{param}={value[:20]}"):
            assert_invalid(client.get(PATH, params={param: value}, headers=headers), ["query", param])
    assert not failures, "\n".join(failures)


def test_limit_bounds_are_inclusive(client: TestClient, headers: dict[str, str]) -> None:
    for _ in range(3):
        create_opportunity(client, headers)
    assert len(list_page(client, headers, PATH, limit=1)["items"]) == 1
    full = list_page(client, headers, PATH, limit=200)
    assert len(full["items"]) == 3 and full["next_cursor"] is None
    default = list_page(client, headers, PATH)
    assert len(default["items"]) == 3 and default["next_cursor"] is None


def test_tag_filter_is_exact_and_case_insensitive(client: TestClient, headers: dict[str, str]) -> None:
    python = create_opportunity(client, headers, tags=["Python", "remote"])
    pythonic = create_opportunity(client, headers, tags=["pythonic"])
    create_opportunity(client, headers, tags=[])
    assert ids(everything(client, headers, tag="python")) == [python["id"]]
    assert ids(everything(client, headers, tag="PYTHON")) == [python["id"]]
    assert ids(everything(client, headers, tag="Remote")) == [python["id"]]
    assert ids(everything(client, headers, tag="pythonic")) == [pythonic["id"]]
    assert everything(client, headers, tag="pyth") == []
    assert everything(client, headers, tag="java") == []


def test_archived_are_listed_only_with_archived_true(client: TestClient, headers: dict[str, str]) -> None:
    active = create_opportunity(client, headers, company="Active")
    archived = create_opportunity(client, headers, company="Archived", archived=True)
    later = create_opportunity(client, headers, company="Later")
    assert archived["archived"] is True
    assert set(ids(everything(client, headers))) == {active["id"], later["id"]}
    assert set(ids(everything(client, headers, archived="false"))) == {active["id"], later["id"]}
    assert ids(everything(client, headers, archived="true")) == [archived["id"]]
    # Archiving and un-archiving by PATCH moves it between the two lists.
    patch(client, headers, later["id"], {"archived": True})
    assert ids(everything(client, headers)) == [active["id"]]
    assert set(ids(everything(client, headers, archived="true"))) == {archived["id"], later["id"]}
    patch(client, headers, archived["id"], {"archived": False})
    assert set(ids(everything(client, headers))) == {active["id"], archived["id"]}
    # Filters combine with archived.
    assert ids(everything(client, headers, archived="true", q="later")) == [later["id"]]
    assert everything(client, headers, q="later") == []


def test_filters_combine(client: TestClient, headers: dict[str, str]) -> None:
    target = create_opportunity(client, headers, company="Acme", status="applied", tags=["python"])
    create_opportunity(client, headers, company="Acme", status="wishlist", tags=["python"])
    create_opportunity(client, headers, company="Acme", status="applied", tags=["go"])
    create_opportunity(client, headers, company="Other", status="applied", tags=["python"])
    assert ids(everything(client, headers, status="applied", tag="python", q="acme")) == [target["id"]]


# ---- search ------------------------------------------------------------------------------------


def test_search_matches_word_prefixes_of_every_word(client: TestClient, headers: dict[str, str]) -> None:
    acme = create_opportunity(client, headers, company="ACME Engineering", role="Platform Developer")
    globex = create_opportunity(client, headers, company="Globex", role="Engineering Manager")
    assert search(client, headers, "acme eng") == {acme["id"]}
    assert search(client, headers, "eng") == {acme["id"], globex["id"]}
    assert search(client, headers, "engineering") == {acme["id"], globex["id"]}
    assert search(client, headers, "plat dev") == {acme["id"]}
    assert search(client, headers, "Manager glob") == {globex["id"]}
    # Every word must match.
    assert search(client, headers, "acme zebra") == set()
    # A word matches the start of a word, not its middle.
    assert search(client, headers, "cme") == set()
    assert search(client, headers, "neering") == set()


def test_search_is_case_and_diacritic_insensitive(client: TestClient, headers: dict[str, str]) -> None:
    societe = create_opportunity(client, headers, company="Société Générale", role="Développeur")
    zurich = create_opportunity(client, headers, company="Zurich Insurance", role="Analyst")
    assert search(client, headers, "societe gen") == {societe["id"]}
    assert search(client, headers, "SOCIÉTÉ") == {societe["id"]}
    assert search(client, headers, "develop") == {societe["id"]}
    assert search(client, headers, "zürich") == {zurich["id"]}
    assert search(client, headers, "ZURICH insur") == {zurich["id"]}


def test_search_covers_tags_and_job_description(client: TestClient, headers: dict[str, str]) -> None:
    tagged = create_opportunity(client, headers, company="One", tags=["kubernetes", "remote-first"])
    described = create_opportunity(
        client, headers, company="Two", job_description="You will design distributed systems at scale."
    )
    create_opportunity(client, headers, company="Three", job_description="Nothing relevant here.")
    assert search(client, headers, "kube") == {tagged["id"]}
    assert search(client, headers, "distrib sys") == {described["id"]}
    assert search(client, headers, "scale") == {described["id"]}


def test_search_follows_updates_and_deletes(client: TestClient, headers: dict[str, str]) -> None:
    created = create_opportunity(client, headers, company="Initech", tags=["legacy"])
    assert search(client, headers, "initech") == {created["id"]}
    patch(
        client,
        headers,
        created["id"],
        {"company": "Hooli", "tags": ["modern"], "job_description": "Compression"},
    )
    assert search(client, headers, "initech") == set()
    assert search(client, headers, "legacy") == set()
    assert search(client, headers, "hooli") == {created["id"]}
    assert search(client, headers, "modern") == {created["id"]}
    assert search(client, headers, "compress") == {created["id"]}
    assert client.delete(f"{PATH}/{created['id']}", headers=headers).status_code == 204
    assert search(client, headers, "hooli") == set()


def test_lists_and_search_never_show_another_users_data(client: TestClient, headers: dict[str, str]) -> None:
    other = auth_headers(client, "mallory@example.com")
    create_opportunity(
        client, other, company="Umbrella", status="applied", job_description="secret project", tags=["x"]
    )
    create_opportunity(client, other, company="Umbrella", archived=True, tags=["classified"])
    mine = create_opportunity(client, headers, company="Umbrella", status="applied", tags=["x"])
    for params in ({}, {"status": "applied"}, {"tag": "x"}, {"q": "umbrella"}, {"sort": "company"}):
        assert ids(everything(client, headers, **params)) == [mine["id"]], params
    assert everything(client, headers, archived="true") == []
    assert search(client, headers, "secret") == set()
    assert search(client, headers, "classified", archived="true") == set()
    assert search(client, headers, "umbrella", archived="true") == set()


def test_search_treats_query_syntax_as_plain_words(client: TestClient, headers: dict[str, str]) -> None:
    """FTS5 operators are words like any other: every one of them must match, so none of these does;
    punctuation never makes a search fail."""
    acme = create_opportunity(client, headers, company="Acme Engineering")
    failures: list[str] = []
    for q in [
        "acme OR zebra",
        "acme NOT engineering",
        "NEAR(acme zebra)",
        "company:zebra",
        "acme AND",
        "acme zebra*",
        '"acme" "zebra"',
        "'; DROP TABLE opportunities; --",
    ]:
        with case(failures, q):
            assert list_page(client, headers, PATH, q=q)["items"] == []
    for q in ['"', "(", ")", "*", "acme*", "-acme", "^acme", "c++", "acme:", "{acme}", "'", "\\"]:
        with case(failures, q):
            assert set(ids(list_page(client, headers, PATH, q=q)["items"])) <= {acme["id"]}
    assert not failures, "\n".join(failures)
    assert ids(everything(client, headers)) == [acme["id"]]


def test_blank_search_is_no_filter_and_300_characters_are_accepted(
    client: TestClient, headers: dict[str, str]
) -> None:
    first = create_opportunity(client, headers, company="First")
    second = create_opportunity(client, headers, company="Second")
    for q in ("", "   "):
        assert set(ids(everything(client, headers, q=q))) == {first["id"], second["id"]}, repr(q)
    assert list_page(client, headers, PATH, q="a" * 300)["items"] == []


# ---- sorting and pagination --------------------------------------------------------------------


def test_sort_by_updated_at_is_the_default_and_created_at_newest_first(
    client: TestClient, headers: dict[str, str]
) -> None:
    first = create_opportunity(client, headers, company="First")
    second = create_opportunity(client, headers, company="Second")
    third = create_opportunity(client, headers, company="Third")
    assert ids(everything(client, headers)) == [third["id"], second["id"], first["id"]]
    patch(client, headers, first["id"], {"role": "Touched"})
    by_updated = [first["id"], third["id"], second["id"]]
    assert ids(everything(client, headers)) == by_updated
    assert ids(everything(client, headers, sort="updated_at")) == by_updated
    assert ids(everything(client, headers, limit=1)) == by_updated
    by_created = [third["id"], second["id"], first["id"]]
    assert ids(everything(client, headers, sort="created_at")) == by_created
    assert ids(everything(client, headers, sort="created_at", limit=2)) == by_created


def test_sort_by_company_is_a_to_z_case_insensitive(client: TestClient, headers: dict[str, str]) -> None:
    names = ["cherry", "Banana", "apple", "Apricot", "banana split", "Éclair", "date"]
    made = {name: create_opportunity(client, headers, company=name)["id"] for name in names}
    listed = everything(client, headers, sort="company")
    order = [item["company"] for item in listed]
    plain = [name for name in order if name != "Éclair"]
    assert plain == ["apple", "Apricot", "Banana", "banana split", "cherry", "date"]
    assert set(ids(listed)) == set(made.values())
    assert ids(everything(client, headers, sort="company", limit=2)) == ids(listed)


def test_sort_by_applied_at_newest_first_with_nulls_last(client: TestClient, headers: dict[str, str]) -> None:
    never = create_opportunity(client, headers, company="Never applied")
    old = create_opportunity(client, headers, company="Old", applied_at="2025-01-10T09:00:00Z")
    new = create_opportunity(client, headers, company="New", applied_at="2026-02-01T09:00:00+05:00")
    middle = create_opportunity(client, headers, company="Middle", applied_at="2025-06-30T23:59:59-07:00")
    never_too = create_opportunity(client, headers, company="Also never")
    listed = ids(everything(client, headers, sort="applied_at"))
    assert listed[:3] == [new["id"], middle["id"], old["id"]]
    assert set(listed[3:]) == {never["id"], never_too["id"]}
    assert ids(everything(client, headers, sort="applied_at", limit=1)) == listed


def test_sort_ties_are_broken_by_id_and_paginate_without_gaps(
    client: TestClient, headers: dict[str, str]
) -> None:
    # Two groups whose members tie on company and on applied_at (a date, or null).
    dated = [
        create_opportunity(client, headers, company="same", applied_at="2026-01-01T00:00:00Z")["id"]
        for _ in range(4)
    ]
    undated = [create_opportunity(client, headers, company="Other")["id"] for _ in range(4)]

    def by_id(group: list[str]) -> tuple[list[str], list[str]]:
        return sorted(group), sorted(group, reverse=True)

    by_company = ids(everything(client, headers, sort="company"))
    assert by_company[:4] in by_id(undated) and by_company[4:] in by_id(dated), by_company
    by_applied = ids(everything(client, headers, sort="applied_at"))
    assert by_applied[:4] in by_id(dated) and by_applied[4:] in by_id(undated), by_applied
    for limit in (1, 3):
        assert ids(everything(client, headers, sort="company", limit=limit)) == by_company
        assert ids(everything(client, headers, sort="applied_at", limit=limit)) == by_applied


def test_pagination_neither_skips_nor_repeats_while_the_list_changes(
    client: TestClient, headers: dict[str, str]
) -> None:
    made = [create_opportunity(client, headers, company=f"Company {i:02}")["id"] for i in range(7)]
    first_page = list_page(client, headers, PATH, sort="company", limit=3)
    assert [item["company"] for item in first_page["items"]] == ["Company 00", "Company 01", "Company 02"]
    # Between pages: one already seen is deleted, one not yet seen is deleted, a new one sorts ahead.
    assert client.delete(f"{PATH}/{made[1]}", headers=headers).status_code == 204
    assert client.delete(f"{PATH}/{made[4]}", headers=headers).status_code == 204
    create_opportunity(client, headers, company="Company 00a")
    late = create_opportunity(client, headers, company="Company 99")
    seen = ids(first_page["items"])
    cursor = first_page["next_cursor"]
    while cursor is not None:
        page = list_page(client, headers, PATH, sort="company", limit=3, cursor=cursor)
        seen.extend(ids(page["items"]))
        cursor = page["next_cursor"]
    assert seen == [made[0], made[1], made[2], made[3], made[5], made[6], late["id"]]


def test_tampered_or_foreign_cursors_are_400(client: TestClient, headers: dict[str, str]) -> None:
    for i in range(3):
        create_opportunity(client, headers, company=f"C{i}", status="applied")
    cursor = list_page(client, headers, PATH, limit=1)["next_cursor"]
    assert isinstance(cursor, str)

    def flip(index: int) -> str:
        assert isinstance(cursor, str)
        return cursor[:index] + ("A" if cursor[index] != "A" else "B") + cursor[index + 1 :]

    tampered = [flip(0), flip(len(cursor) // 2), flip(len(cursor) - 2), cursor + "x", "x" + cursor, "garbage"]
    for bad in [*tampered, cursor[: len(cursor) // 2]]:
        assert_problem(client.get(PATH, params={"limit": 1, "cursor": bad}, headers=headers), 400, bad)
    # The same cursor with other filters or another sort belongs to another list.
    for params in ({"sort": "company"}, {"status": "applied"}, {"archived": "true"}, {"q": "c0"}):
        assert_problem(
            client.get(PATH, params={"limit": 1, "cursor": cursor, **params}, headers=headers), 400
        )
    # Another user's list.
    other = auth_headers(client, "mallory@example.com")
    create_opportunity(client, other)
    create_opportunity(client, other)
    assert_problem(client.get(PATH, params={"limit": 1, "cursor": cursor}, headers=other), 400)
    # The genuine cursor still works.
    assert len(list_page(client, headers, PATH, limit=1, cursor=cursor)["items"]) == 1
