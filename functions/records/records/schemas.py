"""Request and response models of the records function (API.md: profile, opportunities, interviews,
contacts, notes, activity, stats).

Create models give defaults; update models are PATCH bodies where an absent field is left as it is,
`null` clears an optional field and is refused (422) for a field that cannot be empty.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from common.prep import AiProcessing, PrepContent
from common.prep import PrepStatus as PrepDocumentStatus
from common.record_fields import InterviewKind
from common.schemas import (
    SHORT_MAX,
    ApiModel,
    AwareDatetime,
    Email,
    Id,
    LongText,
    ProfileText,
    RequestModel,
    ShortText,
    Url,
)

OpportunityStatus = Literal[
    "wishlist", "applied", "screening", "interviewing", "offer", "accepted", "rejected", "withdrawn"
]
STATUSES: tuple[OpportunityStatus, ...] = get_args(OpportunityStatus)
Priority = Literal["low", "medium", "high"]
OpportunitySort = Literal["updated_at", "created_at", "company", "applied_at"]
Outcome = Literal["pending", "passed", "failed", "cancelled"]
Source = Literal["manual", "calendar"]
PrepStatus = Literal["none", "queued", "generating", "ready", "failed"]
ActivityKind = Literal[
    "created",
    "status_changed",
    "interview_scheduled",
    "interview_updated",
    "prep_ready",
    "note",
    "email",
    "call",
    "message",
    "other",
]
UserActivityKind = Literal["email", "call", "message", "other"]

MAX_TAGS = 50
MAX_INTERVIEWERS = 50
MAX_CONTACT_OPPORTUNITIES = 100
SUMMARY_MAX = 2000
SALARY_MAX = 10**12
SEARCH_MAX = SHORT_MAX


def _dedupe_casefold(values: list[str]) -> list[str]:
    """Drop repeats that differ only by case, keeping the first spelling and the order."""
    seen: set[str] = set()
    kept = []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


Tags = Annotated[list[ShortText], Field(max_length=MAX_TAGS), AfterValidator(_dedupe_casefold)]
Interviewers = Annotated[list[ShortText], Field(max_length=MAX_INTERVIEWERS)]
OpportunityIds = Annotated[list[Id], Field(max_length=MAX_CONTACT_OPPORTUNITIES), AfterValidator(_dedupe)]
Salary = Annotated[StrictInt, Field(ge=0, le=SALARY_MAX)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Duration = Annotated[StrictInt, Field(ge=1, le=1440)]
Phone = Annotated[
    str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Body = Annotated[LongText, StringConstraints(min_length=1), AfterValidator(_not_blank)]
Summary = Annotated[str, StringConstraints(min_length=1, max_length=SUMMARY_MAX), AfterValidator(_not_blank)]
Headline = Annotated[
    str, StringConstraints(max_length=SHORT_MAX, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")
]


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null: this field always has a value")
    return value


# ---- profile -----------------------------------------------------------------------------------


class ProfileUpdate(RequestModel):
    """Omitted fields keep their value; `null` or "" clears one."""

    headline: Headline | None = None
    resume_text: ProfileText | None = None
    linkedin_summary: ProfileText | None = None


class Profile(ApiModel):
    headline: str
    resume_text: str
    linkedin_summary: str
    updated_at: str | None


# ---- opportunities -----------------------------------------------------------------------------


def _salary_order(value: int | None, info: ValidationInfo) -> int | None:
    low = info.data.get("salary_min")
    if value is not None and low is not None and value < low:
        raise ValueError("must not be less than salary_min")
    return value


class OpportunityCreate(RequestModel):
    company: ShortText
    role: ShortText
    status: OpportunityStatus = "wishlist"
    job_description: LongText | None = None
    url: Url | None = None
    location: ShortText | None = None
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    currency: Currency | None = None
    source: ShortText | None = Field(default=None, description="Where the job was found")
    priority: Priority = "medium"
    tags: Tags = []
    applied_at: AwareDatetime | None = None
    archived: StrictBool = False

    _check_salary = field_validator("salary_max")(_salary_order)


class OpportunityUpdate(RequestModel):
    company: ShortText | None = None
    role: ShortText | None = None
    status: OpportunityStatus | None = None
    job_description: LongText | None = None
    url: Url | None = None
    location: ShortText | None = None
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    currency: Currency | None = None
    source: ShortText | None = None
    priority: Priority | None = None
    tags: Tags | None = None
    applied_at: AwareDatetime | None = None
    archived: StrictBool | None = None

    _not_null = field_validator("company", "role", "status", "priority", "tags", "archived", mode="before")(
        _refuse_null
    )
    _check_salary = field_validator("salary_max")(_salary_order)


class Opportunity(ApiModel):
    id: str
    company: str
    role: str
    status: OpportunityStatus
    job_description: str | None
    url: str | None
    location: str | None
    salary_min: int | None
    salary_max: int | None
    currency: str | None
    source: str | None
    priority: Priority
    tags: list[str]
    applied_at: str | None
    archived: bool
    created_at: str
    updated_at: str


# ---- interviews --------------------------------------------------------------------------------


class InterviewCreate(RequestModel):
    opportunity_id: Id
    kind: InterviewKind = "other"
    title: ShortText | None = None
    scheduled_at: AwareDatetime | None = None
    duration_minutes: Duration | None = None
    location: ShortText | None = None
    meeting_url: Url | None = None
    interviewers: Interviewers = []
    outcome: Outcome = "pending"
    debrief: LongText | None = None


class InterviewUpdate(RequestModel):
    opportunity_id: Id | None = Field(
        default=None,
        description="Another of your opportunities; only a calendar-found interview may clear it",
    )
    kind: InterviewKind | None = None
    title: ShortText | None = None
    scheduled_at: AwareDatetime | None = None
    duration_minutes: Duration | None = None
    location: ShortText | None = None
    meeting_url: Url | None = None
    interviewers: Interviewers | None = None
    outcome: Outcome | None = None
    debrief: LongText | None = None

    _not_null = field_validator("kind", "interviewers", "outcome", mode="before")(_refuse_null)


class Interview(ApiModel):
    id: str
    opportunity_id: str | None
    kind: InterviewKind
    title: str | None
    scheduled_at: str | None
    duration_minutes: int | None
    location: str | None
    meeting_url: str | None
    interviewers: list[str]
    outcome: Outcome
    debrief: str | None
    source: Source
    calendar_event_id: str | None
    prep_status: PrepStatus
    created_at: str
    updated_at: str


# ---- contacts ----------------------------------------------------------------------------------


class ContactCreate(RequestModel):
    name: ShortText
    email: Email | None = None
    phone: Phone | None = None
    company: ShortText | None = None
    title: ShortText | None = None
    linkedin_url: Url | None = None
    notes: LongText | None = None
    opportunity_ids: OpportunityIds = []


class ContactUpdate(RequestModel):
    name: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None
    company: ShortText | None = None
    title: ShortText | None = None
    linkedin_url: Url | None = None
    notes: LongText | None = None
    opportunity_ids: OpportunityIds | None = Field(default=None, description="Replaces the whole set")

    _not_null = field_validator("name", "opportunity_ids", mode="before")(_refuse_null)


class Contact(ApiModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    linkedin_url: str | None
    notes: str | None
    opportunity_ids: list[str]
    created_at: str
    updated_at: str


# ---- notes -------------------------------------------------------------------------------------


class NoteCreate(RequestModel):
    body: Body
    opportunity_id: Id | None = None
    interview_id: Id | None = None
    contact_id: Id | None = None


class NoteUpdate(RequestModel):
    body: Body | None = None
    opportunity_id: Id | None = None
    interview_id: Id | None = None
    contact_id: Id | None = None

    _not_null = field_validator("body", mode="before")(_refuse_null)


class Note(ApiModel):
    id: str
    body: str
    opportunity_id: str | None
    interview_id: str | None
    contact_id: str | None
    created_at: str
    updated_at: str


# ---- activity ----------------------------------------------------------------------------------


class ActivityCreate(RequestModel):
    kind: UserActivityKind
    summary: Summary
    opportunity_id: Id | None = None
    occurred_at: AwareDatetime | None = Field(default=None, description="Defaults to now")


class Activity(ApiModel):
    id: str
    kind: ActivityKind
    summary: str
    opportunity_id: str | None
    interview_id: str | None
    from_status: OpportunityStatus | None
    to_status: OpportunityStatus | None
    occurred_at: str
    created_at: str
    updated_at: str


# ---- prep -----------------------------------------------------------------------------------------


class Prep(ApiModel):
    id: str
    interview_id: str
    status: PrepDocumentStatus
    error: str | None
    model: str
    content: PrepContent | None
    ai_processing: AiProcessing | None = Field(
        description="What was sent to the AI provider for this prep (null until it is generated)"
    )
    created_at: str
    updated_at: str


# ---- lists and stats ---------------------------------------------------------------------------


Item = TypeVar("Item", bound=BaseModel)


class ListPage(ApiModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last")


OpportunityPage = ListPage[Opportunity]
InterviewPage = ListPage[Interview]
ContactPage = ListPage[Contact]
NotePage = ListPage[Note]
ActivityPage = ListPage[Activity]


class Stats(ApiModel):
    by_status: dict[OpportunityStatus, int]
    upcoming_interviews: list[Interview]
    response_rate: float | None
    interviews_this_week: int
    time_in_stage: dict[OpportunityStatus, float | None] = Field(
        description="Median days spent in each status, from the status ledger; null when never entered"
    )
