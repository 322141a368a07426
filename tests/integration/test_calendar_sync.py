"""Calendar polling end to end: google-api-python-client against the fake Google Calendar v3, the real
classifier, the database, and the prep queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.calendar import refresh_token_context
from common.clock import to_iso, utc_now
from common.crypto import get_sealer
from common.db import get_database
from tests.conftest import reset_caches
from tests.fakes.google_server import FakeGoogle, GoogleUser, start_fake_google
from tests.records import auth_headers, create_contact, create_opportunity

CLIENT_ID = "tracker-client.apps.googleusercontent.com"
CLIENT_SECRET = "tracker-secret"
USER = GoogleUser(email="ada@example.com", name="Ada Lovelace")


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    with start_fake_google() as fake:
        fake.register_client(CLIENT_ID, CLIENT_SECRET, ["http://localhost/v1/auth/google/calendar/callback"])
        monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("GOOGLE_DISCOVERY_URL", fake.discovery_url)
        monkeypatch.setenv("GOOGLE_CALENDAR_API_URL", fake.calendar_api_root)
        reset_caches()
        from calendar_poll.google_calendar import get_calendar_source

        get_calendar_source.cache_clear()
        yield fake
        get_calendar_source.cache_clear()


def connect(fake: FakeGoogle, user_id: str, person: GoogleUser = USER) -> dict[str, Any]:
    """Store a connection as the connect flow would (tests of that flow live in test_google_calendar)."""
    token = fake.grant(person, CLIENT_ID)
    sealer = get_sealer()
    now = to_iso(utc_now())
    get_database().execute(
        "INSERT INTO calendar_connections (user_id, status, refresh_token, scopes, created_at, updated_at) "
        "VALUES (?, 'connected', ?, ?, ?, ?)",
        (user_id, sealer.seal(token["refresh_token"], context=refresh_token_context(user_id)), "", now, now),
    )
    return token


def me(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    return dict(client.get("/v1/me", headers=headers).json())


def sync(user_id: str, now: datetime | None = None) -> Any:
    from calendar_poll.google_calendar import get_calendar_source
    from calendar_poll.service import SyncSettings, sync_user
    from common.prep_requests import PrepPolicy
    from common.queue import get_job_queue
    from common.settings import get_settings

    settings = get_settings()
    source = get_calendar_source()
    assert source is not None
    policy = PrepPolicy(model=settings.PREP_MODEL, hourly_limit=1, configured=settings.ai_configured)
    return sync_user(
        get_database(),
        source,
        get_sealer(),
        get_job_queue(),
        SyncSettings(lookahead_days=30, prep_lead_days=7, prep=policy),
        user_id=user_id,
        now=now or utc_now(),
    )


def calendar_interviews(user_id: str) -> list[dict[str, Any]]:
    return (
        get_database()
        .execute(
            "SELECT * FROM interviews WHERE user_id = ? AND source = 'calendar' ORDER BY scheduled_at",
            (user_id,),
        )
        .all()
    )


def test_interviews_are_found_linked_and_nothing_else_is_kept(
    client: TestClient, google: FakeGoogle, fake_anthropic: Any, isolated_env: Any
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    acme = create_opportunity(client, headers, company="Acme Robotics", role="Backend Engineer")
    create_contact(
        client, headers, name="Rita Recruiter", email="rita@acmerobotics.com", opportunity_ids=[acme["id"]]
    )
    connect(google, user_id)
    calendar = google.calendar(USER)
    soon = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    calendar.add_event(
        start=soon,
        end=soon + timedelta(minutes=45),
        summary="Acme Robotics - Technical Interview",
        description="Zyxwvut private agenda",
        attendees=["rita@acmerobotics.com", {"email": "ada@example.com", "self": True}],
        hangout_link="https://meet.google.com/abc-defg-hij",
        event_id="evt-acme",
    )
    calendar.add_event(start=soon + timedelta(hours=3), summary="Dentist appointment", event_id="evt-dentist")

    result = sync(user_id)
    assert result.outcome == "synced"
    assert result.added == 1
    (found,) = calendar_interviews(user_id)
    assert found["opportunity_id"] == acme["id"]
    assert found["calendar_event_id"] == "evt-acme"
    assert found["scheduled_at"] == to_iso(soon)
    assert found["duration_minutes"] == 45
    assert found["meeting_url"] == "https://meet.google.com/abc-defg-hij"
    assert "rita@acmerobotics.com" in json.loads(found["interviewers"])[0]
    status = me(client, headers)["calendar"]
    assert status["connected"] is True and status["interviews_found"] == 1 and status["last_synced_at"]
    # The dentist appears nowhere: not in the database files, not in any table.
    raw = b"".join(path.read_bytes() for path in isolated_env.glob("tracker.db*"))
    assert b"Dentist" not in raw
    assert b"Zyxwvut" not in raw  # nor an interview's private description
    # Prep was queued for the upcoming linked interview.
    assert found["prep_status"] == "queued"
    assert result.preps_queued == 1
    assert get_database().execute("SELECT count(*) FROM jobs WHERE kind = 'prep'").scalar() == 1
    # A second sync queues nothing more (the prep request is idempotent and the interview has one).
    assert sync(user_id).preps_queued == 0


def test_incremental_sync_moves_cancels_and_survives_an_invalidated_token(
    client: TestClient, google: FakeGoogle
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    create_opportunity(client, headers, company="Globex", role="Engineer")
    connect(google, user_id)
    calendar = google.calendar(USER)
    start = (utc_now() + timedelta(days=3)).replace(microsecond=0)
    for n in range(3):
        calendar.add_event(
            start=start + timedelta(hours=n),
            summary=f"Globex interview round {n + 1}",
            attendees=["talent@globex.com"],
            event_id=f"evt-{n}",
        )
    assert sync(user_id).added == 3
    token_before = get_database().execute("SELECT sync_token FROM calendar_connections").scalar()
    assert token_before

    calendar.update_event("evt-0", start={"dateTime": to_iso(start + timedelta(days=1))})
    calendar.delete_event("evt-1")
    result = sync(user_id)
    assert (result.added, result.updated, result.cancelled) == (0, 1, 1)
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    assert rows["evt-0"]["scheduled_at"] == to_iso(start + timedelta(days=1))
    assert rows["evt-1"]["outcome"] == "cancelled"
    # The user's own edits survive later syncs.
    client.patch(
        f"/v1/interviews/{rows['evt-2']['id']}",
        json={"kind": "onsite", "debrief": "went well"},
        headers=headers,
    )

    google.invalidate_sync_tokens()
    result = sync(user_id)
    assert result.outcome == "synced" and result.added == 0  # a full resync, no duplicates
    rows = {row["calendar_event_id"]: row for row in calendar_interviews(user_id)}
    assert len(rows) == 3
    assert rows["evt-2"]["kind"] == "onsite" and rows["evt-2"]["debrief"] == "went well"


def test_a_first_full_sync_lists_deleted_events_and_makes_nothing_of_them(
    client: TestClient, google: FakeGoogle, isolated_env: Any
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    create_opportunity(client, headers, company="Globex", role="Engineer")
    connect(google, user_id)
    calendar = google.calendar(USER)
    start = (utc_now() + timedelta(days=3)).replace(microsecond=0)
    calendar.add_event(
        start=start, summary="Globex interview round 1", attendees=["talent@globex.com"], event_id="evt-live"
    )
    # Deleted before we ever synced, on the user's own calendar: with showDeleted=true Google still shows
    # it in full (status cancelled), an interview by every other sign. It is nobody we know: nothing of it
    # may be created or kept.
    calendar.add_event(
        start=start + timedelta(hours=2),
        summary="Globex technical interview Qwertzuiop",
        description="Plughxyzzy agenda",
        attendees=["talent@globex.com"],
        event_id="evt-gone",
    )
    calendar.add_event(
        start=start + timedelta(hours=4),
        summary="Globex weekly interview Qwertzuiop",
        attendees=["talent@globex.com"],
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
        event_id="evtseries",
    )
    calendar.delete_event("evt-gone")
    calendar.delete_event("evtseries")

    result = sync(user_id)
    assert (result.outcome, result.added, result.cancelled) == ("synced", 1, 0)
    assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["evt-live"]
    [listing] = [r["query"] for r in google.requests_to("/calendar/v3/calendars/primary/events")]
    assert listing["showDeleted"] == "true" and listing["singleEvents"] == "true" and "timeMin" in listing
    raw = b"".join(path.read_bytes() for path in isolated_env.glob("tracker.db*"))
    assert b"Qwertzuiop" not in raw and b"Plughxyzzy" not in raw
    activity = client.get("/v1/activity", headers=headers).json()["items"]
    assert [a["kind"] for a in activity].count("interview_scheduled") == 1
    assert me(client, headers)["calendar"]["interviews_found"] == 1


def test_a_revoked_grant_asks_the_user_to_reconnect_and_stops_polling(
    client: TestClient, google: FakeGoogle
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    connect(google, user_id)
    google.revoke_grant(USER)
    assert sync(user_id).outcome == "reauth_required"
    status = me(client, headers)["calendar"]
    assert status["status"] == "reauth_required" and status["connected"] is False and status["error"]
    assert sync(user_id).outcome == "skipped"


def test_google_errors_defer_the_sync_without_losing_the_token(
    client: TestClient, google: FakeGoogle
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    connect(google, user_id)
    assert sync(user_id).outcome == "synced"
    token = get_database().execute("SELECT sync_token FROM calendar_connections").scalar()
    for status in (429, 503):
        google.fail_next("calendar", status)
        assert sync(user_id).outcome == "deferred"
        assert get_database().execute("SELECT sync_token FROM calendar_connections").scalar() == token
    assert me(client, headers)["calendar"]["connected"] is True


def test_times_are_kept_in_utc(client: TestClient, google: FakeGoogle) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    connect(google, user_id)
    berlin = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    google.calendar(USER).add_event(
        start={"dateTime": berlin.astimezone().isoformat(), "timeZone": "Europe/Berlin"},
        summary="Phone screen with Initech recruiter",
        attendees=["recruiting@greenhouse.io"],
        event_id="evt-tz",
    )
    sync(user_id)
    (found,) = calendar_interviews(user_id)
    assert found["scheduled_at"] == to_iso(berlin)
    assert found["opportunity_id"] is None  # a confident interview at a company not in the opportunities


def test_sync_now_runs_the_poll_code_path_through_the_job_queue(
    client: TestClient, google: FakeGoogle
) -> None:
    from local.calendar import poll_once
    from local.worker import run_once

    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    assert client.post("/v1/me/calendar/sync", headers=headers).status_code == 409  # nothing connected
    connect(google, user_id)
    start = (utc_now() + timedelta(days=5)).replace(microsecond=0)
    google.calendar(USER).add_event(start=start, summary="Onsite interview at Hooli", event_id="evt-hooli")

    for _ in range(2):
        response = client.post("/v1/me/calendar/sync", headers=headers)
        assert response.status_code == 202
        assert response.json()["connected"] is True
    assert get_database().execute("SELECT count(*) FROM jobs WHERE kind = 'calendar_sync'").scalar() == 1
    assert run_once() is True
    assert [row["calendar_event_id"] for row in calendar_interviews(user_id)] == ["evt-hooli"]
    assert get_database().execute("SELECT count(*) FROM jobs WHERE kind = 'calendar_sync'").scalar() == 0

    # The scheduled poll (make run's timer thread) takes the same path for every connected user.
    google.calendar(USER).add_event(
        start=start + timedelta(days=1), summary="Hooli final interview", event_id="e2"
    )
    assert poll_once() == {"synced": 1}
    assert len(calendar_interviews(user_id)) == 2


def test_fan_out_hands_out_every_connected_user_and_resumes_after_a_cut(client: TestClient) -> None:
    from calendar_poll.service import fan_out
    from common.queue import Job

    db = get_database()
    now = to_iso(utc_now())
    users = sorted(me(client, auth_headers(client, f"user{n}@example.com"))["id"] for n in range(25))
    for user_id in users:
        db.execute(
            "INSERT INTO calendar_connections (user_id, status, refresh_token, scopes, created_at, "
            "updated_at) VALUES (?, 'connected', 'x', '', ?, ?)",
            (user_id, now, now),
        )
    handed: list[str] = []

    def publish(batch: list[Job]) -> int:
        handed.extend(job.user_id for job in batch)
        return len(batch)

    clock = iter([1.0])  # time runs low after the first batch of ten
    assert fan_out(db, publish, now=utc_now(), time_left=lambda: next(clock)) == 10
    assert fan_out(db, publish, now=utc_now(), time_left=lambda: 100.0) == 25  # resumes, then wraps around
    assert handed[:10] == users[:10]
    assert sorted(handed[10:]) == users  # everyone, once per round, starting after the cut
    assert handed[10:25] == users[10:]


def test_an_interview_event_renamed_into_a_personal_one_keeps_none_of_its_new_content(
    client: TestClient, google: FakeGoogle, isolated_env: Any
) -> None:
    headers = auth_headers(client, "ada@example.com")
    user_id = me(client, headers)["id"]
    connect(google, user_id)
    start = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    calendar = google.calendar(USER)
    calendar.add_event(start=start, summary="Technical interview with Umbrella", event_id="evt-u")
    sync(user_id)
    calendar.update_event("evt-u", summary="Dentist checkup Quibblewick", location="Molar Street 9")
    result = sync(user_id)
    assert result.cancelled == 1
    (row,) = calendar_interviews(user_id)
    assert row["outcome"] == "cancelled"
    assert row["title"] == "Technical interview with Umbrella" and row["location"] is None
    raw = b"".join(path.read_bytes() for path in isolated_env.glob("tracker.db*"))
    assert b"Quibblewick" not in raw and b"Molar Street" not in raw


def test_the_syncs_of_one_instance_share_a_connection_to_google_and_nothing_else(
    client: TestClient, google: FakeGoogle
) -> None:
    """An instance syncs its batch's users one after the other over one kept-alive connection (deployed:
    one TLS handshake per Google host, not one per user), each request with its own user's token."""
    from calendar_poll.google_calendar import get_calendar_source

    people = [USER, GoogleUser(email="bob@example.com", name="Bob")]
    start = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    user_ids = []
    for person, company in zip(people, ("Acme", "Globex"), strict=True):
        user_ids.append(me(client, auth_headers(client, person.email))["id"])
        connect(google, user_ids[-1], person)
        google.calendar(person).add_event(start=start, summary=f"Technical interview with {company}")
    get_calendar_source()  # discovery, once per process
    google.clear_requests()
    before = google.connections

    assert [sync(user_id).outcome for user_id in user_ids] == ["synced", "synced"]
    assert google.connections - before == 1
    assert [row["title"] for row in calendar_interviews(user_ids[0])] == ["Technical interview with Acme"]
    assert [row["title"] for row in calendar_interviews(user_ids[1])] == ["Technical interview with Globex"]
    listings = google.requests_to("/calendar/v3/")
    assert len(listings) == 2
    assert len({request["headers"]["authorization"] for request in listings}) == 2
