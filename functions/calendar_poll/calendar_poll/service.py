"""Calendar polling: sync one user's Google Calendar, keep calendar interviews in step, queue prep.

Privacy: an event the classifier does not call an interview is dropped here, unread beyond
classification: never stored, logged or sent anywhere. Of an interview, only what the Interview
resource needs is stored (title, times, meeting link or location, interviewer names/emails).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from calendar_poll import repository as repo
from calendar_poll.classifier import (
    CalendarEvent,
    OpportunityHint,
    classify,
    company_domains_for,
    index_opportunities,
)
from calendar_poll.google_calendar import AccessRevokedError, CalendarError, Listing, SyncTokenExpiredError
from common.calendar import access_token_context, refresh_token_context
from common.clock import from_iso, new_id, to_iso
from common.crypto import Sealer, SealError
from common.db import Database, Statement, Value
from common.observability import get_logger
from common.prep_requests import PrepPolicy, request_prep
from common.queue import CALENDAR_SYNC_JOB, Job, JobQueue

MAX_INTERVIEWERS = 50
SHORT = 300


class CalendarSource(Protocol):
    def list_events(
        self,
        *,
        refresh_token: str,
        access_token: str | None,
        access_token_expires_at: datetime | None,
        sync_token: str | None,
        time_min: datetime,
        time_max: datetime,
        look_up_if_absent: Collection[str] = (),
    ) -> Listing: ...


@dataclass(frozen=True)
class SyncSettings:
    lookahead_days: int
    prep_lead_days: int
    prep: PrepPolicy


@dataclass(frozen=True)
class SyncResult:
    outcome: str  # synced | skipped | deferred | reauth_required
    added: int = 0
    updated: int = 0
    cancelled: int = 0
    preps_queued: int = 0


def _short(text: str) -> str | None:
    text = " ".join(text.split())[:SHORT]
    return text or None


def interview_values(event: CalendarEvent) -> dict[str, Value]:
    """What is kept of an interview event: the Interview resource's fields, nothing else."""
    scheduled = to_iso(event.start) if event.start else None
    duration = None
    if event.start and event.end:
        minutes = int((event.end - event.start).total_seconds() // 60)
        duration = minutes if 1 <= minutes <= 1440 else None
    people = []
    for attendee in event.attendees:
        if attendee.is_self or attendee.is_resource:
            continue
        label = attendee.display_name.strip() or attendee.email
        people.append(f"{label} <{attendee.email}>" if attendee.display_name.strip() else label)
    url = (
        event.conference_url if event.conference_url and event.conference_url.startswith("https://") else None
    )
    return {
        "title": _short(event.summary) or "Interview",
        "scheduled_at": scheduled,
        "duration_minutes": duration,
        "location": _short(event.location),
        "meeting_url": url if url and len(url) <= SHORT else None,
        "interviewers": json.dumps([p[:SHORT] for p in people[:MAX_INTERVIEWERS]], ensure_ascii=False),
    }


def _hints(rows: list[dict[str, Any]]) -> list[OpportunityHint]:
    hints = []
    for row in rows:
        emails = [e for e in json.loads(row["emails"] or "[]") if isinstance(e, str)]
        hints.append(
            OpportunityHint(
                id=row["id"],
                company=row["company"],
                contact_emails=emails,
                company_domains=company_domains_for(row["url"], emails),
                role=row["role"],
            )
        )
    return hints


def _expected_in(interviews: list[dict[str, Any]], *, time_min: datetime, time_max: datetime) -> list[str]:
    """Events of live calendar interviews whose stored start lies inside a full listing's window, so the
    listing must show them (live or cancelled) unless they changed. One it lacks is looked up rather than
    cancelled: it may have been moved out of the window meanwhile (then its interview follows it there, as
    in an incremental sync), or deleted long enough ago that Google no longer lists it (then it is
    cancelled). A start exactly at an edge, or none, proves nothing and is left alone."""
    # Stored times are fixed-width UTC text, so text order is time order.
    start, end = to_iso(time_min), to_iso(time_max)
    return [
        row["calendar_event_id"]
        for row in interviews
        if row["outcome"] != "cancelled" and row["scheduled_at"] and start < row["scheduled_at"] < end
    ]


def sync_user(
    db: Database,
    source: CalendarSource,
    sealer: Sealer,
    queue: JobQueue,
    settings: SyncSettings,
    *,
    user_id: str,
    now: datetime,
) -> SyncResult:
    """One incremental sync of one user's calendar (the scheduled poll and POST /v1/me/calendar/sync)."""
    log = get_logger()
    connection_result, opportunity_result, interview_result = repo.sync_context(db, user_id=user_id)
    connection = connection_result.first()
    if connection is None or connection["status"] != "connected" or not connection["refresh_token"]:
        return SyncResult("skipped")
    now_iso = to_iso(now)
    try:
        refresh = sealer.open(connection["refresh_token"], context=refresh_token_context(user_id))
        access = (
            sealer.open(connection["access_token"], context=access_token_context(user_id))
            if connection["access_token"]
            else None
        )
    except SealError:
        db.batch(
            [repo.mark_reauth_required(user_id=user_id, reason="Connect your calendar again", now=now_iso)]
        )
        return SyncResult("reauth_required")
    expires = (
        from_iso(connection["access_token_expires_at"]) if connection["access_token_expires_at"] else None
    )
    time_min, time_max = now, now + timedelta(days=settings.lookahead_days)
    sync_token = connection["sync_token"]
    try:
        try:
            listing = source.list_events(
                refresh_token=refresh,
                access_token=access,
                access_token_expires_at=expires,
                sync_token=sync_token,
                time_min=time_min,
                time_max=time_max,
            )
        except SyncTokenExpiredError:
            # 410: start over with a full sync; events are matched by id, so no duplicates. It lists deleted
            # events too, but Google forgets them after a while, so an event deleted early in a long gap may
            # be missing: the interviews that such a listing must contain are looked up when it lacks them.
            # Only here: the token vouches that the calendar is the one they came from. A first full sync
            # (a new connection, perhaps to another Google account) cancels nothing for being absent.
            sync_token = None
            listing = source.list_events(
                refresh_token=refresh,
                access_token=access,
                access_token_expires_at=expires,
                sync_token=None,
                time_min=time_min,
                time_max=time_max,
                look_up_if_absent=_expected_in(
                    repo.rows(interview_result), time_min=time_min, time_max=time_max
                ),
            )
    except AccessRevokedError:
        reason = "Google access to your calendar was revoked or expired; connect it again"
        db.batch([repo.mark_reauth_required(user_id=user_id, reason=reason, now=now_iso)])
        log.info("calendar needs reauthorization")
        return SyncResult("reauth_required")
    except (CalendarError, SyncTokenExpiredError) as exc:
        log.warning("calendar sync deferred", extra={"error_type": type(exc).__name__})
        return SyncResult("deferred")

    existing = repo.by_event(repo.rows(interview_result))
    index = index_opportunities(_hints(repo.rows(opportunity_result)))
    email = connection["email"]
    statements: list[Statement] = []
    added = updated = cancelled = 0
    for raw in listing.events:
        event = CalendarEvent.from_google(raw)
        if not event.id:
            continue
        known = existing.get(event.id)
        if event.status == "cancelled":
            if known is not None and known["outcome"] != "cancelled":
                statements.append(repo.cancel(user_id=user_id, interview_id=known["id"], now=now_iso))
                cancelled += 1
            continue
        if known is not None:
            values = interview_values(event)
            if (
                values["title"] != known["title"]
                and not classify(event, index, user_email=email).is_interview
            ):
                # Renamed into something that is not an interview (a personal event now): keep none of
                # its new content; the interview is off.
                if known["outcome"] != "cancelled":
                    statements.append(repo.cancel(user_id=user_id, interview_id=known["id"], now=now_iso))
                    cancelled += 1
                continue
            outcome = "pending" if known["outcome"] == "cancelled" else None  # the event is back on
            if any(values[name] != known[name] for name in repo.CALENDAR_OWNED) or outcome:
                statements.append(
                    repo.update_from_calendar(
                        user_id=user_id, interview_id=known["id"], values=values, outcome=outcome, now=now_iso
                    )
                )
                if values["scheduled_at"] != known["scheduled_at"]:
                    when = str(values["scheduled_at"] or "")[:16].replace("T", " ")
                    statements.append(
                        repo.activity(
                            activity_id=new_id(),
                            user_id=user_id,
                            kind="interview_updated",
                            summary=f"Moved in your calendar to {when} UTC",
                            opportunity_id=known["opportunity_id"],
                            interview_id=known["id"],
                            now=now_iso,
                        )
                    )
                updated += 1
            continue
        if event.all_day or event.start is None or event.start < now - timedelta(days=1):
            continue
        detection = classify(event, index, user_email=email)
        if not detection.is_interview:
            continue  # not an interview: forgotten here
        interview_id = new_id()
        statements.append(
            repo.insert_interview(
                {
                    "id": interview_id,
                    "user_id": user_id,
                    "opportunity_id": detection.opportunity_id,
                    "kind": detection.kind,
                    **interview_values(event),
                    "outcome": "pending",
                    "source": "calendar",
                    "calendar_event_id": event.id,
                    "prep_status": "none",
                    "created_at": now_iso,
                    "updated_at": now_iso,
                }
            )
        )
        statements.append(
            repo.activity(
                activity_id=new_id(),
                user_id=user_id,
                kind="interview_scheduled",
                summary="Interview found in your calendar",
                opportunity_id=detection.opportunity_id,
                interview_id=interview_id,
                now=now_iso,
            )
        )
        added += 1
    sealed_access = (
        sealer.seal(listing.access_token, context=access_token_context(user_id))
        if listing.access_token
        else None
    )
    statements += repo.save_sync_state(
        user_id=user_id,
        sync_token=listing.next_sync_token or sync_token,
        access_token=sealed_access,
        access_token_expires_at=to_iso(listing.access_token_expires_at)
        if listing.access_token_expires_at
        else None,
        now=now_iso,
    )
    db.batch(statements)
    queued = _queue_prep(db, queue, settings, user_id=user_id, now=now)
    return SyncResult("synced", added=added, updated=updated, cancelled=cancelled, preps_queued=queued)


def _queue_prep(db: Database, queue: JobQueue, settings: SyncSettings, *, user_id: str, now: datetime) -> int:
    """Prep for linked calendar interviews starting within PREP_LEAD_DAYS that have none yet (the prep
    request is idempotent, and pre-generation does not count against the user's hourly limit)."""
    if not settings.prep.configured:
        return 0
    queued = 0
    end = now + timedelta(days=settings.prep_lead_days)
    for interview_id in repo.upcoming_without_prep(db, user_id=user_id, start=to_iso(now), end=to_iso(end)):
        try:
            request_prep(
                db, queue, settings.prep, user_id=user_id, interview_id=interview_id, now=now, on_demand=False
            )
            queued += 1
        except Exception as exc:  # one interview's prep must not stop the others or the sync
            get_logger().warning("prep not queued", extra={"error_type": type(exc).__name__})
    return queued


# ---- the scheduled poll ----------------------------------------------------------------------------

FAN_OUT_CURSOR = "calendar-fan-out"
PAGE = 100


def connected_user_ids(db: Database, *, start_after: str) -> Iterator[str]:
    """Every connected user once, in id order, starting after `start_after` and wrapping around."""
    for begin, stop in ((start_after, None), ("", start_after or None)):
        after = begin
        while True:
            page = repo.connected_users(db, after=after, limit=PAGE)
            for user_id in page:
                if stop is not None and user_id > stop:
                    return
                yield user_id
            if len(page) < PAGE:
                break
            after = page[-1]
        if not start_after:
            return


def fan_out(
    db: Database, publish_batch: Callable[[list[Job]], int], *, now: datetime, time_left: Callable[[], float]
) -> int:
    """Hand one sync job per connected user to the sync queue, ten at a time, until done or the time
    budget runs low; the next run resumes after the last user handed out (no one is skipped forever)."""
    handed = 0
    last = repo.poll_cursor(db, FAN_OUT_CURSOR)
    batch: list[Job] = []
    finished = True
    for user_id in connected_user_ids(db, start_after=last):
        batch.append(Job(CALENDAR_SYNC_JOB, user_id, {}))
        if len(batch) == 10:
            handed += publish_batch(batch)
            last, batch = user_id, []
            if time_left() < FAN_OUT_MARGIN_SECONDS:
                finished = False
                break
    if batch:
        handed += publish_batch(batch)
        last = batch[-1].user_id
    # A complete round starts from the beginning next time; an interrupted one resumes.
    db.batch([repo.save_poll_cursor(name=FAN_OUT_CURSOR, cursor="" if finished else last, now=to_iso(now))])
    return handed


FAN_OUT_MARGIN_SECONDS = 10.0


def poll_all(
    db: Database,
    source: CalendarSource,
    sealer: Sealer,
    queue: JobQueue,
    settings: SyncSettings,
    *,
    now: datetime,
) -> dict[str, int]:
    """Local mode's scheduled poll: every connected user, one after the other."""
    outcomes: dict[str, int] = {}
    for user_id in connected_user_ids(db, start_after=""):
        try:
            result = sync_user(db, source, sealer, queue, settings, user_id=user_id, now=now)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        except Exception as exc:  # one user's failure must not stop the others
            get_logger().exception("calendar sync failed", extra={"error_type": type(exc).__name__})
            outcomes["error"] = outcomes.get("error", 0) + 1
    return outcomes
