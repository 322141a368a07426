"""Requesting AI prep over HTTP (API.md, "AI interview prep"; issue 4): the 202 Prep, versioning by the
allow-listed inputs, idempotent repeats that enqueue nothing, GET of the newest version, 404/409/503, the
per-user hourly limit with Retry-After, and concurrent identical requests.

Local queue mode (PREP_QUEUE_URL unset): a queued prep is exactly one row of the durable `jobs` table.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.clock import new_id, to_iso
from common.db import get_database
from tests.conftest import reset_caches
from tests.problems import assert_problem
from tests.records import (
    PREP_FIELDS,
    TIME_Z,
    assert_not_found,
    auth_headers,
    create_activity,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
)

DEFAULT_MODEL = "claude-sonnet-4-6"
T0 = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


# ---- helpers -----------------------------------------------------------------------------------


def count(table: str, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    return int(get_database().execute(f"SELECT count(*) FROM {table} WHERE {where}", params).scalar())


def jobs() -> list[dict[str, Any]]:
    return get_database().execute("SELECT * FROM jobs ORDER BY created_at, id").all()


def user_id(client: TestClient, headers: dict[str, str]) -> str:
    response = client.get("/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def reconfigure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Change settings mid-test: close the open database, set the variables, drop every cache."""
    from common.db import get_database as cached

    if cached.cache_info().currsize:
        cached().close()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()


def post_prep(client: TestClient, headers: dict[str, str], interview_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/interviews/{interview_id}/prep", headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("application/json")
    prep = response.json()
    assert_prep_shape(prep, interview_id)
    return dict(prep)


def get_prep(client: TestClient, headers: dict[str, str], interview_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/interviews/{interview_id}/prep", headers=headers)
    assert response.status_code == 200, response.text
    prep = response.json()
    assert_prep_shape(prep, interview_id)
    return dict(prep)


def assert_prep_shape(prep: dict[str, Any], interview_id: str) -> None:
    assert set(prep) >= PREP_FIELDS, prep
    assert isinstance(prep["id"], str) and prep["id"]
    assert prep["interview_id"] == interview_id
    assert prep["status"] in ("queued", "generating", "ready", "failed")
    assert prep["error"] is None or (isinstance(prep["error"], str) and prep["error"])
    assert isinstance(prep["model"], str) and prep["model"]
    assert TIME_Z.match(prep["created_at"]) and TIME_Z.match(prep["updated_at"]), prep


def without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in problem.items() if key != "instance"}


def interview(client: TestClient, headers: dict[str, str], interview_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/interviews/{interview_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def patch(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> None:
    response = client.patch(path, json=body, headers=headers)
    assert response.status_code == 200, (path, body, response.text)


def put_profile(client: TestClient, headers: dict[str, str], **fields: str) -> None:
    response = client.put("/v1/me/profile", json=fields, headers=headers)
    assert response.status_code == 200, response.text


def insert_calendar_interview(uid: str, *, opportunity_id: str | None, **fields: Any) -> str:
    """A calendar-found interview, as the calendar poller would store it (the API cannot create one)."""
    now = to_iso(datetime.now(UTC))
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": uid,
        "opportunity_id": opportunity_id,
        "kind": "other",
        "source": "calendar",
        "calendar_event_id": f"evt-{new_id()}",
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    get_database().execute(f"INSERT INTO interviews ({names}) VALUES ({marks})", tuple(values.values()))
    return str(values["id"])


@pytest.fixture
def headers(fake_anthropic: Any, client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


@pytest.fixture
def world(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """One opportunity with a JD, an earlier round and the round to prepare for, and a profile."""
    put_profile(
        client, headers, headline="Backend engineer", resume_text="Ten years of Python", linkedin_summary="Hi"
    )
    opp = create_opportunity(client, headers, company="Acme", role="Engineer", job_description="Build APIs")
    earlier = create_interview(client, headers, opp["id"], kind="phone_screen", scheduled_at=to_iso(T0))
    target = create_interview(
        client, headers, opp["id"], kind="technical", scheduled_at=to_iso(T0 + timedelta(days=7))
    )
    later = create_interview(
        client, headers, opp["id"], kind="onsite", scheduled_at=to_iso(T0 + timedelta(days=14))
    )
    return {"opportunity": opp, "earlier": earlier, "interview": target, "later": later}


# ---- the request -------------------------------------------------------------------------------


def test_request_queues_one_job_and_repeats_are_idempotent(
    client: TestClient, headers: dict[str, str], world: dict[str, Any]
) -> None:
    interview_id = world["interview"]["id"]
    assert interview(client, headers, interview_id)["prep_status"] == "none"

    prep = post_prep(client, headers, interview_id)
    assert prep["status"] == "queued"
    assert prep["error"] is None
    assert prep["content"] is None
    assert prep["model"] == DEFAULT_MODEL
    assert prep.get("ai_processing") is None  # nothing has been sent yet
    assert interview(client, headers, interview_id)["prep_status"] == "queued"

    queued = jobs()
    assert len(queued) == 1, queued
    assert queued[0]["kind"] == "prep"
    assert queued[0]["user_id"] == user_id(client, headers)
    assert json.loads(queued[0]["payload"]) == {"prep_id": prep["id"]}

    assert get_prep(client, headers, interview_id) == prep
    for _ in range(3):
        again = post_prep(client, headers, interview_id)
        assert again == prep  # the same version, untouched
    assert len(jobs()) == 1
    assert count("preps") == 1
    assert count("prep_requests") == 1


def test_changed_inputs_make_a_new_version(
    client: TestClient, headers: dict[str, str], world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    interview_id = world["interview"]["id"]
    opp_path = f"/v1/opportunities/{world['opportunity']['id']}"
    seen = [post_prep(client, headers, interview_id)]

    def new_debrief_on_an_earlier_round() -> None:
        patch(client, headers, f"/v1/interviews/{world['earlier']['id']}", {"debrief": "Asked about SQL"})

    def edited_debrief_on_an_earlier_round() -> None:
        patch(client, headers, f"/v1/interviews/{world['earlier']['id']}", {"debrief": "Asked about SQL!"})

    def new_earlier_round_with_a_debrief() -> None:
        create_interview(
            client,
            headers,
            world["opportunity"]["id"],
            kind="recruiter",
            scheduled_at=to_iso(T0 - timedelta(days=3)),
            debrief="Recruiter liked the payments work",
        )

    def edited_job_description() -> None:
        patch(client, headers, opp_path, {"job_description": "Build APIs and pipelines"})

    def edited_company() -> None:
        patch(client, headers, opp_path, {"company": "Acme Corp"})

    def edited_role() -> None:
        patch(client, headers, opp_path, {"role": "Senior Engineer"})

    def edited_resume() -> None:
        put_profile(client, headers, resume_text="Eleven years of Python")

    def edited_headline() -> None:
        put_profile(client, headers, headline="Staff engineer")

    def edited_linkedin_summary() -> None:
        put_profile(client, headers, linkedin_summary="Hello there")

    def changed_interview_kind() -> None:
        patch(client, headers, f"/v1/interviews/{interview_id}", {"kind": "system_design"})

    def changed_model() -> None:
        reconfigure(monkeypatch, PREP_MODEL="claude-opus-4-1")

    changes = [
        new_debrief_on_an_earlier_round,
        edited_debrief_on_an_earlier_round,
        new_earlier_round_with_a_debrief,
        edited_job_description,
        edited_company,
        edited_role,
        edited_resume,
        edited_headline,
        edited_linkedin_summary,
        changed_interview_kind,
        changed_model,
    ]
    failures = []
    for change in changes:
        change()
        prep = post_prep(client, headers, interview_id)
        name = change.__name__
        if prep["id"] in {p["id"] for p in seen}:
            failures.append(f"{name}: the old version {prep['id']} was returned")
            continue
        if prep["status"] != "queued":
            failures.append(f"{name}: status {prep['status']}")
        if get_prep(client, headers, interview_id)["id"] != prep["id"]:
            failures.append(f"{name}: GET does not return the newest version")
        if post_prep(client, headers, interview_id)["id"] != prep["id"]:
            failures.append(f"{name}: a repeat made yet another version")
        seen.append(prep)
    assert not failures, "\n".join(failures)
    assert seen[-1]["model"] == "claude-opus-4-1"
    assert all(p["model"] == DEFAULT_MODEL for p in seen[:-1])
    assert count("preps") == len(changes) + 1
    assert sorted(json.loads(j["payload"])["prep_id"] for j in jobs()) == sorted(p["id"] for p in seen)
    assert interview(client, headers, interview_id)["prep_status"] == "queued"


def test_changes_outside_the_allow_list_keep_the_version(
    client: TestClient, headers: dict[str, str], world: dict[str, Any]
) -> None:
    interview_id = world["interview"]["id"]
    opp_id = world["opportunity"]["id"]
    prep = post_prep(client, headers, interview_id)

    def note_on_the_interview() -> None:
        create_note(client, headers, body="Bring the laptop", interview_id=interview_id)

    def note_on_the_opportunity() -> None:
        create_note(client, headers, body="Salary band looks good", opportunity_id=opp_id)

    def contact_linked_to_the_opportunity() -> None:
        create_contact(
            client,
            headers,
            name="Grace",
            email="grace@acme.test",
            notes="Met at a meetup",
            opportunity_ids=[opp_id],
        )

    def another_opportunity_and_its_debriefs() -> None:
        other = create_opportunity(
            client, headers, company="Globex", role="SRE", job_description="Run things"
        )
        create_interview(
            client, headers, other["id"], scheduled_at=to_iso(T0 - timedelta(days=30)), debrief="Globex round"
        )

    def interview_title_location_meeting_url_interviewers() -> None:
        patch(
            client,
            headers,
            f"/v1/interviews/{interview_id}",
            {
                "title": "Tech round with Bob",
                "location": "Room 4",
                "meeting_url": "https://meet.example.com/abc",
                "interviewers": ["Bob"],
                "duration_minutes": 45,
            },
        )

    def the_interviews_own_debrief_and_outcome() -> None:
        patch(
            client, headers, f"/v1/interviews/{interview_id}", {"debrief": "Went well", "outcome": "passed"}
        )

    def a_later_rounds_debrief() -> None:
        patch(client, headers, f"/v1/interviews/{world['later']['id']}", {"debrief": "Onsite was long"})

    def an_earlier_rounds_title_and_outcome() -> None:
        patch(
            client,
            headers,
            f"/v1/interviews/{world['earlier']['id']}",
            {"title": "Screen", "outcome": "passed"},
        )

    def opportunity_fields_outside_the_allow_list() -> None:
        patch(
            client,
            headers,
            f"/v1/opportunities/{opp_id}",
            {"url": "https://acme.test/jobs/1", "location": "Berlin", "tags": ["dream"], "priority": "high"},
        )

    def opportunity_status_change() -> None:
        patch(client, headers, f"/v1/opportunities/{opp_id}", {"status": "interviewing"})

    def an_activity_entry() -> None:
        create_activity(client, headers, summary="Thank-you email", opportunity_id=opp_id)

    def the_users_name() -> None:
        patch(client, headers, "/v1/me", {"name": "Ada Lovelace"})

    def a_calendar_interview_of_the_same_opportunity() -> None:
        insert_calendar_interview(
            user_id(client, headers),
            opportunity_id=opp_id,
            title="Acme sync",
            scheduled_at=to_iso(T0 - timedelta(days=1)),
        )

    changes = [
        note_on_the_interview,
        note_on_the_opportunity,
        contact_linked_to_the_opportunity,
        another_opportunity_and_its_debriefs,
        interview_title_location_meeting_url_interviewers,
        the_interviews_own_debrief_and_outcome,
        a_later_rounds_debrief,
        an_earlier_rounds_title_and_outcome,
        opportunity_fields_outside_the_allow_list,
        opportunity_status_change,
        an_activity_entry,
        the_users_name,
        a_calendar_interview_of_the_same_opportunity,
    ]
    failures = []
    for change in changes:
        change()
        again = post_prep(client, headers, interview_id)
        if again["id"] != prep["id"]:
            failures.append(f"{change.__name__}: made a new version")
    assert not failures, "\n".join(failures)
    assert count("preps") == 1
    assert len(jobs()) == 1


# ---- reading -----------------------------------------------------------------------------------


def test_get_is_404_without_a_prep_and_for_another_user(
    client: TestClient, headers: dict[str, str], world: dict[str, Any]
) -> None:
    interview_id = world["interview"]["id"]
    assert_not_found(client.get(f"/v1/interviews/{interview_id}/prep", headers=headers))
    assert_not_found(client.get("/v1/interviews/no-such-interview/prep", headers=headers))
    assert_not_found(client.post("/v1/interviews/no-such-interview/prep", headers=headers))
    prep = post_prep(client, headers, interview_id)

    mallory = auth_headers(client, "mallory@example.com")
    for method in ("GET", "POST"):
        missing = client.request(method, "/v1/interviews/no-such-interview/prep", headers=mallory)
        foreign = client.request(method, f"/v1/interviews/{interview_id}/prep", headers=mallory)
        body = assert_not_found(foreign)
        assert prep["id"] not in foreign.text
        assert without_instance(body) == without_instance(assert_not_found(missing)), method
    assert count("preps") == 1 and len(jobs()) == 1
    assert client.get(f"/v1/interviews/{interview_id}/prep").status_code == 401
    assert client.post(f"/v1/interviews/{interview_id}/prep").status_code == 401


def test_an_interview_without_an_opportunity_is_409(client: TestClient, headers: dict[str, str]) -> None:
    interview_id = insert_calendar_interview(
        user_id(client, headers), opportunity_id=None, title="Chat", scheduled_at=to_iso(T0)
    )
    body = assert_problem(client.post(f"/v1/interviews/{interview_id}/prep", headers=headers), 409)
    assert "opportunit" in body["detail"].lower()
    assert count("preps") == 0 and len(jobs()) == 0 and count("prep_requests") == 0
    assert interview(client, headers, interview_id)["prep_status"] == "none"
    assert_not_found(client.get(f"/v1/interviews/{interview_id}/prep", headers=headers))


@pytest.mark.parametrize("key", [None, ""])
def test_no_ai_provider_is_503(client: TestClient, monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    if key is not None:
        reconfigure(monkeypatch, ANTHROPIC_API_KEY=key)
    headers = auth_headers(client, "ada@example.com")
    opp = create_opportunity(client, headers)
    target = create_interview(client, headers, opp["id"])
    response = client.post(f"/v1/interviews/{target['id']}/prep", headers=headers)
    body = assert_problem(response, 503)
    assert "ai" in body["detail"].lower()
    assert count("preps") == 0 and len(jobs()) == 0 and count("prep_requests") == 0
    assert interview(client, headers, target["id"])["prep_status"] == "none"
    assert_not_found(client.get(f"/v1/interviews/{target['id']}/prep", headers=headers))


# ---- the hourly limit --------------------------------------------------------------------------


def test_hourly_limit_429_with_retry_after_and_repeats_do_not_count(
    client: TestClient, headers: dict[str, str], world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reconfigure(monkeypatch, PREP_RATE_LIMIT_PER_HOUR="2")
    first = post_prep(client, headers, world["interview"]["id"])
    for _ in range(3):  # repeats of a live version are free
        assert post_prep(client, headers, world["interview"]["id"])["id"] == first["id"]
    second = post_prep(client, headers, world["later"]["id"])
    assert second["id"] != first["id"]

    response = client.post(f"/v1/interviews/{world['earlier']['id']}/prep", headers=headers)
    body = assert_problem(response, 429)
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit(), response.headers
    assert 3000 <= int(retry_after) <= 3600, retry_after  # the first request is seconds old
    assert "2" in body["detail"]
    assert count("preps") == 2 and len(jobs()) == 2
    assert interview(client, headers, world["earlier"]["id"])["prep_status"] == "none"

    # Over the limit, a repeat of a live version still answers with it; new inputs are refused.
    assert post_prep(client, headers, world["interview"]["id"])["id"] == first["id"]
    put_profile(client, headers, resume_text="Changed")
    assert_problem(client.post(f"/v1/interviews/{world['interview']['id']}/prep", headers=headers), 429)
    assert get_prep(client, headers, world["interview"]["id"])["id"] == first["id"]

    # The limit is per user.
    other = auth_headers(client, "grace@example.com")
    opp = create_opportunity(client, other)
    post_prep(client, other, create_interview(client, other, opp["id"])["id"])

    # An hour after the requests, the window has room again.
    from common.prep_requests import PrepPolicy, request_prep
    from common.queue import get_job_queue

    later = datetime.now(UTC) + timedelta(hours=1, seconds=5)
    prep = request_prep(
        get_database(),
        get_job_queue(),
        PrepPolicy(model=DEFAULT_MODEL, hourly_limit=2, configured=True),
        user_id=user_id(client, headers),
        interview_id=world["earlier"]["id"],
        now=later,
    )
    assert prep["status"] == "queued" and prep["id"] not in (first["id"], second["id"])


# ---- concurrency -------------------------------------------------------------------------------


def test_concurrent_identical_requests_make_one_prep_and_one_job(
    client: TestClient, headers: dict[str, str], world: dict[str, Any]
) -> None:
    interview_id = world["interview"]["id"]
    barrier = threading.Barrier(8)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def request() -> None:
        barrier.wait()
        response = client.post(f"/v1/interviews/{interview_id}/prep", headers=headers)
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 8
    assert {status for status, _ in answers} == {202}, answers
    assert len({body["id"] for _, body in answers}) == 1, answers
    assert count("preps") == 1
    assert len(jobs()) == 1
    assert count("prep_requests") == 1


# ---- boundaries and deletion -------------------------------------------------------------------


def test_records_imports_neither_the_ai_sdk_nor_boto3() -> None:
    """Only the prep function imports `anthropic`; records imports boto3 only on the path that sends."""
    import subprocess
    import sys

    code = (
        "import sys, records.handler, common.prep_requests, common.queue, common.prep; "
        "print(sorted(m for m in ('anthropic', 'boto3') if m in sys.modules))"  # botocore: Powertools' own
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_deleting_the_account_deletes_its_preps_jobs_and_request_ledger(
    client: TestClient, headers: dict[str, str], world: dict[str, Any]
) -> None:
    other = auth_headers(client, "grace@example.com")
    opp = create_opportunity(client, other)
    kept = post_prep(client, other, create_interview(client, other, opp["id"])["id"])
    post_prep(client, headers, world["interview"]["id"])
    post_prep(client, headers, world["later"]["id"])
    uid = user_id(client, headers)
    assert count("preps", "user_id = ?", (uid,)) == 2 and count("jobs", "user_id = ?", (uid,)) == 2

    assert client.delete("/v1/me", headers=headers).status_code == 204
    for table in ("preps", "jobs", "prep_requests"):
        assert count(table, "user_id = ?", (uid,)) == 0, table
    assert [json.loads(j["payload"])["prep_id"] for j in jobs()] == [kept["id"]]


def test_asking_again_for_earlier_inputs_makes_that_version_current_again(
    client: TestClient, headers: dict[str, str], world: dict[str, Any]
) -> None:
    interview_id = world["interview"]["id"]
    opp_path = f"/v1/opportunities/{world['opportunity']['id']}"
    first = post_prep(client, headers, interview_id)
    patch(client, headers, opp_path, {"job_description": "Build data pipelines"})
    second = post_prep(client, headers, interview_id)
    assert second["id"] != first["id"]
    assert get_prep(client, headers, interview_id)["id"] == second["id"]

    patch(client, headers, opp_path, {"job_description": "Build APIs"})  # back to the first inputs
    again = post_prep(client, headers, interview_id)
    assert again["id"] == first["id"]  # still live: no new version, no new job
    assert get_prep(client, headers, interview_id)["id"] == first["id"]  # and it is the current one
    assert interview(client, headers, interview_id)["prep_status"] == "queued"
    assert count("preps") == 2
    assert len(jobs()) == 2
