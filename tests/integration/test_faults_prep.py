"""The AI provider failing for a long time, and a prep worker dying mid-job (issue 10, fault injection),
through the real code paths: `local.worker.run_once` (or `prep.service.process_prep` where a shorter SDK
timeout is needed), the real `anthropic` SDK and the fake Messages API, which counts every call.

- 429 / 529 / 5xx / timeout storms: the SDK's own retries are bounded (1 per attempt), the job is handed
  back with growing backoff, and after MAX_ATTEMPTS the prep is `failed` with a clear error; not one call
  more after that.
- A worker that was presumed dead (its lease ran out) and comes back with an answer after its successor
  finished: the successor's result is the one kept, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.clock import from_iso, utc_now
from tests.fakes.anthropic_server import DEFAULT_PREP, FakeAnthropic, Reply
from tests.integration.test_prep_requests import get_prep, interview, jobs
from tests.integration.test_prep_worker import (  # noqa: F401 (fixtures)
    assert_failed_cleanly,
    headers,
    job_for,
    model,
    process,
    queued,
    run_once,
    world,
)
from tests.records import list_all

FAST = {"retry-after-ms": "1"}  # the SDK waits 1 ms before its own retry: storms run quickly


def storm(make: Callable[[], Reply], n: int = 40) -> list[Reply]:
    return [make() for _ in range(n)]


STORMS = {
    "529": lambda: Reply.overloaded(headers=FAST),
    "429": lambda: Reply.rate_limited(retry_after=None, retry_after_ms=1),
    "500": lambda: Reply.server_error(500, headers=FAST),
    "html-502": lambda: Reply.raw(502, "<html><body>Bad gateway</body></html>", headers=FAST),
}


@pytest.mark.parametrize("kind", list(STORMS))
def test_a_storm_is_retried_a_bounded_number_of_times_then_fails_clearly(
    client: TestClient,
    headers: dict[str, str],  # noqa: F811
    world: dict[str, Any],  # noqa: F811
    queued: dict[str, Any],  # noqa: F811
    fake_anthropic: FakeAnthropic,
    kind: str,
) -> None:
    from prep.service import MAX_ATTEMPTS

    interview_id = world["interview"]["id"]
    fake_anthropic.script(*storm(STORMS[kind]))
    now = utc_now()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert run_once(now) is True, attempt
        # Each attempt: one request and one SDK retry, never more.
        assert len(fake_anthropic.message_requests) == 2 * attempt, attempt
        job = job_for(queued["id"])
        if attempt == MAX_ATTEMPTS:
            assert job is None
            break
        assert job is not None and job["lease_until"] is None
        prep = get_prep(client, headers, interview_id)
        assert prep["status"] == "queued" and prep["error"], prep  # waiting, and saying why
        due = from_iso(job["available_at"])
        waits.append((due - now).total_seconds())
        assert run_once(due - timedelta(seconds=1)) is False  # backing off, not hammering
        now = due
    assert waits == sorted(waits) and waits[0] >= 1, waits

    prep = get_prep(client, headers, interview_id)
    assert_failed_cleanly(prep, mentions="gave up")
    assert "busy" in prep["error"].lower() or "rate" in prep["error"].lower(), prep["error"]
    assert interview(client, headers, interview_id)["prep_status"] == "failed"
    assert jobs() == []
    calls = len(fake_anthropic.message_requests)
    assert calls == 2 * MAX_ATTEMPTS
    assert run_once(now + timedelta(days=2)) is False
    assert len(fake_anthropic.message_requests) == calls
    assert list_all(client, headers, "/v1/activity", kind="prep_ready") == []


def test_a_timeout_storm_fails_after_the_last_attempt(
    client: TestClient,
    headers: dict[str, str],  # noqa: F811
    world: dict[str, Any],  # noqa: F811
    queued: dict[str, Any],  # noqa: F811
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import MAX_ATTEMPTS, Outcome

    interview_id = world["interview"]["id"]
    fake_anthropic.script(*storm(lambda: Reply.delay(1.5), 2 * MAX_ATTEMPTS))
    slow = model(timeout=0.2, max_retries=1)
    now = utc_now()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = process(world["user_id"], queued["id"], now=now, with_model=slow)
        assert len(fake_anthropic.message_requests) == 2 * attempt
        if attempt < MAX_ATTEMPTS:
            assert result.outcome is Outcome.RETRY and result.delay >= timedelta(seconds=1), result
            assert get_prep(client, headers, interview_id)["status"] == "queued"
            now += result.delay
        else:
            assert result.outcome is Outcome.DONE
    prep = get_prep(client, headers, interview_id)
    assert_failed_cleanly(prep, mentions="gave up")
    assert "time" in prep["error"].lower(), prep["error"]
    # A late delivery of the job changes nothing and calls nobody.
    assert process(world["user_id"], queued["id"], now=now, with_model=slow).outcome is Outcome.DONE
    assert len(fake_anthropic.message_requests) == 2 * MAX_ATTEMPTS
    assert get_prep(client, headers, interview_id) == prep


def test_a_storm_that_ends_before_the_last_attempt_still_makes_the_prep(
    client: TestClient,
    headers: dict[str, str],  # noqa: F811
    world: dict[str, Any],  # noqa: F811
    queued: dict[str, Any],  # noqa: F811
    fake_anthropic: FakeAnthropic,
) -> None:
    from prep.service import MAX_ATTEMPTS

    interview_id = world["interview"]["id"]
    # Every attempt but the last sees only overloads; the last attempt's retry gets through.
    fake_anthropic.script(*storm(STORMS["529"], 2 * MAX_ATTEMPTS - 1), Reply.ok())
    now = utc_now()
    for _ in range(MAX_ATTEMPTS):
        assert run_once(now) is True
        job = job_for(queued["id"])
        if job is None:
            break
        now = from_iso(job["available_at"])
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "ready" and prep["error"] is None and prep["content"] == DEFAULT_PREP
    assert len(fake_anthropic.message_requests) == 2 * MAX_ATTEMPTS
    assert len(list_all(client, headers, "/v1/activity", kind="prep_ready")) == 1


def test_a_worker_presumed_dead_cannot_overwrite_its_successors_result(
    client: TestClient,
    headers: dict[str, str],  # noqa: F811
    world: dict[str, Any],  # noqa: F811
    queued: dict[str, Any],  # noqa: F811
    fake_anthropic: FakeAnthropic,
) -> None:
    """Worker A claims the prep and stalls inside its model call (a frozen Lambda, a paused laptop). Its
    lease runs out; worker B takes the job over, calls the model and finishes. Then A's answer arrives:
    it must be thrown away, so the prep holds exactly one model call's result, B's."""
    from prep.service import LEASE, Outcome

    zombie_content = {**DEFAULT_PREP, "summary": "ZOMBIE answer that must not be kept"}
    successor_content = {**DEFAULT_PREP, "summary": "The successor's answer"}
    fake_anthropic.script(
        Reply.delay(2.0, then=Reply.ok(tool_input=zombie_content)), Reply.ok(successor_content)
    )
    t0 = utc_now()
    outcome: dict[str, Any] = {}

    def zombie() -> None:
        outcome["zombie"] = process(world["user_id"], queued["id"], now=t0)

    stalled = threading.Thread(target=zombie)
    stalled.start()
    for _ in range(100):  # until A's request reached the fake (it is stalled there now)
        if fake_anthropic.message_requests:
            break
        threading.Event().wait(0.02)
    assert len(fake_anthropic.message_requests) == 1
    assert get_prep(client, headers, world["interview"]["id"])["status"] == "generating"

    successor = process(world["user_id"], queued["id"], now=t0 + LEASE + timedelta(seconds=1))
    assert successor.outcome is Outcome.DONE
    stalled.join(20)
    assert not stalled.is_alive()
    assert outcome["zombie"].outcome is Outcome.DONE

    prep = get_prep(client, headers, world["interview"]["id"])
    assert prep["status"] == "ready" and prep["content"] == successor_content, prep["content"]["summary"]
    assert prep["ai_processing"]["requests"] == 1
    assert len(fake_anthropic.message_requests) == 2
    assert interview(client, headers, world["interview"]["id"])["prep_status"] == "ready"
    assert len(list_all(client, headers, "/v1/activity", kind="prep_ready")) == 1
