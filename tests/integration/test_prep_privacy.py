"""The privacy allow-list as a contract (PRIVACY_POLICY.txt; API.md, "AI interview prep"; issue 4): unique
markers are planted in every place the user's data lives; after a prep is generated, every allowed marker
reached the fake Anthropic API and no forbidden one appears anywhere in anything it received (bodies,
headers, paths). The prep's `ai_processing.fields_sent` names exactly the fields that were sent.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.clock import to_iso
from tests.conftest import bearer, register
from tests.fakes.anthropic_server import FakeAnthropic
from tests.integration.test_prep_requests import (
    T0,
    get_prep,
    insert_calendar_interview,
    post_prep,
    put_profile,
    user_id,
)
from tests.integration.test_prep_worker import ALL_FIELDS, run_once
from tests.records import (
    create_activity,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
)


class Markers:
    """Unique lowercase strings, one per planted field, split into allowed and forbidden."""

    def __init__(self) -> None:
        self.allowed: dict[str, str] = {}
        self.forbidden: dict[str, str] = {}

    @staticmethod
    def _new(name: str) -> str:
        return f"{name.replace('_', '-')}-{secrets.token_hex(6)}"

    def ok(self, name: str) -> str:
        self.allowed[name] = self._new(name)
        return self.allowed[name]

    def no(self, name: str) -> str:
        self.forbidden[name] = self._new(name)
        return self.forbidden[name]


def everything_sent(fake: FakeAnthropic, since: int = 0) -> str:
    """Every request the fake received (method, path, headers, body), as one lowercase text."""
    return json.dumps(fake.requests[since:], ensure_ascii=False, sort_keys=True).lower()


def check(sent: str, markers: Markers, allowed: set[str] | None = None) -> list[str]:
    problems = []
    for name, marker in markers.allowed.items():
        if (allowed is None or name in allowed) and marker not in sent:
            problems.append(f"allowed {name} was not sent")
    for name, marker in markers.forbidden.items():
        if marker in sent:
            problems.append(f"FORBIDDEN {name} was sent to the AI provider")
    return problems


@pytest.fixture
def planted(fake_anthropic: FakeAnthropic, client: TestClient) -> dict[str, Any]:
    """A user whose data holds a marker in every field, and an interview of theirs to prepare for."""
    m = Markers()
    email = f"{m.no('user_email')}@example.com"
    headers = bearer(register(client, email=email, name=m.no("user_name")))
    uid = user_id(client, headers)
    put_profile(
        client,
        headers,
        headline=m.ok("headline"),
        resume_text=f"Resume\n{m.ok('resume_text')}\nmore",
        linkedin_summary=m.ok("linkedin_summary"),
    )
    opp = create_opportunity(
        client,
        headers,
        company=m.ok("company"),
        role=m.ok("role"),
        job_description=f"We need {m.ok('job_description')}.",
        url=f"https://jobs.example.com/{m.no('opportunity_url')}",
        location=m.no("opportunity_location"),
        source=m.no("opportunity_source"),
        tags=[m.no("opportunity_tag")],
    )
    earlier = create_interview(
        client,
        headers,
        opp["id"],
        kind="phone_screen",
        scheduled_at=to_iso(T0),
        debrief=f"They asked about {m.ok('earlier_debrief')}",
        title=m.no("earlier_title"),
        location=m.no("earlier_location"),
        meeting_url=f"https://meet.example.com/{m.no('earlier_meeting_url')}",
        interviewers=[m.no("earlier_interviewer")],
    )
    calendar_id = insert_calendar_interview(
        uid,
        opportunity_id=opp["id"],
        kind="other",
        title=m.no("calendar_title"),
        location=m.no("calendar_location"),
        meeting_url=f"https://meet.example.com/{m.no('calendar_meeting_url')}",
        interviewers=json.dumps(
            [m.no("calendar_attendee"), f"{m.no('calendar_attendee_email')}@example.com"]
        ),
        calendar_event_id=m.no("calendar_event_id"),
        scheduled_at=to_iso(T0 + timedelta(days=3)),
    )
    target = create_interview(
        client,
        headers,
        opp["id"],
        kind="technical",
        scheduled_at=to_iso(T0 + timedelta(days=7)),
        title=m.no("interview_title"),
        location=m.no("interview_location"),
        meeting_url=f"https://meet.example.com/{m.no('interview_meeting_url')}",
        interviewers=[m.no("interview_interviewer")],
        debrief=m.no("interview_own_debrief"),
    )
    create_interview(
        client,
        headers,
        opp["id"],
        kind="onsite",
        scheduled_at=to_iso(T0 + timedelta(days=14)),
        title=m.no("later_title"),
        debrief=m.no("later_debrief"),
    )
    other = create_opportunity(
        client,
        headers,
        company=m.no("other_company"),
        role=m.no("other_role"),
        job_description=m.no("other_job_description"),
    )
    create_interview(
        client,
        headers,
        other["id"],
        kind="technical",
        scheduled_at=to_iso(T0 - timedelta(days=7)),
        title=m.no("other_interview_title"),
        debrief=m.no("other_opportunity_debrief"),
    )
    contact = create_contact(
        client,
        headers,
        name=m.no("contact_name"),
        email=f"{m.no('contact_email')}@example.com",
        company=m.no("contact_company"),
        title=m.no("contact_title"),
        notes=m.no("contact_notes"),
        opportunity_ids=[opp["id"]],
    )
    create_note(client, headers, body=m.no("note_on_opportunity"), opportunity_id=opp["id"])
    create_note(client, headers, body=m.no("note_on_interview"), interview_id=target["id"])
    create_note(client, headers, body=m.no("note_on_earlier_interview"), interview_id=earlier["id"])
    create_note(client, headers, body=m.no("note_on_contact"), contact_id=contact["id"])
    create_note(client, headers, body=m.no("note_loose"))
    create_activity(client, headers, kind="email", summary=m.no("activity_summary"), opportunity_id=opp["id"])
    create_activity(client, headers, kind="call", summary=m.no("activity_summary_loose"))

    # Someone else's data, including a prep of theirs for the same company name.
    mallory = bearer(register(client, email="mallory@example.com", name="Mallory"))
    put_profile(client, mallory, resume_text=m.no("other_user_resume"), headline=m.no("other_user_headline"))
    theirs = create_opportunity(
        client, mallory, company=m.allowed["company"], role="Spy", job_description=m.no("other_user_jd")
    )
    create_interview(
        client, mallory, theirs["id"], scheduled_at=to_iso(T0), debrief=m.no("other_user_debrief")
    )
    return {
        "headers": headers,
        "markers": m,
        "interview_id": target["id"],
        "calendar_interview_id": calendar_id,
    }


def test_only_allow_listed_inputs_reach_the_ai_provider(
    client: TestClient, planted: dict[str, Any], fake_anthropic: FakeAnthropic
) -> None:
    headers, markers = planted["headers"], planted["markers"]
    post_prep(client, headers, planted["interview_id"])
    assert run_once() is True
    prep = get_prep(client, headers, planted["interview_id"])
    assert prep["status"] == "ready", prep
    assert len(fake_anthropic.message_requests) == 1

    problems = check(everything_sent(fake_anthropic), markers)
    assert not problems, "\n".join(problems)
    assert "technical" in json.dumps(fake_anthropic.message_requests[0]["body"])  # the interview kind

    record = prep["ai_processing"]
    assert record["fields_sent"] == ALL_FIELDS
    assert record["debriefs_sent"] == 1  # the earlier round's only: not its own, a later one, another's


def test_a_calendar_found_interview_is_prepared_without_its_event_content(
    client: TestClient, planted: dict[str, Any], fake_anthropic: FakeAnthropic
) -> None:
    headers, markers = planted["headers"], planted["markers"]
    post_prep(client, headers, planted["calendar_interview_id"])
    assert run_once() is True
    prep = get_prep(client, headers, planted["calendar_interview_id"])
    assert prep["status"] == "ready", prep
    problems = check(everything_sent(fake_anthropic), markers)
    assert not problems, "\n".join(problems)
    assert prep["ai_processing"]["fields_sent"] == ALL_FIELDS
    assert prep["ai_processing"]["debriefs_sent"] == 1


def test_fields_sent_names_exactly_what_was_sent(client: TestClient, fake_anthropic: FakeAnthropic) -> None:
    """A sparse profile and no job description or earlier rounds: only what has content is sent and
    listed; a field with no content is neither sent nor listed."""
    m = Markers()
    headers = bearer(register(client, email="sparse@example.com", name="Sparse"))
    put_profile(client, headers, resume_text=m.ok("resume_text"))
    opp = create_opportunity(client, headers, company=m.ok("company"), role=m.ok("role"))
    target = create_interview(client, headers, opp["id"], kind="behavioral", scheduled_at=to_iso(T0))
    create_interview(
        client,
        headers,
        opp["id"],
        kind="onsite",
        scheduled_at=to_iso(T0 + timedelta(days=1)),
        debrief=m.no("later_debrief"),
    )
    post_prep(client, headers, target["id"])
    assert run_once() is True
    prep = get_prep(client, headers, target["id"])
    assert prep["status"] == "ready", prep
    record = prep["ai_processing"]
    assert record["fields_sent"] == ["company", "role", "interview_kind", "resume_text"]
    assert record["debriefs_sent"] == 0
    problems = check(everything_sent(fake_anthropic), m)
    assert not problems, "\n".join(problems)

    # Now fill in the rest: a new version, and the record lists the new fields too.
    put_profile(client, headers, headline=m.ok("headline"), linkedin_summary=m.ok("linkedin_summary"))
    response = client.patch(
        f"/v1/opportunities/{opp['id']}", json={"job_description": m.ok("job_description")}, headers=headers
    )
    assert response.status_code == 200, response.text
    before = len(fake_anthropic.requests)
    second = post_prep(client, headers, target["id"])
    assert second["id"] != prep["id"]
    assert run_once() is True
    record = get_prep(client, headers, target["id"])["ai_processing"]
    assert record["fields_sent"] == [f for f in ALL_FIELDS if f != "debriefs"]
    problems = check(everything_sent(fake_anthropic, since=before), m)
    assert not problems, "\n".join(problems)
