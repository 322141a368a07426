"""Interviews over HTTP: create, read, list (order and filters), PATCH, DELETE and the activity they leave
(API.md, Interviews; records design, Interviews)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.db import get_database
from tests.records import (
    INTERVIEW_FIELDS,
    TIME_Z,
    assert_invalid,
    assert_not_found,
    auth_headers,
    case,
    create_interview,
    create_note,
    create_opportunity,
    ids,
    list_all,
    parse_time,
)

KINDS = (
    "recruiter",
    "phone_screen",
    "technical",
    "coding",
    "system_design",
    "behavioral",
    "hiring_manager",
    "onsite",
    "panel",
    "take_home",
    "other",
)
OUTCOMES = ("pending", "passed", "failed", "cancelled")
OPTIONAL_FIELDS = ("title", "scheduled_at", "duration_minutes", "location", "meeting_url", "debrief")


# ---- helpers -----------------------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    """Rows per table: a rejected request must leave every count as it was."""
    db = get_database()
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows]
    return {name: int(db.execute(f'SELECT count(*) FROM "{name}"').scalar()) for name in names}


def utc_text(value: str) -> str:
    """The API's output form of an input time: UTC, microseconds, `Z`."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def get_interview(client: TestClient, headers: dict[str, str], interview_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/interviews/{interview_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def patch(client: TestClient, headers: dict[str, str], interview_id: str, body: Any) -> Any:
    return client.patch(f"/v1/interviews/{interview_id}", json=body, headers=headers)


def activity(client: TestClient, headers: dict[str, str], opportunity_id: str) -> list[dict[str, Any]]:
    return list_all(client, headers, "/v1/activity", opportunity_id=opportunity_id, limit=200)


def kinds_for(entries: list[dict[str, Any]], interview_id: str) -> list[str]:
    return [entry["kind"] for entry in entries if entry.get("interview_id") == interview_id]


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


@pytest.fixture
def other(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "bob@example.com")


@pytest.fixture
def opportunity(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    return create_opportunity(client, headers, company="Initech", role="Backend Engineer")


# ---- create and read ---------------------------------------------------------------------------


def test_create_minimal_has_defaults_and_read_only_fields(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    before = datetime.now(UTC)
    interview = create_interview(client, headers, opportunity["id"])
    assert set(interview) >= INTERVIEW_FIELDS
    assert interview["opportunity_id"] == opportunity["id"]
    assert interview["kind"] == "other"
    assert interview["outcome"] == "pending"
    assert interview["interviewers"] == []
    assert interview["source"] == "manual"
    assert interview["calendar_event_id"] is None
    assert interview["prep_status"] == "none"
    for name in OPTIONAL_FIELDS:
        assert interview[name] is None, name
    created = parse_time(interview["created_at"])
    assert before.replace(microsecond=0) <= created <= datetime.now(UTC)
    assert parse_time(interview["updated_at"]) >= created
    assert get_interview(client, headers, interview["id"]) == interview


def test_create_full_round_trips_and_normalises_times(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    body = {
        "kind": "system_design",
        "title": "System design with the platform team",
        "scheduled_at": "2026-12-01T10:00:00+02:00",
        "duration_minutes": 45,
        "location": "Building 4, room 12",
        "meeting_url": "https://meet.example.com/abc-defg-hij?pwd=1",
        "interviewers": ["Peter Gibbons", "Samir Nagheenanajar"],
        "outcome": "passed",
        "debrief": "Went well.\nAsked about sharding.\n\tFollow up on caching.",
    }
    interview = create_interview(client, headers, opportunity["id"], **body)
    expected = {**body, "scheduled_at": "2026-12-01T08:00:00.000000Z"}
    for name, value in expected.items():
        assert interview[name] == value, name
    assert interview["source"] == "manual" and interview["prep_status"] == "none"
    assert get_interview(client, headers, interview["id"]) == interview


def test_an_early_year_is_stored_fixed_width_and_sorts_first(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    # Years below 1000 came back as "999-01-01T..." (unpadded), sorted after 2026 and broke reading back.
    early = create_interview(client, headers, opportunity["id"], scheduled_at="0999-01-01T01:00:00+01:00")
    late = create_interview(client, headers, opportunity["id"], scheduled_at="2026-12-01T10:00:00Z")
    assert early["scheduled_at"] == "0999-01-01T00:00:00.000000Z"
    assert get_interview(client, headers, early["id"]) == early
    listed = [item["id"] for item in list_all(client, headers, "/v1/interviews")]
    assert listed.index(early["id"]) < listed.index(late["id"])


def test_every_kind_is_accepted(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    for kind in KINDS:
        assert create_interview(client, headers, opportunity["id"], kind=kind)["kind"] == kind


def test_every_outcome_and_the_bounds_are_accepted(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    for outcome in OUTCOMES:
        assert create_interview(client, headers, opportunity["id"], outcome=outcome)["outcome"] == outcome
    for minutes in (1, 1440):
        created = create_interview(client, headers, opportunity["id"], duration_minutes=minutes)
        assert created["duration_minutes"] == minutes
    names = [f"Interviewer {i}" for i in range(50)]
    assert create_interview(client, headers, opportunity["id"], interviewers=names)["interviewers"] == names
    title = "T" * 300
    assert create_interview(client, headers, opportunity["id"], title=title)["title"] == title
    debrief = "d" * 100_000
    assert create_interview(client, headers, opportunity["id"], debrief=debrief)["debrief"] == debrief
    url = "https://meet.example.com/" + "a" * (300 - len("https://meet.example.com/"))
    assert create_interview(client, headers, opportunity["id"], meeting_url=url)["meeting_url"] == url


INVALID_CREATE: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("kind not in enum", {"kind": "lunch"}, ["body", "kind"]),
    ("kind wrong case", {"kind": "Technical"}, ["body", "kind"]),
    ("kind null", {"kind": None}, ["body", "kind"]),
    ("outcome not in enum", {"outcome": "maybe"}, ["body", "outcome"]),
    ("outcome null", {"outcome": None}, ["body", "outcome"]),
    ("source manual", {"source": "manual"}, ["body", "source"]),
    ("source calendar", {"source": "calendar"}, ["body", "source"]),
    ("calendar_event_id", {"calendar_event_id": "evt_123"}, ["body", "calendar_event_id"]),
    ("prep_status", {"prep_status": "ready"}, ["body", "prep_status"]),
    ("id", {"id": "0" * 32}, ["body", "id"]),
    ("user_id", {"user_id": "0" * 32}, ["body", "user_id"]),
    ("created_at", {"created_at": "2026-01-01T00:00:00Z"}, ["body", "created_at"]),
    ("updated_at", {"updated_at": "2026-01-01T00:00:00Z"}, ["body", "updated_at"]),
    ("unknown field", {"company": "Acme"}, ["body", "company"]),
    ("naive scheduled_at", {"scheduled_at": "2026-12-01T10:00:00"}, ["body", "scheduled_at"]),
    ("date-only scheduled_at", {"scheduled_at": "2026-12-01"}, ["body", "scheduled_at"]),
    ("garbage scheduled_at", {"scheduled_at": "next tuesday"}, ["body", "scheduled_at"]),
    ("numeric scheduled_at", {"scheduled_at": 1796112000}, ["body", "scheduled_at"]),
    (
        "scheduled_at before year 1 in UTC",
        {"scheduled_at": "0001-01-01T00:30:00+01:00"},
        ["body", "scheduled_at"],
    ),
    (
        "scheduled_at after 9999 in UTC",
        {"scheduled_at": "9999-12-31T23:30:00-01:00"},
        ["body", "scheduled_at"],
    ),
    ("duration 0", {"duration_minutes": 0}, ["body", "duration_minutes"]),
    ("duration negative", {"duration_minutes": -30}, ["body", "duration_minutes"]),
    ("duration over a day", {"duration_minutes": 1441}, ["body", "duration_minutes"]),
    ("duration fractional", {"duration_minutes": 30.5}, ["body", "duration_minutes"]),
    ("duration as text", {"duration_minutes": "30"}, ["body", "duration_minutes"]),
    ("duration boolean", {"duration_minutes": True}, ["body", "duration_minutes"]),
    ("51 interviewers", {"interviewers": [f"P{i}" for i in range(51)]}, ["body", "interviewers"]),
    ("interviewers not a list", {"interviewers": "Ada"}, ["body", "interviewers"]),
    ("interviewers null", {"interviewers": None}, ["body", "interviewers"]),
    ("empty interviewer", {"interviewers": ["Ada", ""]}, ["body", "interviewers", 1]),
    ("blank interviewer", {"interviewers": ["   "]}, ["body", "interviewers", 0]),
    ("long interviewer", {"interviewers": ["x" * 301]}, ["body", "interviewers", 0]),
    ("interviewer not text", {"interviewers": ["Ada", 7]}, ["body", "interviewers", 1]),
    ("interviewer control char", {"interviewers": ["Ada\nLovelace"]}, ["body", "interviewers", 0]),
    ("meeting_url javascript", {"meeting_url": "javascript:alert(1)"}, ["body", "meeting_url"]),
    ("meeting_url ftp", {"meeting_url": "ftp://example.com/x"}, ["body", "meeting_url"]),
    ("meeting_url relative", {"meeting_url": "meet.example.com/abc"}, ["body", "meeting_url"]),
    ("meeting_url no host", {"meeting_url": "https://"}, ["body", "meeting_url"]),
    ("meeting_url space", {"meeting_url": "https://exa mple.com/"}, ["body", "meeting_url"]),
    ("meeting_url too long", {"meeting_url": "https://e.com/" + "a" * 287}, ["body", "meeting_url"]),
    ("meeting_url not text", {"meeting_url": 42}, ["body", "meeting_url"]),
    ("title empty", {"title": ""}, ["body", "title"]),
    ("title too long", {"title": "x" * 301}, ["body", "title"]),
    ("title control char", {"title": "a\x07b"}, ["body", "title"]),
    ("location too long", {"location": "x" * 301}, ["body", "location"]),
    ("debrief too long", {"debrief": "x" * 100_001}, ["body", "debrief"]),
    ("debrief NUL", {"debrief": "a\x00b"}, ["body", "debrief"]),
]


def test_invalid_create_is_422_and_writes_nothing(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    failures: list[str] = []
    before = row_counts()
    for name, fields, loc in INVALID_CREATE:
        with case(failures, name):
            body = {"opportunity_id": opportunity["id"], **fields}
            assert_invalid(client.post("/v1/interviews", json=body, headers=headers), loc)
    for name, body in [
        ("opportunity_id missing", {}),
        ("opportunity_id null", {"opportunity_id": None}),
        ("opportunity_id empty", {"opportunity_id": ""}),
        ("opportunity_id a number", {"opportunity_id": 5}),
        ("opportunity_id missing, other fields given", {"kind": "technical", "title": "Screen"}),
    ]:
        with case(failures, name):
            assert_invalid(
                client.post("/v1/interviews", json=body, headers=headers), ["body", "opportunity_id"]
            )
    assert not failures, "\n".join(failures)
    assert row_counts() == before
    assert list_all(client, headers, "/v1/interviews") == []


def test_opportunity_id_must_be_the_callers(
    client: TestClient, headers: dict[str, str], other: dict[str, str], opportunity: dict[str, Any]
) -> None:
    foreign = create_opportunity(client, other, company="Bob's Burgers")
    before = row_counts()
    for opportunity_id in (foreign["id"], uuid.uuid4().hex, "not-an-id"):
        response = client.post(
            "/v1/interviews", json={"opportunity_id": opportunity_id, "title": "Sneaky"}, headers=headers
        )
        assert_invalid(response, ["body", "opportunity_id"])
    assert row_counts() == before
    assert list_all(client, headers, "/v1/interviews") == []
    assert list_all(client, other, "/v1/interviews") == []
    # Bob's opportunity has no activity from Ada's attempts.
    assert [entry["kind"] for entry in activity(client, other, foreign["id"])] == ["created"]


def test_body_must_be_an_object(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    before = row_counts()
    for body in ([{"opportunity_id": opportunity["id"]}], "text", 3, None):
        response = client.post("/v1/interviews", json=body, headers=headers)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert row_counts() == before


# ---- read: unknown ids -------------------------------------------------------------------------


def test_unknown_and_malformed_ids_are_404_with_one_body(client: TestClient, headers: dict[str, str]) -> None:
    bodies = []
    for interview_id in (uuid.uuid4().hex, "not-an-id", "x" * 200, "0"):
        for method in ("GET", "PATCH", "DELETE"):
            json_body = {"title": "x"} if method == "PATCH" else None
            response = client.request(
                method, f"/v1/interviews/{interview_id}", json=json_body, headers=headers
            )
            bodies.append(assert_not_found(response))
    assert all(body == bodies[0] for body in bodies), bodies


# ---- list: order and filters -------------------------------------------------------------------

SCHEDULES = [
    "2026-12-03T09:00:00+00:00",
    None,
    "2026-12-01T23:30:00-05:00",  # 2026-12-02T04:30Z
    "2026-12-02T06:00:00+02:00",  # 2026-12-02T04:00Z
    None,
    "2026-12-02T04:00:00Z",  # the same instant as the one above: tie broken by id
    "2026-11-30T12:00:00.250000+01:00",
    None,
]


def expected_order(created: list[dict[str, Any]]) -> list[str]:
    scheduled = sorted((i for i in created if i["scheduled_at"]), key=lambda i: (i["scheduled_at"], i["id"]))
    unscheduled = sorted((i for i in created if not i["scheduled_at"]), key=lambda i: i["id"])
    return ids(scheduled + unscheduled)


@pytest.fixture
def scheduled(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    second = create_opportunity(client, headers, company="Globex", role="SRE")
    created = []
    for n, when in enumerate(SCHEDULES):
        owner = opportunity if n % 2 == 0 else second
        fields: dict[str, Any] = {"title": f"Round {n}", "outcome": OUTCOMES[n % len(OUTCOMES)]}
        if when is not None:
            fields["scheduled_at"] = when
        interview = create_interview(client, headers, owner["id"], **fields)
        assert interview["scheduled_at"] == (utc_text(when) if when else None)
        created.append(interview)
    return second, created


def test_list_is_ordered_by_scheduled_at_unscheduled_last(
    client: TestClient, headers: dict[str, str], scheduled: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    _, created = scheduled
    listed = list_all(client, headers, "/v1/interviews")
    assert ids(listed) == expected_order(created)
    assert listed == sorted(created, key=lambda i: expected_order(created).index(i["id"]))
    for item in listed:
        assert item["scheduled_at"] is None or TIME_Z.match(item["scheduled_at"])
    # The same order page by page.
    assert ids(list_all(client, headers, "/v1/interviews", limit=3)) == expected_order(created)


def test_list_filters(
    client: TestClient,
    headers: dict[str, str],
    opportunity: dict[str, Any],
    scheduled: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    second, created = scheduled

    def check(expected: list[dict[str, Any]], **params: Any) -> None:
        assert ids(list_all(client, headers, "/v1/interviews", **params)) == expected_order(expected), params

    for owner in (opportunity, second):
        check([i for i in created if i["opportunity_id"] == owner["id"]], opportunity_id=owner["id"])
    for outcome in OUTCOMES:
        check([i for i in created if i["outcome"] == outcome], outcome=outcome)
    # from is inclusive, to exclusive, both compared as instants whatever the offset.
    start, end = "2026-12-02T06:00:00+02:00", "2026-12-02T04:30:00Z"

    def between(item: dict[str, Any], low: str | None, high: str | None) -> bool:
        if item["scheduled_at"] is None:
            return False
        moment = parse_time(item["scheduled_at"])
        return (low is None or moment >= datetime.fromisoformat(low)) and (
            high is None or moment < datetime.fromisoformat(high)
        )

    window = [i for i in created if between(i, start, end)]
    assert len(window) == 2  # the two interviews at 04:00Z; the one at 04:30Z is excluded
    check(window, **{"from": start, "to": end})
    check([i for i in created if between(i, start, None)], **{"from": start})
    check([i for i in created if between(i, None, end)], to=end)
    check(
        [i for i in created if between(i, start, None) and i["opportunity_id"] == opportunity["id"]],
        **{"from": start, "opportunity_id": opportunity["id"]},
    )
    # Unknown or foreign ids in a filter simply match nothing.
    check([], opportunity_id=uuid.uuid4().hex)
    check([], **{"from": "2030-01-01T00:00:00Z"})


def test_invalid_list_query_is_422(client: TestClient, headers: dict[str, str]) -> None:
    failures: list[str] = []
    for params, loc in [
        ({"from": "2026-12-02T06:00:00"}, ["query", "from"]),
        ({"to": "2026-12-02T06:00:00"}, ["query", "to"]),
        ({"from": "yesterday"}, ["query", "from"]),
        ({"outcome": "won"}, ["query", "outcome"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "201"}, ["query", "limit"]),
    ]:
        with case(failures, str(params)):
            assert_invalid(client.get("/v1/interviews", params=params, headers=headers), loc)
    assert not failures, "\n".join(failures)


# ---- PATCH -------------------------------------------------------------------------------------


@pytest.fixture
def full(client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]) -> dict[str, Any]:
    return create_interview(
        client,
        headers,
        opportunity["id"],
        kind="technical",
        title="Pairing",
        scheduled_at="2026-12-05T15:00:00Z",
        duration_minutes=60,
        location="Remote",
        meeting_url="https://meet.example.com/x",
        interviewers=["Milton"],
        debrief="Notes",
    )


def test_patch_changes_only_given_fields(
    client: TestClient, headers: dict[str, str], full: dict[str, Any]
) -> None:
    response = patch(
        client, headers, full["id"], {"title": "Pairing, round 2", "interviewers": ["Milton", "Bill"]}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    expected = {**full, "title": "Pairing, round 2", "interviewers": ["Milton", "Bill"]}
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        k: v for k, v in expected.items() if k != "updated_at"
    }
    assert parse_time(updated["updated_at"]) >= parse_time(full["updated_at"])
    assert get_interview(client, headers, full["id"]) == updated
    response = patch(
        client, headers, full["id"], {"scheduled_at": "2026-12-05T10:00:00-08:00", "kind": "coding"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["scheduled_at"] == "2026-12-05T18:00:00.000000Z"
    assert response.json()["kind"] == "coding"


def test_empty_patch_returns_it_unchanged(
    client: TestClient, headers: dict[str, str], full: dict[str, Any]
) -> None:
    response = patch(client, headers, full["id"], {})
    assert response.status_code == 200, response.text
    assert response.json() == full
    assert get_interview(client, headers, full["id"]) == full


def test_patch_null_clears_optional_fields(
    client: TestClient, headers: dict[str, str], full: dict[str, Any]
) -> None:
    response = patch(client, headers, full["id"], dict.fromkeys(OPTIONAL_FIELDS))
    assert response.status_code == 200, response.text
    updated = response.json()
    for name in OPTIONAL_FIELDS:
        assert updated[name] is None, name
    for name in ("opportunity_id", "kind", "interviewers", "outcome", "source", "prep_status", "created_at"):
        assert updated[name] == full[name], name
    assert get_interview(client, headers, full["id"]) == updated


INVALID_PATCH: list[tuple[dict[str, Any], list[Any]]] = [
    ({"opportunity_id": None}, ["body", "opportunity_id"]),
    ({"kind": None}, ["body", "kind"]),
    ({"outcome": None}, ["body", "outcome"]),
    ({"interviewers": None}, ["body", "interviewers"]),
    ({"kind": "dinner"}, ["body", "kind"]),
    ({"outcome": "won"}, ["body", "outcome"]),
    ({"source": "calendar"}, ["body", "source"]),
    ({"calendar_event_id": "evt"}, ["body", "calendar_event_id"]),
    ({"prep_status": "ready"}, ["body", "prep_status"]),
    ({"id": "0" * 32}, ["body", "id"]),
    ({"created_at": "2026-01-01T00:00:00Z"}, ["body", "created_at"]),
    ({"updated_at": "2026-01-01T00:00:00Z"}, ["body", "updated_at"]),
    ({"user_id": "0" * 32}, ["body", "user_id"]),
    ({"scheduled_at": "2026-12-01T10:00:00"}, ["body", "scheduled_at"]),
    ({"duration_minutes": 0}, ["body", "duration_minutes"]),
    ({"duration_minutes": 1441}, ["body", "duration_minutes"]),
    ({"meeting_url": "javascript:alert(1)"}, ["body", "meeting_url"]),
    ({"interviewers": [f"P{i}" for i in range(51)]}, ["body", "interviewers"]),
    ({"title": ""}, ["body", "title"]),
    ({"title": "ok", "bogus": 1}, ["body", "bogus"]),
]


def test_invalid_patch_is_422_and_changes_nothing(
    client: TestClient, headers: dict[str, str], full: dict[str, Any]
) -> None:
    failures: list[str] = []
    before = row_counts()
    for body, loc in INVALID_PATCH:
        with case(failures, str(body)[:80]):
            assert_invalid(patch(client, headers, full["id"], body), loc)
            assert get_interview(client, headers, full["id"]) == full
    assert not failures, "\n".join(failures)
    assert row_counts() == before


def test_patch_moves_to_another_own_opportunity_only(
    client: TestClient, headers: dict[str, str], other: dict[str, str], full: dict[str, Any]
) -> None:
    mine = create_opportunity(client, headers, company="Umbrella", role="Analyst")
    foreign = create_opportunity(client, other, company="Bob's Burgers")
    for opportunity_id in (foreign["id"], uuid.uuid4().hex):
        assert_invalid(
            patch(client, headers, full["id"], {"opportunity_id": opportunity_id}), ["body", "opportunity_id"]
        )
        assert get_interview(client, headers, full["id"]) == full
    response = patch(client, headers, full["id"], {"opportunity_id": mine["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["opportunity_id"] == mine["id"]
    assert ids(list_all(client, headers, "/v1/interviews", opportunity_id=mine["id"])) == [full["id"]]
    assert list_all(client, headers, "/v1/interviews", opportunity_id=full["opportunity_id"]) == []


# ---- DELETE ------------------------------------------------------------------------------------


def test_delete_removes_it_with_its_notes_and_activity(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    doomed = create_interview(
        client, headers, opportunity["id"], title="Doomed", scheduled_at="2026-12-01T09:00:00Z"
    )
    kept = create_interview(
        client, headers, opportunity["id"], title="Kept", scheduled_at="2026-12-02T09:00:00Z"
    )
    patch(client, headers, doomed["id"], {"outcome": "failed"})
    its_note = create_note(client, headers, body="About the doomed one", interview_id=doomed["id"])
    both_note = create_note(
        client, headers, body="Both links", interview_id=doomed["id"], opportunity_id=opportunity["id"]
    )
    kept_note = create_note(client, headers, body="About the kept one", interview_id=kept["id"])
    opportunity_note = create_note(client, headers, body="About the job", opportunity_id=opportunity["id"])
    assert kinds_for(activity(client, headers, opportunity["id"]), doomed["id"])  # it has activity

    response = client.delete(f"/v1/interviews/{doomed['id']}", headers=headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_not_found(client.get(f"/v1/interviews/{doomed['id']}", headers=headers))
    assert_not_found(client.delete(f"/v1/interviews/{doomed['id']}", headers=headers))
    assert_not_found(client.patch(f"/v1/interviews/{doomed['id']}", json={"title": "x"}, headers=headers))
    assert ids(list_all(client, headers, "/v1/interviews")) == [kept["id"]]
    for note in (its_note, both_note):
        assert_not_found(client.get(f"/v1/notes/{note['id']}", headers=headers))
    assert list_all(client, headers, "/v1/notes", interview_id=doomed["id"]) == []
    assert set(ids(list_all(client, headers, "/v1/notes"))) == {kept_note["id"], opportunity_note["id"]}
    entries = activity(client, headers, opportunity["id"])
    assert kinds_for(entries, doomed["id"]) == []
    assert "interview_scheduled" in kinds_for(entries, kept["id"])
    assert "created" in [entry["kind"] for entry in entries]
    assert get_interview(client, headers, kept["id"]) == kept
    # The opportunity itself survives.
    response = client.get(f"/v1/opportunities/{opportunity['id']}", headers=headers)
    assert response.status_code == 200 and response.json()["company"] == opportunity["company"]


def test_deleting_the_opportunity_deletes_its_interviews(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    other_opportunity = create_opportunity(client, headers, company="Globex", role="SRE")
    gone = create_interview(client, headers, opportunity["id"])
    kept = create_interview(client, headers, other_opportunity["id"])
    assert client.delete(f"/v1/opportunities/{opportunity['id']}", headers=headers).status_code == 204
    assert_not_found(client.get(f"/v1/interviews/{gone['id']}", headers=headers))
    assert ids(list_all(client, headers, "/v1/interviews")) == [kept["id"]]


# ---- activity ----------------------------------------------------------------------------------


def test_activity_entries_are_appended(
    client: TestClient, headers: dict[str, str], opportunity: dict[str, Any]
) -> None:
    interview = create_interview(client, headers, opportunity["id"], kind="phone_screen")
    entries = activity(client, headers, opportunity["id"])
    scheduled = [e for e in entries if e["kind"] == "interview_scheduled"]
    assert len(scheduled) == 1
    assert scheduled[0]["opportunity_id"] == opportunity["id"]
    assert scheduled[0]["interview_id"] == interview["id"]
    assert isinstance(scheduled[0]["summary"], str) and scheduled[0]["summary"]
    assert TIME_Z.match(scheduled[0]["occurred_at"])
    assert kinds_for(entries, interview["id"]) == ["interview_scheduled"]

    def updates() -> int:
        return kinds_for(activity(client, headers, opportunity["id"]), interview["id"]).count(
            "interview_updated"
        )

    # Neither a title change nor an empty PATCH is an interview update worth logging.
    assert patch(client, headers, interview["id"], {"title": "Screen with HR"}).status_code == 200
    assert patch(client, headers, interview["id"], {}).status_code == 200
    assert updates() == 0
    assert (
        patch(client, headers, interview["id"], {"scheduled_at": "2026-12-09T09:00:00Z"}).status_code == 200
    )
    assert updates() == 1
    assert patch(client, headers, interview["id"], {"outcome": "passed"}).status_code == 200
    assert updates() == 2
    # A rejected PATCH logs nothing.
    assert patch(client, headers, interview["id"], {"outcome": "won"}).status_code == 422
    assert updates() == 2
    # Activity of every interview is listed under its opportunity only.
    other_opportunity = create_opportunity(client, headers, company="Globex", role="SRE")
    assert kinds_for(activity(client, headers, other_opportunity["id"]), interview["id"]) == []
