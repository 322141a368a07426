"""HTTP routes of the records function: profile, opportunities, interviews, contacts, notes, activity
and the dashboard. Every route needs a signed-in caller and sees only the caller's records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from common import prep_requests
from common.clock import utc_now
from common.queue import get_job_queue
from common.schemas import SHORT_MAX, AwareDatetime
from common.settings import get_settings
from common.web import CurrentPrincipal, Db, Page, problem_responses
from records import service
from records.schemas import (
    Activity,
    ActivityCreate,
    ActivityKind,
    ActivityPage,
    Contact,
    ContactCreate,
    ContactPage,
    ContactUpdate,
    Interview,
    InterviewCreate,
    InterviewPage,
    InterviewUpdate,
    Note,
    NoteCreate,
    NotePage,
    NoteUpdate,
    Opportunity,
    OpportunityCreate,
    OpportunityPage,
    OpportunitySort,
    OpportunityStatus,
    OpportunityUpdate,
    Outcome,
    Prep,
    Profile,
    ProfileUpdate,
    Stats,
)

router = APIRouter()

_READ = problem_responses(400, 401, 404, 422)
_WRITE = problem_responses(400, 401, 404, 413, 415, 422)
_LIST = problem_responses(400, 401, 422)
OpportunityFilter = Annotated[str | None, Query(max_length=64, description="Only those of this opportunity")]


def _no_content() -> Response:
    return Response(status_code=204)


# ---- profile --------------------------------------------------------------------------------------


@router.get("/v1/me/profile", response_model=Profile, tags=["profile"], responses=_READ)
async def get_profile(principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Headline, resume text and LinkedIn summary (empty strings until first saved)."""
    return service.get_profile(db, user_id=principal.user_id)


@router.put("/v1/me/profile", response_model=Profile, tags=["profile"], responses=_WRITE)
async def put_profile(body: ProfileUpdate, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Save the profile. Fields you leave out keep their value; `null` or "" clears one."""
    return service.put_profile(db, user_id=principal.user_id, data=body)


# ---- opportunities --------------------------------------------------------------------------------


@router.post(
    "/v1/opportunities", status_code=201, response_model=Opportunity, tags=["opportunities"], responses=_WRITE
)
async def create_opportunity(body: OpportunityCreate, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Add an opportunity. Status `applied` without `applied_at` sets it to now."""
    return service.create_opportunity(db, user_id=principal.user_id, data=body)


@router.get("/v1/opportunities", response_model=OpportunityPage, tags=["opportunities"], responses=_LIST)
async def list_opportunities(
    principal: CurrentPrincipal,
    db: Db,
    page: Page,
    status: OpportunityStatus | None = None,
    tag: Annotated[str | None, Query(max_length=SHORT_MAX, description="Exact tag, any case")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=SHORT_MAX,
            description="Words to find (as word prefixes, any case or accent) in company, role, "
            "job description and tags; every word must match",
        ),
    ] = None,
    archived: Annotated[bool, Query(description="true lists only archived opportunities")] = False,
    sort: Annotated[
        OpportunitySort,
        Query(description="updated_at / created_at / applied_at: newest first; company: A to Z"),
    ] = "updated_at",
) -> dict[str, Any]:
    """The caller's opportunities, a page at a time."""
    return service.list_opportunities(
        db, page, user_id=principal.user_id, archived=archived, status=status, tag=tag, q=q, sort=sort
    )


@router.get("/v1/opportunities/{id}", response_model=Opportunity, tags=["opportunities"], responses=_READ)
async def get_opportunity(id: str, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    return service.get_opportunity(db, user_id=principal.user_id, opportunity_id=id)


@router.patch("/v1/opportunities/{id}", response_model=Opportunity, tags=["opportunities"], responses=_WRITE)
async def update_opportunity(
    id: str,
    body: OpportunityUpdate,
    principal: CurrentPrincipal,
    db: Db,
) -> dict[str, Any]:
    """Change some fields (`null` clears an optional one). A status change is added to the timeline."""
    return service.update_opportunity(db, user_id=principal.user_id, opportunity_id=id, data=body)


@router.delete("/v1/opportunities/{id}", status_code=204, tags=["opportunities"], responses=_READ)
async def delete_opportunity(id: str, principal: CurrentPrincipal, db: Db) -> Response:
    """Delete it with its interviews, notes, timeline and prep documents; its contacts stay, unlinked."""
    service.delete_opportunity(db, user_id=principal.user_id, opportunity_id=id)
    return _no_content()


# ---- interviews -----------------------------------------------------------------------------------


@router.post(
    "/v1/interviews", status_code=201, response_model=Interview, tags=["interviews"], responses=_WRITE
)
async def create_interview(body: InterviewCreate, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Add an interview to one of your opportunities."""
    return service.create_interview(db, user_id=principal.user_id, data=body)


@router.get("/v1/interviews", response_model=InterviewPage, tags=["interviews"], responses=_LIST)
async def list_interviews(
    principal: CurrentPrincipal,
    db: Db,
    page: Page,
    opportunity_id: OpportunityFilter = None,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="Scheduled at or after (with an offset)")
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(alias="to", description="Scheduled before (with an offset)")
    ] = None,
    outcome: Outcome | None = None,
) -> dict[str, Any]:
    """The caller's interviews by scheduled time (unscheduled last)."""
    return service.list_interviews(
        db,
        page,
        user_id=principal.user_id,
        opportunity_id=opportunity_id,
        start=start,
        end=end,
        outcome=outcome,
    )


@router.get("/v1/interviews/{id}", response_model=Interview, tags=["interviews"], responses=_READ)
async def get_interview(id: str, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    return service.get_interview(db, user_id=principal.user_id, interview_id=id)


@router.patch("/v1/interviews/{id}", response_model=Interview, tags=["interviews"], responses=_WRITE)
async def update_interview(
    id: str,
    body: InterviewUpdate,
    principal: CurrentPrincipal,
    db: Db,
) -> dict[str, Any]:
    """Change some fields. A new time or outcome is added to the timeline."""
    return service.update_interview(db, user_id=principal.user_id, interview_id=id, data=body)


@router.delete("/v1/interviews/{id}", status_code=204, tags=["interviews"], responses=_READ)
async def delete_interview(id: str, principal: CurrentPrincipal, db: Db) -> Response:
    """Delete it with its notes, timeline entries and prep documents."""
    service.delete_interview(db, user_id=principal.user_id, interview_id=id)
    return _no_content()


def _prep_policy() -> prep_requests.PrepPolicy:
    settings = get_settings()
    return prep_requests.PrepPolicy(
        model=settings.PREP_MODEL,
        hourly_limit=settings.PREP_RATE_LIMIT_PER_HOUR,
        configured=settings.ai_configured,
    )


@router.post(
    "/v1/interviews/{id}/prep",
    status_code=202,
    response_model=Prep,
    tags=["prep"],
    responses=problem_responses(
        401,
        404,
        409,
        429,
        503,
        _409="The interview has no opportunity",
        _429="Over the hourly prep limit; see Retry-After",
        _503="No AI provider is configured, or the queue is unavailable",
    ),
)
async def request_prep(id: str, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Queue AI prep for the interview. Idempotent: while a prep for the same inputs (opportunity, job
    description, profile, earlier debriefs, model) is queued, generating or ready, that one is returned
    and nothing is queued. Changed inputs make a new version."""
    return prep_requests.request_prep(
        db, get_job_queue(), _prep_policy(), user_id=principal.user_id, interview_id=id, now=utc_now()
    )


@router.get("/v1/interviews/{id}/prep", response_model=Prep, tags=["prep"], responses=_READ)
async def get_prep(id: str, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """The newest prep of the interview, with the record of what was sent to the AI provider."""
    return prep_requests.get_prep(db, user_id=principal.user_id, interview_id=id)


# ---- contacts -------------------------------------------------------------------------------------


@router.post("/v1/contacts", status_code=201, response_model=Contact, tags=["contacts"], responses=_WRITE)
async def create_contact(body: ContactCreate, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    return service.create_contact(db, user_id=principal.user_id, data=body)


@router.get("/v1/contacts", response_model=ContactPage, tags=["contacts"], responses=_LIST)
async def list_contacts(
    principal: CurrentPrincipal,
    db: Db,
    page: Page,
    q: Annotated[
        str | None, Query(max_length=SHORT_MAX, description="Text in the name, email, company or title")
    ] = None,
    opportunity_id: OpportunityFilter = None,
) -> dict[str, Any]:
    """The caller's contacts, A to Z."""
    return service.list_contacts(db, page, user_id=principal.user_id, q=q, opportunity_id=opportunity_id)


@router.get("/v1/contacts/{id}", response_model=Contact, tags=["contacts"], responses=_READ)
async def get_contact(id: str, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    return service.get_contact(db, user_id=principal.user_id, contact_id=id)


@router.patch("/v1/contacts/{id}", response_model=Contact, tags=["contacts"], responses=_WRITE)
async def update_contact(
    id: str,
    body: ContactUpdate,
    principal: CurrentPrincipal,
    db: Db,
) -> dict[str, Any]:
    """Change some fields; `opportunity_ids` replaces the whole set of links."""
    return service.update_contact(db, user_id=principal.user_id, contact_id=id, data=body)


@router.delete("/v1/contacts/{id}", status_code=204, tags=["contacts"], responses=_READ)
async def delete_contact(id: str, principal: CurrentPrincipal, db: Db) -> Response:
    """Delete a contact; notes about it stay, unlinked."""
    service.delete_contact(db, user_id=principal.user_id, contact_id=id)
    return _no_content()


# ---- notes ----------------------------------------------------------------------------------------


@router.post("/v1/notes", status_code=201, response_model=Note, tags=["notes"], responses=_WRITE)
async def create_note(body: NoteCreate, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    return service.create_note(db, user_id=principal.user_id, data=body)


@router.get("/v1/notes", response_model=NotePage, tags=["notes"], responses=_LIST)
async def list_notes(
    principal: CurrentPrincipal,
    db: Db,
    page: Page,
    opportunity_id: OpportunityFilter = None,
    interview_id: Annotated[str | None, Query(max_length=64)] = None,
    contact_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The caller's notes, newest first."""
    links = {"opportunity_id": opportunity_id, "interview_id": interview_id, "contact_id": contact_id}
    return service.list_notes(db, page, user_id=principal.user_id, links=links)


@router.get("/v1/notes/{id}", response_model=Note, tags=["notes"], responses=_READ)
async def get_note(id: str, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    return service.get_note(db, user_id=principal.user_id, note_id=id)


@router.patch("/v1/notes/{id}", response_model=Note, tags=["notes"], responses=_WRITE)
async def update_note(
    id: str,
    body: NoteUpdate,
    principal: CurrentPrincipal,
    db: Db,
) -> dict[str, Any]:
    return service.update_note(db, user_id=principal.user_id, note_id=id, data=body)


@router.delete("/v1/notes/{id}", status_code=204, tags=["notes"], responses=_READ)
async def delete_note(id: str, principal: CurrentPrincipal, db: Db) -> Response:
    service.delete_note(db, user_id=principal.user_id, note_id=id)
    return _no_content()


# ---- activity and dashboard -----------------------------------------------------------------------


@router.post("/v1/activity", status_code=201, response_model=Activity, tags=["activity"], responses=_WRITE)
async def create_activity(body: ActivityCreate, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Record an email, call, message or other event (the service records the rest itself)."""
    return service.create_activity(db, user_id=principal.user_id, data=body)


@router.get("/v1/activity", response_model=ActivityPage, tags=["activity"], responses=_LIST)
async def list_activity(
    principal: CurrentPrincipal,
    db: Db,
    page: Page,
    opportunity_id: OpportunityFilter = None,
    kind: ActivityKind | None = None,
) -> dict[str, Any]:
    """The timeline, newest first by `occurred_at`."""
    return service.list_activity(
        db, page, user_id=principal.user_id, opportunity_id=opportunity_id, kind=kind
    )


@router.get("/v1/stats", response_model=Stats, tags=["dashboard"], responses=problem_responses(401))
async def get_stats(principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Pipeline counts, response rate, median time in each stage, and the coming week's interviews."""
    return service.get_stats(db, user_id=principal.user_id)
