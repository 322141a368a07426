"""Generating one prep, idempotently: whoever delivers the job (SQS, possibly twice; the local worker,
possibly after a crash), exactly one worker at a time holds the prep and at most one model call sequence
runs for it. queued -> generating -> ready | failed; a transient failure hands it back as queued."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from common.clock import from_iso, to_iso
from common.db import Database
from common.observability import get_logger
from common.prep import (
    AiProcessing,
    ModelError,
    PermanentModelError,
    PrepInputs,
    PrepModel,
    TokenUsage,
    TransientModelError,
    input_statements,
    interview_context,
)
from prep import repository as repo

MAX_ATTEMPTS = 5
# A claim outlives the longest a worker can spend on it: two model calls (an unreadable answer is
# asked again once) of two HTTP attempts of at most 120 s each, inside the prep function's 540 s timeout.
LEASE = timedelta(seconds=600)
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 900


class Outcome(Enum):
    DONE = "done"  # finished (ready/failed), or nothing left to do: acknowledge the job
    RETRY = "retry"  # handed back after a transient failure: deliver again after `delay`
    BUSY = "busy"  # another worker holds it: deliver again after `delay`


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    delay: timedelta = timedelta(0)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    seconds = min(BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, MAX_BACKOFF_SECONDS))
    return timedelta(seconds=seconds)


def _record(model: PrepModel, inputs: PrepInputs, *, sent_at: str, requests: int, usage: TokenUsage) -> str:
    return AiProcessing(
        provider=model.provider,
        model=model.model,
        fields_sent=inputs.fields_sent(),
        debriefs_sent=len(inputs.debriefs),
        sent_at=sent_at,
        requests=requests,
        usage=usage,
    ).model_dump_json()


def process_prep(db: Database, model: PrepModel, *, user_id: str, prep_id: str, now: datetime) -> Result:
    """Generate one prep if it is still waiting; say when to try again if it cannot be done now."""
    token = secrets.token_hex(16)
    now_iso = to_iso(now)
    state = repo.claim(
        db, user_id=user_id, prep_id=prep_id, token=token, now=now_iso, lease_until=to_iso(now + LEASE)
    )
    if state is None or state["status"] in ("ready", "failed"):
        return Result(Outcome.DONE)  # deleted with its interview or account, or already finished
    if state["claim_token"] != token:
        held_for = from_iso(state["lease_until"]) - now if state["lease_until"] else LEASE
        return Result(Outcome.BUSY, max(held_for, timedelta(seconds=1)))
    log = get_logger()
    context = interview_context(
        db.batch(input_statements(user_id=user_id, interview_id=state["interview_id"]))
    )
    if context is None or context.inputs is None:
        repo.finish(
            db,
            user_id=user_id,
            prep_id=prep_id,
            token=token,
            status="failed",
            content=None,
            error="The interview is no longer linked to an opportunity",
            ai_processing=None,
            now=now_iso,
        )
        return Result(Outcome.DONE)
    inputs = context.inputs
    try:
        generated = model.generate(inputs)
    except TransientModelError as exc:
        log.warning("prep generation deferred", extra={"prep_id": prep_id, "attempts": state["attempts"]})
        if state["attempts"] < MAX_ATTEMPTS:
            repo.release(
                db, user_id=user_id, prep_id=prep_id, token=token, error=exc.user_message, now=now_iso
            )
            return Result(Outcome.RETRY, backoff(state["attempts"], exc.retry_after))
        _fail(
            db, model, inputs, exc, user_id=user_id, prep_id=prep_id, token=token, now_iso=now_iso, final=True
        )
        return Result(Outcome.DONE)
    except PermanentModelError as exc:
        log.warning("prep generation failed", extra={"prep_id": prep_id})
        _fail(
            db,
            model,
            inputs,
            exc,
            user_id=user_id,
            prep_id=prep_id,
            token=token,
            now_iso=now_iso,
            final=False,
        )
        return Result(Outcome.DONE)
    repo.finish(
        db,
        user_id=user_id,
        prep_id=prep_id,
        token=token,
        status="ready",
        content=generated.content.model_dump_json(),
        error=None,
        ai_processing=_record(
            model, inputs, sent_at=now_iso, requests=generated.requests, usage=generated.usage
        ),
        now=now_iso,
    )
    log.info("prep ready", extra={"prep_id": prep_id, "requests": generated.requests})
    return Result(Outcome.DONE)


def _fail(
    db: Database,
    model: PrepModel,
    inputs: PrepInputs,
    exc: ModelError,
    *,
    user_id: str,
    prep_id: str,
    token: str,
    now_iso: str,
    final: bool,
) -> None:
    message = exc.user_message
    if final:
        message = (
            f"{message.split(';')[0]}; gave up after {MAX_ATTEMPTS} attempts. Request the prep again later"
        )
    repo.finish(
        db,
        user_id=user_id,
        prep_id=prep_id,
        token=token,
        status="failed",
        content=None,
        error=message,
        ai_processing=_record(model, inputs, sent_at=now_iso, requests=exc.requests, usage=exc.usage),
        now=now_iso,
    )
