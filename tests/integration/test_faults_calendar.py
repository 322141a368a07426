"""Google failing during a calendar poll (issue 10, fault injection), through the real sync code path
(google-api-python-client and google-auth against the fake Google):

- 5xx/429 storms: every poll is deferred, the sync token is never lost or moved, and when Google is back
  everything that changed meanwhile arrives exactly once;
- an expired access token (401) is refreshed and the poll goes on; a token endpoint that fails with 5xx
  defers (the user is NOT asked to reconnect); invalid_grant asks the user to reconnect, stops polling,
  and keeps every interview already found;
- 410 (sync token invalidated) with changes made meanwhile: a full resync without duplicates; events
  deleted meanwhile are cancelled, whether Google still lists them (showDeleted) or has forgotten them
  (looked up: 404); one moved out of the window meanwhile is followed, not cancelled;
- the same user synced twice at once (duplicate queue delivery): no duplicate interview, one prep.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from common.clock import to_iso, utc_now
from common.db import get_database
from tests.fakes.google_server import FakeGoogle
from tests.integration.test_calendar_sync import (  # noqa: F401 (a fixture)
    USER,
    calendar_interviews,
    connect,
    google,
    me,
    sync,
)
from tests.records import auth_headers, create_opportunity


def connection() -> dict[str, Any]:
    row = get_database().execute("SELECT * FROM calendar_connections").first()
    assert row is not None
    return row


def event_ids(user_id: str) -> list[str]:
    return sorted(row["calendar_event_id"] for row in calendar_interviews(user_id))


def setup_user(client: TestClient, fake: FakeGoogle) -> tuple[str, dict[str, str], Any]:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    create_opportunity(client, headers, company="Globex", role="Engineer")
    connect(fake, user_id)
    calendar = fake.calendar(USER)
    start = (utc_now() + timedelta(days=3)).replace(microsecond=0)
    calendar.add_event(
        start=start, summary="Globex interview round 1", attendees=["talent@globex.com"], event_id="e1"
    )
    assert sync(user_id).outcome == "synced"
    assert event_ids(user_id) == ["e1"]
    return user_id, headers, calendar


def add_interview(calendar: Any, event_id: str, hours: int) -> None:
    start = (utc_now() + timedelta(days=3, hours=hours)).replace(microsecond=0)
    calendar.add_event(
        start=start,
        summary=f"Globex interview {event_id}",
        attendees=["talent@globex.com"],
        event_id=event_id,
    )


def test_a_storm_of_google_errors_defers_every_poll_and_loses_nothing(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, headers, calendar = setup_user(client, google)
    token = connection()["sync_token"]
    assert token
    add_interview(calendar, "e2", 2)
    calendar.update_event("e1", start={"dateTime": to_iso(utc_now() + timedelta(days=5))})
    for status in (500, 502, 503, 429, 403, 500):
        google.fail_next("calendar", status)
        assert sync(user_id).outcome == "deferred", status
        state = connection()
        assert state["sync_token"] == token and state["status"] == "connected", status
        assert event_ids(user_id) == ["e1"]
    assert me(client, headers)["calendar"]["status"] == "connected"

    assert sync(user_id).outcome == "synced"
    assert event_ids(user_id) == ["e1", "e2"]
    assert connection()["sync_token"] != token
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    assert rows["e1"]["scheduled_at"].startswith(to_iso(utc_now() + timedelta(days=5))[:10])
    assert sync(user_id).outcome == "synced" and event_ids(user_id) == ["e1", "e2"]


def test_an_expired_access_token_is_refreshed_and_the_poll_goes_on(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, _, calendar = setup_user(client, google)
    stored_access = connection()["access_token"]
    assert stored_access
    google.expire_access_tokens()  # Google says 401 to the stored one, which we still think is valid
    add_interview(calendar, "e2", 2)
    assert sync(user_id).outcome == "synced"
    assert event_ids(user_id) == ["e1", "e2"]
    state = connection()
    assert state["status"] == "connected" and state["access_token"] != stored_access
    assert len(google.requests_to("/token")) >= 2  # the grant, then the refresh


def test_a_failing_token_endpoint_defers_and_does_not_ask_to_reconnect(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, headers, calendar = setup_user(client, google)
    token = connection()["sync_token"]
    google.expire_access_tokens()
    for status in (500, 503):
        # google-auth retries a refresh that failed with 5xx itself (3 attempts, with backoff): fail them all.
        before = len(google.requests_to("/token"))
        google.fail_next("token", status, times=3)
        assert sync(user_id).outcome == "deferred", status
        assert len(google.requests_to("/token")) - before == 3  # bounded
        state = connection()
        assert state["status"] == "connected" and state["sync_token"] == token and state["refresh_token"], (
            status
        )
    assert me(client, headers)["calendar"]["status"] == "connected"
    add_interview(calendar, "e2", 2)
    assert sync(user_id).outcome == "synced"
    assert event_ids(user_id) == ["e1", "e2"]


def test_invalid_grant_asks_to_reconnect_and_keeps_what_was_found(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, headers, _ = setup_user(client, google)
    google.expire_access_tokens()
    google.fail_next("token", 400)  # {"error": "invalid_grant"}
    assert sync(user_id).outcome == "reauth_required"
    state = connection()
    assert state["status"] == "reauth_required" and state["error"]
    assert state["refresh_token"] is None and state["access_token"] is None and state["sync_token"] is None
    status = me(client, headers)["calendar"]
    assert status["status"] == "reauth_required" and status["connected"] is False
    assert event_ids(user_id) == ["e1"]  # the interviews already found stay
    calls = len(google.requests)
    assert sync(user_id).outcome == "skipped"
    assert len(google.requests) == calls  # polling stopped: Google is not asked again


def test_a_410_after_changes_resyncs_fully_without_duplicates(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, headers, calendar = setup_user(client, google)
    add_interview(calendar, "e2", 2)
    assert sync(user_id).outcome == "synced"
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    client.patch(f"/v1/interviews/{rows['e2']['id']}", json={"debrief": "mine"}, headers=headers)
    # Changes while the token is being invalidated: one new, one moved.
    add_interview(calendar, "e3", 4)
    moved = (utc_now() + timedelta(days=6)).replace(microsecond=0)
    calendar.update_event(
        "e2", start={"dateTime": to_iso(moved)}, end={"dateTime": to_iso(moved + timedelta(hours=1))}
    )
    google.invalidate_sync_tokens()
    result = sync(user_id)
    assert result.outcome == "synced" and result.added == 1, result
    assert event_ids(user_id) == ["e1", "e2", "e3"]
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    assert rows["e2"]["scheduled_at"] == to_iso(moved) and rows["e2"]["debrief"] == "mine"
    assert connection()["sync_token"]
    scheduled = client.get("/v1/activity", headers=headers).json()["items"]
    assert sum(a["kind"] == "interview_scheduled" for a in scheduled) == 3


def test_the_same_user_synced_twice_at_once_makes_no_duplicates(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
    fake_anthropic: Any,
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    create_opportunity(client, headers, company="Globex", role="Engineer")
    connect(google, user_id)
    calendar = google.calendar(USER)
    for n in range(3):
        add_interview(calendar, f"e{n}", n)
    google.delay_next("calendar", 0.5, times=2)  # both listings in flight together
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        barrier.wait()
        try:
            results.append(sync(user_id))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert [r.outcome for r in results] == ["synced", "synced"]
    assert event_ids(user_id) == ["e0", "e1", "e2"]
    db = get_database()
    assert db.execute("SELECT count(*) FROM preps").scalar() == 3  # one per interview, not two
    assert db.execute("SELECT count(*) FROM jobs WHERE kind = 'prep'").scalar() == 3
    kinds = [
        a["kind"] for a in client.get("/v1/activity", headers=headers, params={"limit": 200}).json()["items"]
    ]
    assert kinds.count("interview_scheduled") == 3
    assert me(client, headers)["calendar"]["interviews_found"] == 3


EVENTS = "/calendar/v3/calendars/primary/events"


def listings(fake: FakeGoogle) -> list[dict[str, str]]:
    return [r["query"] for r in fake.requests_to(EVENTS) if r["route"] == EVENTS]


def look_ups(fake: FakeGoogle) -> list[str]:
    return [r["route"].removeprefix(EVENTS + "/") for r in fake.requests_to(EVENTS + "/")]


def test_an_event_deleted_while_the_sync_token_was_invalid_is_cancelled(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, _, calendar = setup_user(client, google)
    add_interview(calendar, "e2", 2)
    assert sync(user_id).outcome == "synced"
    calendar.delete_event("e1")
    google.invalidate_sync_tokens()
    google.clear_requests()
    result = sync(user_id)
    assert result.outcome == "synced" and result.cancelled == 1, result
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    assert rows["e1"]["outcome"] == "cancelled" and rows["e2"]["outcome"] == "pending"
    # The incremental try (410), then one full listing that carried the deletion itself: nothing looked up.
    incremental, full = listings(google)
    assert "syncToken" in incremental and "syncToken" not in full
    assert incremental["showDeleted"] == full["showDeleted"] == "true"
    assert look_ups(google) == []
    assert connection()["sync_token"]
    assert sync(user_id).outcome == "synced"  # incremental again, nothing more to do
    assert [row["outcome"] for row in calendar_interviews(user_id)] == ["cancelled", "pending"]


def test_a_deletion_google_has_forgotten_by_the_410_resync_is_still_cancelled(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, _, calendar = setup_user(client, google)
    add_interview(calendar, "e2", 2)
    assert sync(user_id).outcome == "synced"
    calendar.delete_event("e1")
    google.advance_time(40 * 86400)
    assert calendar.purge_deleted(older_than=timedelta(days=30)) == ["e1"]
    # Google has forgotten the deletion, so our token (issued before it) is refused: 410, and the full
    # listing (showDeleted=true) no longer shows e1 at all.
    google.clear_requests()
    result = sync(user_id)
    assert result.outcome == "synced" and result.cancelled == 1, result
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    assert rows["e1"]["outcome"] == "cancelled" and rows["e2"]["outcome"] == "pending"
    assert look_ups(google) == ["e1"]  # e2 was in the listing; only the missing one is asked for (404)
    assert connection()["sync_token"]


def test_an_event_moved_out_of_the_window_during_a_410_gap_is_followed_not_cancelled(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, headers, calendar = setup_user(client, google)
    # Moved beyond the lookahead (30 days) while the token was invalid: absent from the full listing, yet
    # not deleted. It is looked up, and its interview moves with it (as an incremental sync would have
    # done) instead of being cancelled.
    moved = (utc_now() + timedelta(days=60)).replace(microsecond=0)
    calendar.update_event(
        "e1", start={"dateTime": to_iso(moved)}, end={"dateTime": to_iso(moved + timedelta(hours=1))}
    )
    google.invalidate_sync_tokens()
    google.clear_requests()
    result = sync(user_id)
    assert result.outcome == "synced" and result.cancelled == 0 and result.updated == 1, result
    [row] = calendar_interviews(user_id)
    assert row["outcome"] == "pending" and row["scheduled_at"] == to_iso(moved)
    assert look_ups(google) == ["e1"]
    summaries = [a["summary"] for a in client.get("/v1/activity", headers=headers).json()["items"]]
    assert any(s.startswith("Moved in your calendar to") for s in summaries)
    # Later changes out there still arrive by id through the incremental sync.
    calendar.delete_event("e1")
    assert sync(user_id).cancelled == 1
    assert calendar_interviews(user_id)[0]["outcome"] == "cancelled"


def test_interviews_outside_the_window_are_not_looked_up_after_a_410(
    client: TestClient,
    google: FakeGoogle,  # noqa: F811
) -> None:
    user_id, _, calendar = setup_user(client, google)  # e1: in 3 days
    past = (utc_now() + timedelta(hours=2)).replace(microsecond=0)
    calendar.add_event(
        start=past, summary="Globex interview early", attendees=["talent@globex.com"], event_id="e0"
    )
    assert sync(user_id).added == 1
    google.invalidate_sync_tokens()
    google.clear_requests()
    # A day later e0 is over: the full listing (from now) rightly lacks it, which says nothing about it.
    result = sync(user_id, now=utc_now() + timedelta(days=1))
    assert result.outcome == "synced" and result.cancelled == 0, result
    assert look_ups(google) == []
    assert [row["outcome"] for row in calendar_interviews(user_id)] == ["pending", "pending"]
