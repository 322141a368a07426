"""Calendar polling end to end, as issue 6's acceptance check runs it against `make run` with a fake Google:
the whole local app (every route), the real connect flow at the fake Google (consent, PKCE, code
exchange), "sync now" (POST /v1/me/calendar/sync, 202) drained by `make run`'s job worker
(`local.worker.run_once`, the same code path as the scheduled poll), google-api-python-client against the
fake Calendar API, and prep generated through the real anthropic SDK against the fake Anthropic API.

Unique markers are planted in the summary, description, location, attendee names/emails and meeting link
of an interview event and of a "Dentist" appointment. Checked:
- the interview appears, linked to its opportunity; the dentist appears in no table, no file of the data
  directory (a byte search: database, WAL, exports), no API response and no log line; of the interview,
  nothing beyond the Interview resource's fields is kept (its description is not);
- prep is queued for the upcoming linked interview, and the request the AI provider receives carries none
  of the calendar's content, only the allow-listed inputs;
- the next sync is incremental (syncToken, as the fake's request log shows) and follows a moved and a
  cancelled event; an invalidated sync token (410) resyncs in full without duplicates;
- a revoked grant (invalid_grant) sets the calendar to reauth_required, GET /v1/me/calendar says so, and
  polling that user stops.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.clock import to_iso, utc_now
from common.db import get_database
from tests.conftest import bearer, register, reset_caches
from tests.exports import export_json
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.google_server import FakeGoogle, GoogleUser, start_fake_google
from tests.integration.test_google_calendar import connect_calendar
from tests.integration.test_google_signin import configure_google, new_browser
from tests.integration.test_prep_privacy import everything_sent
from tests.integration.test_prep_requests import get_prep, interview, put_profile
from tests.integration.test_prep_worker import ALL_FIELDS
from tests.records import create_contact, create_opportunity, list_all

PERSON = GoogleUser(email="ada@example.com", name="Ada Lovelace")
MAX_JOBS = 20


def marker(name: str) -> str:
    return f"{name}{secrets.token_hex(5)}"


def meet_code() -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))


@dataclass
class World:
    fake: FakeGoogle
    anthropic: FakeAnthropic
    browser: TestClient
    data_dir: Path
    caplog: pytest.LogCaptureFixture
    capfd: pytest.CaptureFixture[str]
    headers: dict[str, str] = field(default_factory=dict)
    user_id: str = ""
    opportunity_id: str = ""
    start: datetime = field(default_factory=utc_now)
    # Calendar content that must never reach the AI provider (the interview's own, kept for the resource).
    interview_markers: dict[str, str] = field(default_factory=dict)
    # Calendar content that must never be stored, logged or sent anywhere.
    secret_markers: dict[str, str] = field(default_factory=dict)
    # Inputs the AI provider is allowed to get.
    allowed_markers: dict[str, str] = field(default_factory=dict)
    responses: list[bytes] = field(default_factory=list)

    def get(self, path: str, **params: Any) -> Any:
        response = self.browser.get(path, headers=self.headers, params=params)
        assert response.status_code == 200, response.text
        self.responses.append(response.content)
        return response.json()


@pytest.fixture
def world(
    app: Any,
    fake_anthropic: FakeAnthropic,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[World]:
    from calendar_poll.google_calendar import get_calendar_source

    with start_fake_google() as fake:
        configure_google(monkeypatch, fake)
        monkeypatch.setenv("GOOGLE_CALENDAR_API_URL", fake.calendar_api_root)
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        reset_caches()
        get_calendar_source.cache_clear()
        caplog.set_level(logging.DEBUG)
        with new_browser(app) as browser:
            yield World(fake, fake_anthropic, browser, isolated_env, caplog, capfd)
        get_calendar_source.cache_clear()


def drain() -> int:
    """`make run`'s job worker until no job is due (calendar syncs and preps alike)."""
    from local.worker import run_once

    for done in range(MAX_JOBS):
        if not run_once():
            return done
    raise AssertionError("the job queue does not drain")


def sync_now(world: World, *, run_jobs: bool = True) -> None:
    """ "Sync now" (202: queued), then the worker: the sync job, and with `run_jobs` whatever it queued."""
    from local.worker import run_once

    response = world.browser.post("/v1/me/calendar/sync", headers=world.headers)
    assert response.status_code == 202, response.text
    assert response.json()["connected"] is True
    world.responses.append(response.content)
    assert jobs("calendar_sync") == 1
    if run_jobs:
        assert drain() >= 1
    else:
        assert run_once() is True  # the oldest job due: this sync
    assert jobs("calendar_sync") == 0


def jobs(kind: str) -> int:
    return int(get_database().execute("SELECT count(*) FROM jobs WHERE kind = ?", (kind,)).scalar())


def calendar_rows(user_id: str) -> list[dict[str, Any]]:
    return (
        get_database()
        .execute(
            "SELECT * FROM interviews WHERE user_id = ? AND source = 'calendar' ORDER BY scheduled_at",
            (user_id,),
        )
        .all()
    )


def by_event(world: World) -> dict[str, dict[str, Any]]:
    items = list_all(world.browser, world.headers, "/v1/interviews")
    found = {item["calendar_event_id"]: item for item in items if item["source"] == "calendar"}
    assert len(found) == len([i for i in items if i["source"] == "calendar"]), items  # no duplicates
    return found


def listing_requests(fake: FakeGoogle) -> list[dict[str, Any]]:
    return [r for r in fake.requests_to("/calendar/v3/calendars/") if r["route"].endswith("/events")]


def set_up(world: World) -> None:
    """An account with a profile and an opportunity, a calendar connected through Google's consent, and
    an interview (markers everywhere), a second interview and a dentist appointment in it."""
    tokens = register(world.browser, email=PERSON.email, name="Ada")
    world.headers = bearer(tokens)
    world.user_id = tokens["user"]["id"]
    allowed = world.allowed_markers
    allowed["headline"] = marker("headline")
    allowed["job_description"] = marker("jobdescription")
    put_profile(
        world.browser,
        world.headers,
        headline=f"Backend engineer {allowed['headline']}",
        resume_text="Ten years of Python services",
    )
    opportunity = create_opportunity(
        world.browser,
        world.headers,
        company="Acme Robotics",
        role="Backend Engineer",
        job_description=f"Build the fleet API. {allowed['job_description']}",
    )
    world.opportunity_id = opportunity["id"]
    create_contact(
        world.browser,
        world.headers,
        name="Rita Recruiter",
        email="rita@acmerobotics.com",
        opportunity_ids=[opportunity["id"]],
    )
    assert connect_calendar(world.browser, world.fake, tokens, PERSON) == {"calendar": "connected"}
    shown = world.get("/v1/me/calendar")
    assert shown["connected"] is True and shown["status"] == "connected"

    ours, secret = world.interview_markers, world.secret_markers
    ours.update(
        summary=marker("interviewtitle"),
        location=marker("interviewroom"),
        attendee=marker("interviewername"),
        meet=meet_code(),
    )
    secret.update(
        interview_description=marker("interviewagenda"),
        dentist_summary=marker("dentisttitle"),
        dentist_description=marker("dentistnotes"),
        dentist_location=marker("dentistplace"),
        dentist_attendee=marker("dentistname"),
        dentist_email=marker("dentistmail"),
        dentist_meet=meet_code(),
    )
    world.start = (utc_now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    calendar = world.fake.calendar(PERSON)
    calendar.add_event(
        start=world.start,
        end=world.start + timedelta(minutes=45),
        summary=f"Acme Robotics technical interview {ours['summary']}",
        description=f"Agenda: system design, then questions. {secret['interview_description']}",
        location=f"Acme HQ, room {ours['location']}",
        attendees=[
            {"email": "rita@acmerobotics.com", "displayName": f"Rita {ours['attendee']}"},
            PERSON.email,
        ],
        hangout_link=f"https://meet.google.com/{ours['meet']}",
        event_id="evtinterview",
    )
    calendar.add_event(
        start=world.start + timedelta(days=2),
        summary="Phone screen - Acme Robotics",
        attendees=["rita@acmerobotics.com", PERSON.email],
        event_id="evtscreen",
    )
    calendar.add_event(
        start=world.start + timedelta(hours=3),
        summary=f"Dentist {secret['dentist_summary']}",
        description=f"Bring the insurance card. {secret['dentist_description']}",
        location=f"Smile Dental, {secret['dentist_location']}",
        attendees=[
            {
                "email": f"{secret['dentist_email']}@smiledental.example",
                "displayName": secret["dentist_attendee"],
            },
            PERSON.email,
        ],
        hangout_link=f"https://meet.google.com/{secret['dentist_meet']}",
        event_id="evtdentist",
    )


def logged(world: World) -> str:
    """Every log line so far: records seen by the logging module, and whatever reached stdout/stderr."""
    records = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in world.caplog.records)
    out, err = world.capfd.readouterr()
    return "\n".join((records, out, err))


def data_bytes(world: World) -> bytes:
    files = [path for path in world.data_dir.rglob("*") if path.is_file()]
    assert any(path.name.startswith("tracker.db") for path in files), files
    return b"".join(path.read_bytes() for path in files)


def assert_nowhere(world: World, markers: dict[str, str], *, logs: str) -> None:
    """None of `markers` in any table, data file, API response, export or log line."""
    db = get_database()
    table_text = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows:
        for row in db.execute(f'SELECT * FROM "{table}"').rows:
            table_text.append(json.dumps(list(row), default=str))
    tables = "\n".join(table_text)
    document, exported = export_json(world.browser, world.headers)
    assert document["interviews"], "the export holds the calendar interviews"
    raw = data_bytes(world)  # after the export: its file is in the data directory too
    for name, value in markers.items():
        assert value not in tables, f"{name} stored in a table"
        assert value.encode() not in raw, f"{name} in the data directory's files"
        assert value.encode() not in exported, f"{name} exported"
        assert all(value.encode() not in body for body in world.responses), f"{name} in an API response"
        assert value not in logs, f"{name} logged"


# ---- connect, sync, privacy, prep ----------------------------------------------------------------


def test_interviews_are_found_linked_and_the_dentist_and_calendar_content_go_nowhere(
    world: World,
) -> None:
    set_up(world)
    sync_now(world, run_jobs=False)

    found = by_event(world)
    assert set(found) == {"evtinterview", "evtscreen"}  # the dentist is not an interview
    item = found["evtinterview"]
    assert item["opportunity_id"] == world.opportunity_id
    assert item["kind"] == "technical"
    assert item["scheduled_at"] == to_iso(world.start) and item["duration_minutes"] == 45
    assert item["outcome"] == "pending"
    # Only the Interview resource's fields are kept: title, times, link or location, interviewers.
    ours = world.interview_markers
    assert ours["summary"] in item["title"]
    assert ours["location"] in item["location"]
    assert item["meeting_url"] == f"https://meet.google.com/{ours['meet']}"
    assert any(
        ours["attendee"] in person and "rita@acmerobotics.com" in person for person in item["interviewers"]
    )
    assert not any(PERSON.email in person for person in item["interviewers"])  # the user is no interviewer
    assert found["evtscreen"]["opportunity_id"] == world.opportunity_id
    world.responses.append(json.dumps(list(found.values())).encode())
    status = world.get("/v1/me/calendar")
    assert status["interviews_found"] == 2 and status["last_synced_at"] and status["status"] == "connected"
    world.get("/v1/activity")
    world.get("/v1/me")

    # Prep was queued for the upcoming linked interviews (both start within PREP_LEAD_DAYS) ...
    for event_id in ("evtinterview", "evtscreen"):
        assert interview(world.browser, world.headers, found[event_id]["id"])["prep_status"] == "queued"
    assert get_prep(world.browser, world.headers, item["id"])["status"] == "queued"
    assert jobs("prep") == 2
    assert world.anthropic.message_requests == []
    # ... and `make run`'s worker generates it.
    assert drain() == 2
    prep = get_prep(world.browser, world.headers, item["id"])
    assert prep["status"] == "ready", prep
    assert interview(world.browser, world.headers, item["id"])["prep_status"] == "ready"
    assert jobs("prep") == 0
    requests = world.anthropic.message_requests
    assert len(requests) == 2, [r["path"] for r in requests]

    # What the AI provider received: the allow-listed inputs, none of the calendar's content.
    assert prep["ai_processing"]["provider"] == "Anthropic"
    assert set(prep["ai_processing"]["fields_sent"]) <= set(ALL_FIELDS)
    assert {"company", "role", "job_description", "interview_kind"} <= set(
        prep["ai_processing"]["fields_sent"]
    )
    sent = everything_sent(world.anthropic)
    for name, value in world.allowed_markers.items():
        assert value.lower() in sent, f"allowed {name} was not sent"
    assert "acme robotics" in sent and "backend engineer" in sent
    calendar_only = {
        **{f"interview_{k}": v for k, v in ours.items()},
        **world.secret_markers,
        "interviewer_email": "rita@acmerobotics.com",
        "scheduled_at": to_iso(world.start)[:16],
        "dentist": "dentist",
        "smile_dental": "smile dental",
    }
    for name, value in calendar_only.items():
        assert value.lower() not in sent, f"calendar content {name} was sent to the AI provider"
    for request in requests:
        body = json.loads(request["body"]) if isinstance(request["body"], str) else request["body"]
        assert set(body) <= {"model", "max_tokens", "system", "tools", "tool_choice", "messages"}, set(body)
        assert [m["role"] for m in body["messages"]] == ["user"]

    # The dentist and the interview's description: nowhere at all.
    logs = logged(world)
    assert "job" in logs.lower() or "prep" in logs.lower(), logs[:2000]  # the capture sees the app's logs
    assert_nowhere(world, {**world.secret_markers, "dentist_word": "Dentist"}, logs=logs)
    # The interview's kept fields are the user's data now, but calendar content is never logged.
    for name, value in ours.items():
        assert value not in logs, f"interview {name} logged"


# ---- incremental sync, moves, cancellations, 410 ------------------------------------------------


def test_the_next_sync_is_incremental_follows_moves_and_cancellations_and_survives_a_410(
    world: World,
) -> None:
    from local.calendar import poll_once

    set_up(world)
    sync_now(world)
    first = by_event(world)
    assert set(first) == {"evtinterview", "evtscreen"}
    full = listing_requests(world.fake)
    assert full and all("syncToken" not in r["query"] and "timeMin" in r["query"] for r in full)
    assert all(r["query"]["singleEvents"] == "true" for r in full)

    # Moved, cancelled, and the dentist changed (it comes back in the incremental listing).
    calendar = world.fake.calendar(PERSON)
    moved_to = world.start + timedelta(days=1, minutes=30)
    calendar.update_event("evtinterview", start=moved_to)
    calendar.delete_event("evtscreen")
    world.secret_markers["dentist_summary_2"] = marker("dentistmoved")
    calendar.update_event(
        "evtdentist",
        summary=f"Dentist {world.secret_markers['dentist_summary_2']}",
        start=world.start + timedelta(hours=5),
    )
    world.fake.clear_requests()
    assert poll_once() == {"synced": 1}  # this time the scheduled poll (make run's timer thread)
    drain()
    incremental = listing_requests(world.fake)
    assert incremental, "no events.list request"
    for request in incremental:
        assert request["query"].get("syncToken"), request["query"]
        assert "timeMin" not in request["query"] and "timeMax" not in request["query"]
        assert request["status"] == 200
    second = by_event(world)
    assert set(second) == {"evtinterview", "evtscreen"}
    assert second["evtinterview"]["id"] == first["evtinterview"]["id"]
    assert second["evtinterview"]["scheduled_at"] == to_iso(moved_to)
    assert second["evtinterview"]["outcome"] == "pending"
    assert second["evtscreen"]["outcome"] == "cancelled"
    moves = list_all(world.browser, world.headers, "/v1/activity", kind="interview_updated")
    assert [a["opportunity_id"] for a in moves] == [world.opportunity_id]

    # Google invalidates the sync token (410): a full resync, nothing duplicated, new events found.
    calendar.add_event(
        start=world.start + timedelta(days=5),
        summary="Acme Robotics onsite interview",
        attendees=["rita@acmerobotics.com", PERSON.email],
        event_id="evtonsite",
    )
    world.fake.invalidate_sync_tokens(PERSON)
    world.fake.clear_requests()
    sync_now(world)
    resync = listing_requests(world.fake)
    assert resync[0]["query"].get("syncToken") and resync[0]["status"] == 410
    assert all("syncToken" not in r["query"] and "timeMin" in r["query"] for r in resync[1:])
    assert resync[-1]["status"] == 200
    third = by_event(world)
    assert set(third) == {"evtinterview", "evtscreen", "evtonsite"}
    assert {k: v["id"] for k, v in third.items() if k in first} == {k: v["id"] for k, v in first.items()}
    assert third["evtinterview"]["scheduled_at"] == to_iso(moved_to)
    assert third["evtscreen"]["outcome"] == "cancelled"
    assert len(calendar_rows(world.user_id)) == 3

    # And the sync after that is incremental again (the resync stored a new token).
    world.fake.clear_requests()
    sync_now(world)
    again = listing_requests(world.fake)
    assert again and all(r["query"].get("syncToken") and r["status"] == 200 for r in again)
    assert len(calendar_rows(world.user_id)) == 3

    assert_nowhere(world, {**world.secret_markers, "dentist_word": "Dentist"}, logs=logged(world))


# ---- a revoked grant -----------------------------------------------------------------------------


def test_a_revoked_grant_asks_for_reauthorization_and_stops_polling(world: World) -> None:
    from local.calendar import poll_once

    set_up(world)
    sync_now(world)
    assert len(by_event(world)) == 2

    # The user removes the app at myaccount.google.com: the access token stops working (401), and
    # refreshing it answers invalid_grant.
    world.fake.revoke_grant(PERSON)
    world.fake.clear_requests()
    sync_now(world)
    refreshes = world.fake.requests_to("/token")
    assert refreshes and refreshes[-1]["status"] == 400
    assert refreshes[-1]["form"]["grant_type"] == "refresh_token"  # answered 400 invalid_grant
    status = world.get("/v1/me/calendar")
    assert status["status"] == "reauth_required" and status["connected"] is False
    assert isinstance(status["error"], str) and status["error"]
    assert world.get("/v1/me")["calendar"]["status"] == "reauth_required"
    # The interviews already found stay.
    assert len(by_event(world)) == 2

    # Polling stops for this user: no retry loop, nothing queued, no call to Google.
    world.fake.clear_requests()
    assert poll_once() == {}
    assert drain() == 0
    response = world.browser.post("/v1/me/calendar/sync", headers=world.headers)
    assert response.status_code == 409, response.text
    assert jobs("calendar_sync") == 0
    assert world.fake.requests_to("/calendar/") == [] and world.fake.requests_to("/token") == []
    assert_nowhere(world, {**world.secret_markers, "dentist_word": "Dentist"}, logs=logged(world))
