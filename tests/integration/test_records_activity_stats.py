"""The activity timeline and the dashboard over HTTP: POST/GET /v1/activity, entries the service appends,
GET /v1/stats (API.md, Contacts, notes, activity and Dashboard; records design, Activity and Stats)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.problems import assert_problem, assert_unauthorized
from tests.records import (
    ACTIVITY_FIELDS,
    STATUSES,
    assert_invalid,
    auth_headers,
    case,
    create_activity,
    create_interview,
    create_note,
    create_opportunity,
    ids,
    iso,
    list_all,
    list_page,
    parse_time,
)

PATH = "/v1/activity"
SERVICE_KINDS = (
    "created",
    "status_changed",
    "interview_scheduled",
    "interview_updated",
    "prep_ready",
    "note",
)
USER_KINDS = ("email", "call", "message", "other")
STATS_KEYS = {"by_status", "upcoming_interviews", "response_rate", "interviews_this_week", "time_in_stage"}


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


def timeline(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return list_all(client, headers, PATH, **params)


def set_status(client: TestClient, headers: dict[str, str], opportunity_id: str, status: str) -> None:
    response = client.patch(f"/v1/opportunities/{opportunity_id}", json={"status": status}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == status


def opportunity_through(client: TestClient, headers: dict[str, str], path: list[str], **fields: Any) -> str:
    """An opportunity created in path[0] and then moved through the rest of path, in order."""
    created = create_opportunity(client, headers, status=path[0], **fields)
    for status in path[1:]:
        set_status(client, headers, created["id"], status)
    return str(created["id"])


def stats(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/v1/stats", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert STATS_KEYS <= body.keys(), body
    return dict(body)


def near_now(value: str) -> bool:
    moment = parse_time(value)
    now = datetime.now(UTC)
    return now - timedelta(minutes=1) <= moment <= now + timedelta(minutes=1)


# ---- POST /v1/activity -------------------------------------------------------------------------


def test_post_activity_round_trip(client: TestClient, headers: dict[str, str]) -> None:
    opportunity = create_opportunity(client, headers)
    response = client.post(
        PATH,
        json={
            "kind": "call",
            "summary": "Phoned the recruiter about the offer",
            "opportunity_id": opportunity["id"],
            "occurred_at": "2026-04-01T10:00:00+02:00",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    assert ACTIVITY_FIELDS <= entry.keys()
    assert isinstance(entry["id"], str) and entry["id"]
    assert entry["kind"] == "call"
    assert entry["summary"] == "Phoned the recruiter about the offer"
    assert entry["opportunity_id"] == opportunity["id"]
    assert entry["occurred_at"] == "2026-04-01T08:00:00.000000Z"
    assert near_now(entry["created_at"])
    for derived in ("interview_id", "from_status", "to_status"):
        assert entry.get(derived) is None, derived
    listed = timeline(client, headers, opportunity_id=opportunity["id"])
    assert entry in listed
    # occurred_at defaults to now; opportunity_id is optional.
    loose = create_activity(client, headers, kind="message", summary="LinkedIn message to Grace")
    assert near_now(loose["occurred_at"])
    assert loose["opportunity_id"] is None
    assert timeline(client, headers, kind="message") == [loose]


def test_every_user_kind_is_accepted(client: TestClient, headers: dict[str, str]) -> None:
    for kind in USER_KINDS:
        entry = create_activity(client, headers, kind=kind, summary=f"A {kind}")
        assert (entry["kind"], entry["summary"]) == (kind, f"A {kind}")
        assert ids(timeline(client, headers, kind=kind)) == [entry["id"]]
    assert create_activity(client, headers, summary="s" * 2000)["summary"] == "s" * 2000


MISSING = object()  # in a test body: leave the field out
INVALID: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("kind missing", {"kind": MISSING}, ["body", "kind"]),
    ("summary missing", {"summary": MISSING}, ["body", "summary"]),
    *((f"service kind {kind}", {"kind": kind}, ["body", "kind"]) for kind in SERVICE_KINDS),
    ("unknown kind", {"kind": "meeting"}, ["body", "kind"]),
    ("kind wrong case", {"kind": "EMAIL"}, ["body", "kind"]),
    ("kind null", {"kind": None}, ["body", "kind"]),
    ("kind number", {"kind": 3}, ["body", "kind"]),
    ("summary empty", {"summary": ""}, ["body", "summary"]),
    ("summary blank", {"summary": "   "}, ["body", "summary"]),
    ("summary over 2000", {"summary": "s" * 2001}, ["body", "summary"]),
    ("summary number", {"summary": 12}, ["body", "summary"]),
    ("summary null", {"summary": None}, ["body", "summary"]),
    ("occurred_at naive", {"occurred_at": "2026-04-01T10:00:00"}, ["body", "occurred_at"]),
    ("occurred_at garbage", {"occurred_at": "last tuesday"}, ["body", "occurred_at"]),
    ("opportunity_id number", {"opportunity_id": 5}, ["body", "opportunity_id"]),
    ("opportunity_id unknown", {"opportunity_id": "0" * 32}, ["body", "opportunity_id"]),
    ("opportunity_id malformed", {"opportunity_id": "not-an-id"}, ["body", "opportunity_id"]),
    ("id", {"id": "0" * 32}, ["body", "id"]),
    ("user_id", {"user_id": "0" * 32}, ["body", "user_id"]),
    ("created_at", {"created_at": "2026-01-01T00:00:00Z"}, ["body", "created_at"]),
    ("updated_at", {"updated_at": "2026-01-01T00:00:00Z"}, ["body", "updated_at"]),
    ("from_status", {"from_status": "wishlist"}, ["body", "from_status"]),
    ("to_status", {"to_status": "offer"}, ["body", "to_status"]),
    ("unknown field", {"mood": "great"}, ["body", "mood"]),
]


def test_post_activity_rejects_invalid_bodies_and_writes_nothing(
    client: TestClient, headers: dict[str, str]
) -> None:
    failures: list[str] = []
    for name, change, loc in INVALID:
        with case(failures, name):
            body = {"kind": "email", "summary": "Sent the portfolio", **change}
            body = {key: value for key, value in body.items() if value is not MISSING}
            assert_invalid(client.post(PATH, json=body, headers=headers), loc)
    assert not failures, "\n".join(failures)
    assert timeline(client, headers) == []


def test_another_users_opportunity_and_activity_are_out_of_reach(
    client: TestClient, headers: dict[str, str]
) -> None:
    other = auth_headers(client, "mallory@example.com")
    theirs = create_opportunity(client, other)
    create_activity(client, other, kind="email", summary="Theirs", opportunity_id=theirs["id"])
    theirs_before = timeline(client, other)
    # Logging against their opportunity is a 422, and nothing is written on either side.
    response = client.post(
        PATH, json={"kind": "email", "summary": "Sneaky", "opportunity_id": theirs["id"]}, headers=headers
    )
    assert_invalid(response, ["body", "opportunity_id"])
    assert timeline(client, headers) == []
    assert timeline(client, other) == theirs_before
    # Their entries never show in my timeline, filtered or not.
    mine = create_activity(client, headers, kind="email", summary="Mine")
    assert timeline(client, headers) == [mine]
    assert timeline(client, headers, kind="email") == [mine]
    assert timeline(client, headers, kind="created") == []
    assert timeline(client, headers, opportunity_id=theirs["id"]) == []


def test_activity_entries_cannot_be_changed_or_deleted(client: TestClient, headers: dict[str, str]) -> None:
    entry = create_activity(client, headers)
    failures: list[str] = []
    for method in ("PUT", "PATCH", "DELETE"):
        with case(failures, f"{method} {PATH}"):
            response = client.request(method, PATH, json={"summary": "changed"}, headers=headers)
            assert_problem(response, 405)
        with case(failures, f"{method} {PATH}/id"):
            response = client.request(
                method, f"{PATH}/{entry['id']}", json={"summary": "changed"}, headers=headers
            )
            assert response.status_code in (404, 405), response.text
            assert_problem(response, response.status_code)
    assert not failures, "\n".join(failures)
    assert timeline(client, headers) == [entry]


# ---- GET /v1/activity --------------------------------------------------------------------------


def test_list_is_newest_first_by_occurred_at_not_by_insertion(
    client: TestClient, headers: dict[str, str]
) -> None:
    jan3 = create_activity(client, headers, summary="jan 3", occurred_at="2025-01-03T12:00:00Z")
    jan1 = create_activity(client, headers, summary="jan 1", occurred_at="2025-01-01T12:00:00Z")
    future = create_activity(client, headers, summary="future", occurred_at="2030-06-01T00:00:00Z")
    # 2025-01-02T23:30-05:00 is 2025-01-03T04:30Z: between jan 1 and jan 3 noon.
    jan2 = create_activity(client, headers, summary="jan 2", occurred_at="2025-01-02T23:30:00-05:00")
    now = create_activity(client, headers, summary="now")
    expected = [future["id"], now["id"], jan3["id"], jan2["id"], jan1["id"]]
    assert ids(timeline(client, headers)) == expected
    assert ids(timeline(client, headers, limit=2)) == expected
    assert ids(timeline(client, headers, limit=1)) == expected


def test_list_ties_on_occurred_at_are_stable_across_pages(
    client: TestClient, headers: dict[str, str]
) -> None:
    same = "2026-01-15T09:00:00Z"
    made = [create_activity(client, headers, summary=f"tie {i}", occurred_at=same)["id"] for i in range(5)]
    listed = ids(timeline(client, headers))
    assert listed in (sorted(made), sorted(made, reverse=True)), listed
    for limit in (1, 2, 3):
        assert ids(timeline(client, headers, limit=limit)) == listed


def test_list_filters_by_kind_and_opportunity(client: TestClient, headers: dict[str, str]) -> None:
    first = create_opportunity(client, headers, company="First")
    second = create_opportunity(client, headers, company="Second")
    email_first = create_activity(client, headers, kind="email", opportunity_id=first["id"])
    call_first = create_activity(client, headers, kind="call", opportunity_id=first["id"])
    email_second = create_activity(client, headers, kind="email", opportunity_id=second["id"])
    email_loose = create_activity(client, headers, kind="email")

    assert set(ids(timeline(client, headers, kind="email"))) == {
        email_first["id"],
        email_second["id"],
        email_loose["id"],
    }
    assert ids(timeline(client, headers, kind="call")) == [call_first["id"]]
    assert timeline(client, headers, kind="message") == []
    created = timeline(client, headers, kind="created")
    assert {entry["opportunity_id"] for entry in created} == {first["id"], second["id"]}
    first_entries = timeline(client, headers, opportunity_id=first["id"])
    assert {entry["opportunity_id"] for entry in first_entries} == {first["id"]}
    assert {email_first["id"], call_first["id"]} <= set(ids(first_entries))
    assert {entry["kind"] for entry in first_entries} == {"created", "email", "call"}
    assert ids(timeline(client, headers, opportunity_id=first["id"], kind="email")) == [email_first["id"]]
    # Unknown or foreign ids filter down to nothing; they are not an error.
    assert timeline(client, headers, opportunity_id="0" * 32) == []
    other = auth_headers(client, "mallory@example.com")
    theirs = create_opportunity(client, other)
    assert timeline(client, headers, opportunity_id=theirs["id"]) == []


def test_list_rejects_invalid_query_parameters(client: TestClient, headers: dict[str, str]) -> None:
    failures: list[str] = []
    for param, value in [
        ("kind", "bogus"),
        ("kind", "EMAIL"),
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "x"),
    ]:
        with case(failures, f"{param}={value}"):
            assert_invalid(client.get(PATH, params={param: value}, headers=headers), ["query", param])
    assert not failures, "\n".join(failures)


def test_list_cursor_is_bound_to_its_filters_and_user(client: TestClient, headers: dict[str, str]) -> None:
    for kind in ("email", "email", "call", "call"):
        create_activity(client, headers, kind=kind)
    cursor = list_page(client, headers, PATH, kind="email", limit=1)["next_cursor"]
    assert isinstance(cursor, str)
    assert_problem(
        client.get(PATH, params={"kind": "call", "limit": 1, "cursor": cursor}, headers=headers), 400
    )
    other = auth_headers(client, "mallory@example.com")
    assert_problem(
        client.get(PATH, params={"kind": "email", "limit": 1, "cursor": cursor}, headers=other), 400
    )
    assert len(list_page(client, headers, PATH, kind="email", limit=1, cursor=cursor)["items"]) == 1


# ---- entries the service appends ---------------------------------------------------------------


def test_creating_an_opportunity_appends_created_with_its_status(
    client: TestClient, headers: dict[str, str]
) -> None:
    for status in ("wishlist", "applied", "offer"):
        opportunity = create_opportunity(client, headers, status=status)
        entries = timeline(client, headers, opportunity_id=opportunity["id"])
        assert len(entries) == 1, entries
        entry = entries[0]
        assert entry["kind"] == "created"
        assert entry["opportunity_id"] == opportunity["id"]
        assert entry["to_status"] == status
        assert entry.get("from_status") is None
        assert isinstance(entry["summary"], str) and entry["summary"]
        assert near_now(entry["occurred_at"])


def test_service_appends_status_interview_and_note_entries(
    client: TestClient, headers: dict[str, str]
) -> None:
    opportunity = create_opportunity(client, headers)
    set_status(client, headers, opportunity["id"], "applied")
    set_status(client, headers, opportunity["id"], "interviewing")
    interview = create_interview(client, headers, opportunity["id"], kind="technical")
    retimed = client.patch(
        f"/v1/interviews/{interview['id']}",
        json={"scheduled_at": "2026-09-01T15:00:00+02:00"},
        headers=headers,
    )
    assert retimed.status_code == 200, retimed.text
    renamed = client.patch(f"/v1/interviews/{interview['id']}", json={"title": "Round 2"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    passed = client.patch(f"/v1/interviews/{interview['id']}", json={"outcome": "passed"}, headers=headers)
    assert passed.status_code == 200, passed.text
    create_note(client, headers, opportunity_id=opportunity["id"], body="They liked the design answer.")

    entries = timeline(client, headers, opportunity_id=opportunity["id"])
    assert [entry["kind"] for entry in entries] == [
        "note",
        "interview_updated",  # outcome
        "interview_updated",  # scheduled_at (the title-only change appends nothing)
        "interview_scheduled",
        "status_changed",
        "status_changed",
        "created",
    ]
    assert [(e["from_status"], e["to_status"]) for e in entries if e["kind"] == "status_changed"] == [
        ("applied", "interviewing"),
        ("wishlist", "applied"),
    ]
    for entry in entries:
        assert ACTIVITY_FIELDS <= entry.keys()
        assert entry["opportunity_id"] == opportunity["id"]
        assert isinstance(entry["summary"], str) and entry["summary"]
        assert near_now(entry["occurred_at"])
        assert near_now(entry["created_at"])
    for entry in entries[1:4]:
        assert entry["interview_id"] == interview["id"]
    # The same entries in the unfiltered timeline, by kind.
    assert len(timeline(client, headers, kind="interview_updated")) == 2
    assert len(timeline(client, headers, kind="note")) == 1


def test_deleting_an_interview_removes_its_activity(client: TestClient, headers: dict[str, str]) -> None:
    opportunity = create_opportunity(client, headers)
    interview = create_interview(client, headers, opportunity["id"])
    assert len(timeline(client, headers, kind="interview_scheduled")) == 1
    assert client.delete(f"/v1/interviews/{interview['id']}", headers=headers).status_code == 204
    assert timeline(client, headers, kind="interview_scheduled") == []
    assert [entry["kind"] for entry in timeline(client, headers)] == ["created"]


# ---- GET /v1/stats -----------------------------------------------------------------------------


def test_stats_of_a_new_user(client: TestClient, headers: dict[str, str]) -> None:
    body = stats(client, headers)
    assert body["by_status"] == dict.fromkeys(STATUSES, 0)
    assert body["upcoming_interviews"] == []
    assert body["response_rate"] is None
    assert body["interviews_this_week"] == 0
    assert body["time_in_stage"] == dict.fromkeys(STATUSES)


def test_by_status_counts_non_archived_opportunities(client: TestClient, headers: dict[str, str]) -> None:
    for status in ("applied", "applied", "offer", "rejected"):
        create_opportunity(client, headers, status=status)
    create_opportunity(client, headers, status="wishlist", archived=True)
    archived_later = create_opportunity(client, headers, status="applied")
    moved = create_opportunity(client, headers, status="applied")
    response = client.patch(
        f"/v1/opportunities/{archived_later['id']}", json={"archived": True}, headers=headers
    )
    assert response.status_code == 200
    set_status(client, headers, moved["id"], "screening")
    other = auth_headers(client, "mallory@example.com")
    create_opportunity(client, other, status="accepted")
    assert stats(client, headers)["by_status"] == {
        **dict.fromkeys(STATUSES, 0),
        "applied": 2,
        "screening": 1,
        "offer": 1,
        "rejected": 1,
    }


def test_response_rate_follows_the_status_history(client: TestClient, headers: dict[str, str]) -> None:
    # Neither side: never applied, or left without applying (exits are not stages).
    opportunity_through(client, headers, ["wishlist"])
    opportunity_through(client, headers, ["wishlist", "withdrawn"])
    opportunity_through(client, headers, ["wishlist", "rejected"])
    opportunity_through(client, headers, ["rejected"])
    assert stats(client, headers)["response_rate"] is None

    # Divisor only: applied, with or without a later exit.
    opportunity_through(client, headers, ["wishlist", "applied"])
    opportunity_through(client, headers, ["applied", "rejected"])
    assert stats(client, headers)["response_rate"] == 0.0  # 0 / 2

    # Both sides: a response stage anywhere in the history, even if it later ended.
    opportunity_through(client, headers, ["applied", "screening", "rejected"])
    rate = stats(client, headers)["response_rate"]
    assert isinstance(rate, float) and abs(rate - 1 / 3) < 0.005  # 1 / 3

    opportunity_through(client, headers, ["screening"])  # created directly in a response stage
    # Archived opportunities count too.
    opportunity_through(client, headers, ["applied", "interviewing", "offer", "accepted"], archived=True)
    assert stats(client, headers)["response_rate"] == 0.6  # 3 / 5

    # Moving back to an earlier status does not erase history.
    opportunity_through(client, headers, ["wishlist", "offer", "wishlist"])
    rate = stats(client, headers)["response_rate"]
    assert isinstance(rate, float) and abs(rate - 4 / 6) < 0.005  # 4 / 6

    opportunity_through(client, headers, ["applied", "withdrawn"])
    opportunity_through(client, headers, ["wishlist", "applied", "withdrawn"])
    assert stats(client, headers)["response_rate"] == 0.5  # 4 / 8


def test_response_rate_is_per_user(client: TestClient, headers: dict[str, str]) -> None:
    other = auth_headers(client, "mallory@example.com")
    opportunity_through(client, other, ["applied", "screening"])
    opportunity_through(client, headers, ["applied"])
    opportunity_through(client, headers, ["applied"])
    opportunity_through(client, headers, ["applied"])
    opportunity_through(client, headers, ["applied", "offer"])
    assert stats(client, headers)["response_rate"] == 0.25
    assert stats(client, other)["response_rate"] == 1.0


def test_deleted_opportunities_leave_the_response_rate(client: TestClient, headers: dict[str, str]) -> None:
    opportunity_through(client, headers, ["applied"])
    responded = opportunity_through(client, headers, ["applied", "screening"])
    assert stats(client, headers)["response_rate"] == 0.5
    assert client.delete(f"/v1/opportunities/{responded}", headers=headers).status_code == 204
    assert stats(client, headers)["response_rate"] == 0.0


def test_upcoming_interviews_are_the_next_7_days_ascending(
    client: TestClient, headers: dict[str, str]
) -> None:
    opportunity = create_opportunity(client, headers)
    now = datetime.now(UTC)

    def at(delta: timedelta, **fields: Any) -> dict[str, Any]:
        return create_interview(client, headers, opportunity["id"], scheduled_at=iso(now + delta), **fields)

    at(timedelta(days=7, hours=1))  # too far
    mid = at(timedelta(days=3))
    at(timedelta(hours=-1))  # already past
    last = at(timedelta(days=7) - timedelta(hours=1))
    at(timedelta(days=2), outcome="cancelled")
    soon = at(timedelta(hours=1))
    passed = at(timedelta(days=1), outcome="passed")  # not cancelled: still listed
    create_interview(client, headers, opportunity["id"])  # unscheduled
    other = auth_headers(client, "mallory@example.com")
    theirs = create_opportunity(client, other)
    create_interview(client, other, theirs["id"], scheduled_at=iso(now + timedelta(hours=2)))

    upcoming = stats(client, headers)["upcoming_interviews"]
    assert ids(upcoming) == [soon["id"], passed["id"], mid["id"], last["id"]]
    assert upcoming == [soon, passed, mid, last]
    assert [item["scheduled_at"] for item in upcoming] == sorted(item["scheduled_at"] for item in upcoming)


def test_interviews_this_week_counts_the_current_iso_week(
    client: TestClient, headers: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    next_monday = monday + timedelta(days=7)
    if next_monday - now < timedelta(minutes=1):
        pytest.skip("too close to the end of the ISO week to be deterministic")
    opportunity = create_opportunity(client, headers)

    def at(moment: datetime, **fields: Any) -> None:
        create_interview(client, headers, opportunity["id"], scheduled_at=iso(moment), **fields)

    at(monday)  # the first instant of the week
    at(monday + timedelta(days=3, hours=12))
    at(next_monday - timedelta(seconds=1))
    at(monday + timedelta(days=2), outcome="failed")
    at(next_monday)  # next week
    at(monday - timedelta(seconds=1))  # last week
    at(monday + timedelta(days=1), outcome="cancelled")
    # The same instant written with an offset: Sunday 23:30 at -02:00 is Monday 01:30 UTC.
    sunday_evening_west = (monday + timedelta(hours=1, minutes=30)).astimezone(timezone(timedelta(hours=-2)))
    assert sunday_evening_west.weekday() == 6 and iso(sunday_evening_west).endswith("-02:00")
    at(sunday_evening_west)
    create_interview(client, headers, opportunity["id"])  # unscheduled
    other = auth_headers(client, "mallory@example.com")
    theirs = create_opportunity(client, other)
    create_interview(client, other, theirs["id"], scheduled_at=iso(monday + timedelta(days=1)))
    assert stats(client, headers)["interviews_this_week"] == 5
    assert stats(client, other)["interviews_this_week"] == 1


def test_time_in_stage_has_every_status_null_when_never_visited(
    client: TestClient, headers: dict[str, str]
) -> None:
    opportunity_through(client, headers, ["wishlist", "applied", "screening"])
    opportunity_through(client, headers, ["applied"])
    time_in_stage = stats(client, headers)["time_in_stage"]
    assert set(time_in_stage) == set(STATUSES)
    for status in ("interviewing", "offer", "accepted", "rejected", "withdrawn"):
        assert time_in_stage[status] is None, status
    # Visited: the stays took (or, in progress, have lasted) well under a day of server time.
    for status in ("wishlist", "applied", "screening"):
        value = time_in_stage[status]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (status, value)
        assert 0 <= value <= 1, (status, value)
        assert round(value, 2) == value, (status, value)


def test_stats_need_a_bearer_token(client: TestClient) -> None:
    assert_unauthorized(client.get("/v1/stats"))
    assert_unauthorized(client.get(PATH))
    assert_unauthorized(client.post(PATH, json={"kind": "email", "summary": "x"}))
