"""Generating prep in local mode, end to end: POST -> the durable job -> `local.worker.run_once` -> the real
`anthropic` SDK -> the fake Messages API -> GET (issue 4: statuses, retries and backoff, spend limit,
permanent errors, timeouts, unreadable answers, attempts running out, a crash between "generating" and
"ready", duplicate delivery and concurrent workers; one model call per job).

Times are explicit where they matter: `run_once(now=...)` and `process_prep(..., now=...)`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from common.clock import from_iso, to_iso, utc_now
from common.db import get_database
from common.queue import LocalJobQueue
from tests.fakes.anthropic_server import DEFAULT_PREP, FakeAnthropic, Reply
from tests.integration.test_prep_requests import (
    DEFAULT_MODEL,
    T0,
    count,
    get_prep,
    interview,
    jobs,
    post_prep,
    put_profile,
    user_id,
)
from tests.records import TIME_Z, auth_headers, create_interview, create_opportunity, list_all

API_KEY = "test-anthropic-key"  # the fake_anthropic fixture's key
TOOL_NAME = "record_interview_prep"
ALL_FIELDS = [
    "company",
    "role",
    "job_description",
    "interview_kind",
    "headline",
    "resume_text",
    "linkedin_summary",
    "debriefs",
]
T = TypeVar("T")


# ---- helpers -----------------------------------------------------------------------------------


def within(seconds: float, work: Callable[[], T]) -> T:
    """Run `work`, failing (instead of hanging) if it takes longer than `seconds`: a wrongly retried
    spend limit or long retry-after would sleep for minutes inside the SDK."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (sleeping on a retry?)"
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def run_once(now: datetime | None = None) -> bool:
    from local.worker import run_once as worker_run_once

    return within(20, lambda: worker_run_once(now))


def prep_row(prep_id: str) -> dict[str, Any]:
    row = get_database().execute("SELECT * FROM preps WHERE id = ?", (prep_id,)).first()
    assert row is not None
    return row


def job_for(prep_id: str) -> dict[str, Any] | None:
    for job in jobs():
        if json.loads(job["payload"]).get("prep_id") == prep_id:
            return job
    return None


def model(**kwargs: Any) -> Any:
    """A Claude adapter of our own (as a second worker would have), talking to the fake."""
    from prep.llm import ClaudePrepModel

    return ClaudePrepModel(api_key=API_KEY, model=DEFAULT_MODEL, **kwargs)


def process(uid: str, prep_id: str, *, now: datetime | None = None, with_model: Any = None) -> Any:
    from prep.service import process_prep

    chosen = with_model if with_model is not None else model()
    return within(
        20, lambda: process_prep(get_database(), chosen, user_id=uid, prep_id=prep_id, now=now or utc_now())
    )


def assert_failed_cleanly(prep: dict[str, Any], *, mentions: str) -> None:
    """A failed prep: a user-readable reason, no content, nothing secret or technical."""
    assert prep["status"] == "failed", prep
    assert prep["content"] is None
    error = prep["error"]
    assert isinstance(error, str) and 10 <= len(error) <= 300, error
    assert mentions.lower() in error.lower(), error
    for leak in (API_KEY, "Traceback", "anthropic.", "Error(", "{", "request_id", "req_"):
        assert leak not in error, (leak, error)


def assert_no_secret_anywhere(client: TestClient, headers: dict[str, str], interview_id: str) -> None:
    response = client.get(f"/v1/interviews/{interview_id}/prep", headers=headers)
    assert API_KEY not in response.text
    db = get_database()
    for table in ("preps", "jobs", "activity", "interviews"):
        assert API_KEY not in json.dumps(db.execute(f"SELECT * FROM {table}").all()), table


@pytest.fixture
def headers(fake_anthropic: FakeAnthropic, client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


@pytest.fixture
def world(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    put_profile(
        client,
        headers,
        headline="Backend engineer",
        resume_text="Ten years of Python services",
        linkedin_summary="I build reliable systems",
    )
    opp = create_opportunity(client, headers, company="Acme", role="Engineer", job_description="Build APIs")
    create_interview(
        client, headers, opp["id"], kind="phone_screen", scheduled_at=to_iso(T0), debrief="Asked about SQL"
    )
    target = create_interview(
        client, headers, opp["id"], kind="technical", scheduled_at=to_iso(T0 + timedelta(days=7))
    )
    return {"opportunity": opp, "interview": target, "user_id": user_id(client, headers)}


@pytest.fixture
def queued(client: TestClient, headers: dict[str, str], world: dict[str, Any]) -> dict[str, Any]:
    """The prep of the world's interview, queued."""
    return post_prep(client, headers, world["interview"]["id"])


# ---- the happy path ----------------------------------------------------------------------------


def test_request_to_ready_through_the_local_worker(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    interview_id = world["interview"]["id"]
    usage = {
        "input_tokens": 1234,
        "output_tokens": 567,
        "cache_creation_input_tokens": 89,
        "cache_read_input_tokens": 10,
    }
    fake_anthropic.script(Reply.ok(usage=usage))
    started = utc_now()
    assert run_once() is True
    assert run_once() is False  # nothing else to do
    assert jobs() == []

    prep = get_prep(client, headers, interview_id)
    assert prep["id"] == queued["id"]
    assert prep["status"] == "ready"
    assert prep["error"] is None
    assert prep["model"] == DEFAULT_MODEL
    assert prep["content"] == DEFAULT_PREP
    record = prep["ai_processing"]
    assert record["provider"] == "Anthropic"
    assert record["model"] == DEFAULT_MODEL
    assert record["fields_sent"] == ALL_FIELDS
    assert record["debriefs_sent"] == 1
    assert record["requests"] == 1
    assert record["usage"] == usage
    assert TIME_Z.match(record["sent_at"])
    assert started - timedelta(seconds=1) <= from_iso(record["sent_at"]) <= utc_now()
    assert interview(client, headers, interview_id)["prep_status"] == "ready"

    entries = list_all(client, headers, "/v1/activity", kind="prep_ready")
    assert len(entries) == 1, entries
    assert entries[0]["opportunity_id"] == world["opportunity"]["id"]
    assert entries[0].get("interview_id", interview_id) == interview_id
    assert entries[0]["summary"]

    # The wire request: Bearer auth, the forced tool with the PrepContent schema, the cached profile.
    [sent] = fake_anthropic.message_requests
    assert sent["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert sent["headers"]["anthropic-version"]
    body = sent["body"]
    assert body["model"] == DEFAULT_MODEL
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    [tool] = body["tools"]
    assert tool["name"] == TOOL_NAME
    assert set(tool["input_schema"]["properties"]) == set(DEFAULT_PREP)
    assert set(tool["input_schema"].get("required", [])) == set(DEFAULT_PREP)
    assert body["max_tokens"] >= 1024
    cached = [block for block in body["system"] if isinstance(block, dict) and block.get("cache_control")]
    assert len(cached) == 1, body["system"]
    assert cached[0]["cache_control"]["type"] == "ephemeral"
    assert "Ten years of Python services" in cached[0]["text"]
    assert "Backend engineer" in cached[0]["text"]
    assert "I build reliable systems" in cached[0]["text"]
    assert "Ten years of Python services" not in json.dumps(body["messages"])  # the profile is in the cache

    # Repeats return the ready prep and queue nothing.
    assert post_prep(client, headers, interview_id) == prep
    assert jobs() == []

    # Another interview with the same profile reads the cached prefix.
    other = create_interview(client, headers, world["opportunity"]["id"], kind="behavioral")
    post_prep(client, headers, other["id"])
    assert run_once() is True
    usage2 = get_prep(client, headers, other["id"])["ai_processing"]["usage"]
    assert usage2["cache_read_input_tokens"] > 0, usage2
    assert len(fake_anthropic.message_requests) == 2


# ---- retries inside the SDK --------------------------------------------------------------------


def test_overloaded_then_success_is_retried_in_process(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    fake_anthropic.script(Reply.overloaded(), Reply.ok())
    assert run_once() is True
    prep = get_prep(client, headers, world["interview"]["id"])
    assert prep["status"] == "ready" and prep["error"] is None
    assert prep["content"] == DEFAULT_PREP
    sent = fake_anthropic.message_requests
    assert [r["status"] for r in sent] == [529, 200]
    assert [r["headers"].get("x-stainless-retry-count") for r in sent] == ["0", "1"]
    assert jobs() == []


def test_rate_limited_with_a_short_retry_after_is_retried_in_process(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    fake_anthropic.script(Reply.rate_limited(retry_after=0.3), Reply.ok())
    started = time.monotonic()
    assert run_once() is True
    assert time.monotonic() - started >= 0.3  # retry-after honoured
    assert get_prep(client, headers, world["interview"]["id"])["status"] == "ready"
    assert [r["status"] for r in fake_anthropic.message_requests] == [429, 200]


def test_a_long_retry_after_reschedules_the_job_instead_of_sleeping(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    interview_id = world["interview"]["id"]
    fake_anthropic.script(Reply.rate_limited(retry_after=120))
    t0 = utc_now()
    assert run_once(t0) is True
    assert len(fake_anthropic.message_requests) == 1  # not retried in-process

    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "queued"
    assert prep["content"] is None
    assert isinstance(prep["error"], str) and "rate" in prep["error"].lower(), prep
    assert API_KEY not in prep["error"]
    assert interview(client, headers, interview_id)["prep_status"] == "queued"
    job = job_for(queued["id"])
    assert job is not None and job["lease_until"] is None
    wait = (from_iso(job["available_at"]) - t0).total_seconds()
    assert 119 <= wait <= 121, wait

    assert run_once(t0 + timedelta(seconds=60)) is False  # not due yet
    assert len(fake_anthropic.message_requests) == 1
    assert run_once(t0 + timedelta(seconds=121)) is True
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "ready" and prep["error"] is None
    assert prep["content"] == DEFAULT_PREP
    assert len(fake_anthropic.message_requests) == 2
    assert jobs() == []


# ---- failures that are not retried -------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [Reply.spend_limit(), Reply.spend_limit(error_code=None)],
    ids=["with-error-code", "message-only"],
)
def test_spend_limit_fails_at_once(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
    reply: Reply,
    caplog: pytest.LogCaptureFixture,
) -> None:
    interview_id = world["interview"]["id"]
    fake_anthropic.script(reply)
    assert run_once() is True
    assert len(fake_anthropic.message_requests) == 1
    prep = get_prep(client, headers, interview_id)
    assert_failed_cleanly(prep, mentions="spend")
    assert interview(client, headers, interview_id)["prep_status"] == "failed"
    assert jobs() == []
    assert_no_secret_anywhere(client, headers, interview_id)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "prep generation failed" in logged  # the failure was logged
    assert API_KEY not in logged

    # A failed version is not live: asking again queues a new one.
    again = post_prep(client, headers, interview_id)
    assert again["id"] != prep["id"] and again["status"] == "queued" and again["error"] is None
    assert get_prep(client, headers, interview_id)["id"] == again["id"]
    assert interview(client, headers, interview_id)["prep_status"] == "queued"
    assert len(jobs()) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply.error(400, "invalid_request_error", "messages: prompt is too long"),
        Reply.error(401, "authentication_error", "invalid x-api-key"),
        Reply.error(403, "permission_error", "Your API key does not have permission"),
        Reply.error(404, "not_found_error", "model: claude-sonnet-4-6"),
        # The SDK retries 409 by default; issue 4: "a spend-limit 429 or a 4xx is not retried".
        Reply.error(409, "invalid_request_error", "conflict"),
        Reply.error(413, "request_too_large", "Request exceeds the maximum allowed number of bytes"),
    ],
    ids=["400", "401", "403", "404", "409", "413"],
)
def test_a_permanent_error_fails_without_retrying(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
    reply: Reply,
    caplog: pytest.LogCaptureFixture,
) -> None:
    interview_id = world["interview"]["id"]
    fake_anthropic.script(reply)
    assert run_once() is True
    assert len(fake_anthropic.message_requests) == 1
    prep = get_prep(client, headers, interview_id)
    assert_failed_cleanly(prep, mentions=str(reply.status))
    assert prep["ai_processing"]["requests"] == 1
    assert interview(client, headers, interview_id)["prep_status"] == "failed"
    assert jobs() == []
    assert_no_secret_anywhere(client, headers, interview_id)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "prep generation failed" in logged  # the failure was logged
    assert API_KEY not in logged


# ---- timeouts ----------------------------------------------------------------------------------


def test_a_timeout_hands_the_prep_back_to_the_queue(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import Outcome

    interview_id = world["interview"]["id"]
    fake_anthropic.script(Reply.delay(3), Reply.delay(3))
    slow = model(timeout=0.3, max_retries=1)
    started = time.monotonic()
    result = process(world["user_id"], queued["id"], with_model=slow)
    assert time.monotonic() - started < 2.5  # gave up on time, did not wait for the answers
    assert result.outcome is Outcome.RETRY
    assert result.delay >= timedelta(seconds=1)
    assert len(fake_anthropic.message_requests) == 2  # the SDK retried the timeout once (max_retries=1)

    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "queued"
    assert isinstance(prep["error"], str) and "time" in prep["error"].lower(), prep
    assert interview(client, headers, interview_id)["prep_status"] == "queued"
    assert prep_row(queued["id"])["claim_token"] is None

    # The next delivery succeeds.
    result = process(world["user_id"], queued["id"], with_model=model(timeout=5, max_retries=0))
    assert result.outcome is Outcome.DONE
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "ready" and prep["error"] is None and prep["content"] == DEFAULT_PREP


# ---- unreadable answers ------------------------------------------------------------------------

UNREADABLE = [Reply.malformed_tool_input(), Reply.text(), Reply.truncated(), Reply.refusal()]
UNREADABLE_IDS = ["malformed-tool-input", "text-only", "truncated", "refusal"]


@pytest.mark.parametrize("bad", UNREADABLE, ids=UNREADABLE_IDS)
def test_an_unreadable_answer_is_asked_again_once(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
    bad: Reply,
) -> None:
    fake_anthropic.script(bad, Reply.ok())
    assert run_once() is True
    prep = get_prep(client, headers, world["interview"]["id"])
    assert prep["status"] == "ready", prep
    assert prep["content"] == DEFAULT_PREP
    assert prep["ai_processing"]["requests"] == 2
    sent = fake_anthropic.message_requests
    assert len(sent) == 2
    assert sent[0]["body"] == sent[1]["body"]
    assert prep["ai_processing"]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("bad", UNREADABLE[:2], ids=UNREADABLE_IDS[:2])
def test_two_unreadable_answers_fail(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
    bad: Reply,
) -> None:
    fake_anthropic.script(bad, bad, Reply.ok())
    assert run_once() is True
    prep = get_prep(client, headers, world["interview"]["id"])
    assert_failed_cleanly(prep, mentions="could not be read")
    assert prep["ai_processing"]["requests"] == 2
    assert len(fake_anthropic.message_requests) == 2
    assert fake_anthropic.unconsumed == 1
    assert jobs() == []


# ---- attempts running out ----------------------------------------------------------------------


def test_transient_failures_until_attempts_run_out_fail_the_prep(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import MAX_ATTEMPTS

    interview_id = world["interview"]["id"]
    # x-should-retry: false keeps the SDK from retrying in-process: one HTTP request per attempt.
    fake_anthropic.script(*[Reply.overloaded(headers={"x-should-retry": "false"})] * (MAX_ATTEMPTS + 1))
    now = utc_now()
    delays = []
    for attempt in range(1, MAX_ATTEMPTS):
        assert run_once(now) is True
        assert len(fake_anthropic.message_requests) == attempt
        prep = get_prep(client, headers, interview_id)
        assert prep["status"] == "queued", (attempt, prep)
        assert prep["error"], prep
        job = job_for(queued["id"])
        assert job is not None, attempt
        due = from_iso(job["available_at"])
        delays.append((due - now).total_seconds())
        assert run_once(due - timedelta(seconds=1)) is False  # backing off
        now = due
    assert all(a < b for a, b in itertools.pairwise(delays)), delays  # growing backoff
    assert delays[0] >= 1, delays

    assert run_once(now) is True
    assert len(fake_anthropic.message_requests) == MAX_ATTEMPTS
    prep = get_prep(client, headers, interview_id)
    assert_failed_cleanly(prep, mentions="gave up")
    assert prep["ai_processing"] is not None
    assert interview(client, headers, interview_id)["prep_status"] == "failed"
    assert jobs() == []
    assert run_once(now + timedelta(days=1)) is False
    assert len(fake_anthropic.message_requests) == MAX_ATTEMPTS


# ---- crashes, duplicates, concurrency ----------------------------------------------------------


def test_a_worker_that_died_while_generating_is_taken_over_after_its_lease(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep import repository
    from prep.service import LEASE

    interview_id = world["interview"]["id"]
    t0 = utc_now()
    state = repository.claim(
        get_database(),
        user_id=world["user_id"],
        prep_id=queued["id"],
        token="dead-worker",
        now=to_iso(t0),
        lease_until=to_iso(t0 + LEASE),
    )
    assert state is not None and state["claim_token"] == "dead-worker" and state["status"] == "generating"
    assert get_prep(client, headers, interview_id)["status"] == "generating"
    assert interview(client, headers, interview_id)["prep_status"] == "generating"

    # The job is delivered again while the dead worker's lease runs: nobody calls the model.
    assert run_once(t0 + timedelta(seconds=10)) is True
    assert fake_anthropic.message_requests == []
    assert get_prep(client, headers, interview_id)["status"] == "generating"
    job = job_for(queued["id"])
    assert job is not None
    assert from_iso(job["available_at"]) >= t0 + LEASE - timedelta(seconds=1)  # back when the lease ends
    assert run_once(t0 + LEASE - timedelta(seconds=1)) is False

    # After the lease, the next worker takes it over and finishes it.
    assert run_once(t0 + LEASE + timedelta(seconds=1)) is True
    assert len(fake_anthropic.message_requests) == 1
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "ready" and prep["content"] == DEFAULT_PREP
    assert interview(client, headers, interview_id)["prep_status"] == "ready"
    assert jobs() == []

    # The dead worker, were it to wake up, cannot overwrite its successor's work.
    assert not repository.finish(
        get_database(),
        user_id=world["user_id"],
        prep_id=queued["id"],
        token="dead-worker",
        status="failed",
        content=None,
        error="late",
        ai_processing=None,
        now=to_iso(t0 + LEASE + timedelta(seconds=2)),
    )
    assert get_prep(client, headers, interview_id)["status"] == "ready"
    assert len(list_all(client, headers, "/v1/activity", kind="prep_ready")) == 1


def test_a_process_that_died_holding_the_job_is_retried_after_restart(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep import repository
    from prep.service import LEASE

    db = get_database()
    t0 = utc_now()
    claimed = LocalJobQueue.claim(db, now=to_iso(t0), lease_until=to_iso(t0 + LEASE))
    assert claimed is not None and claimed[1].payload == {"prep_id": queued["id"]}
    repository.claim(
        db,
        user_id=world["user_id"],
        prep_id=queued["id"],
        token="died-with-the-process",
        now=to_iso(t0),
        lease_until=to_iso(t0 + LEASE),
    )
    # Restart: the job is not lost, only leased.
    assert run_once(t0 + timedelta(seconds=5)) is False
    assert len(jobs()) == 1
    assert run_once(t0 + LEASE + timedelta(seconds=1)) is True
    assert get_prep(client, headers, world["interview"]["id"])["status"] == "ready"
    assert len(fake_anthropic.message_requests) == 1
    assert jobs() == []


def test_duplicate_delivery_makes_one_model_call(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import Outcome

    first = process(world["user_id"], queued["id"])
    second = process(world["user_id"], queued["id"])
    assert first.outcome is Outcome.DONE and second.outcome is Outcome.DONE
    assert run_once() is True  # the job itself, delivered a third time
    assert len(fake_anthropic.message_requests) == 1
    assert get_prep(client, headers, world["interview"]["id"])["status"] == "ready"
    # A late duplicate leaves the interview's prep_status following the (ready) prep.
    assert interview(client, headers, world["interview"]["id"])["prep_status"] == "ready"
    assert len(list_all(client, headers, "/v1/activity", kind="prep_ready")) == 1
    assert jobs() == []


def test_two_concurrent_workers_make_one_model_call(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import Outcome

    fake_anthropic.script(Reply.delay(1.0))  # the winner is still generating when the other arrives
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        result = process(world["user_id"], queued["id"])
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.outcome.value for r in outcomes) == [Outcome.BUSY.value, Outcome.DONE.value], outcomes
    busy = next(r for r in outcomes if r.outcome is Outcome.BUSY)
    assert busy.delay >= timedelta(seconds=1)
    assert len(fake_anthropic.message_requests) == 1
    assert get_prep(client, headers, world["interview"]["id"])["status"] == "ready"


def test_a_job_whose_interview_was_deleted_is_dropped(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    assert client.delete(f"/v1/interviews/{world['interview']['id']}", headers=headers).status_code == 204
    assert count("preps") == 0
    assert run_once() is True
    assert fake_anthropic.message_requests == []
    assert jobs() == []


def test_prep_status_follows_the_newest_version(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    """An older version finishing after a newer one was requested does not change prep_status."""
    interview_id = world["interview"]["id"]
    put_profile(client, headers, resume_text="Eleven years of Python services")
    newer = post_prep(client, headers, interview_id)
    assert newer["id"] != queued["id"]
    process(world["user_id"], queued["id"], now=datetime.now(UTC))
    assert prep_row(queued["id"])["status"] == "ready"
    assert interview(client, headers, interview_id)["prep_status"] == "queued"
    assert get_prep(client, headers, interview_id)["id"] == newer["id"]


def test_a_late_duplicate_of_a_failed_prep_changes_nothing(
    client: TestClient,
    headers: dict[str, str],
    world: dict[str, Any],
    queued: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import Outcome

    interview_id = world["interview"]["id"]
    fake_anthropic.script(Reply.error(400, "invalid_request_error", "bad request"))
    assert run_once() is True
    before = get_prep(client, headers, interview_id)
    assert before["status"] == "failed"

    assert process(world["user_id"], queued["id"]).outcome is Outcome.DONE
    assert get_prep(client, headers, interview_id) == before
    assert interview(client, headers, interview_id)["prep_status"] == "failed"
    assert len(fake_anthropic.message_requests) == 1
