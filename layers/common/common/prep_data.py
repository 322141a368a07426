"""What may reach the AI provider, and the stored prep as the API shows it: the part of the prep domain
that `records`, `calendar_poll` and `export` need, without the prep document's pydantic models
(`common.prep`, which re-exports all of this).

What may reach the AI provider is decided here, once: `PrepInputs` is the complete allow-list
(API.md, PRIVACY_POLICY.txt). It is read with `input_statements` and nothing else; a field that is not
in this dataclass cannot be sent, whatever else the database holds about the interview (calendar event
titles, descriptions and attendees, contacts, notes, other opportunities, the user's email).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from common.db import Result, Statement

PrepStatus = Literal["queued", "generating", "ready", "failed"]
LIVE_STATUSES = ("queued", "generating", "ready")
MAX_DEBRIEFS = 20  # the most recent earlier rounds; older ones add little and cost tokens


# ---- the inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrepInputs:
    """Everything the AI provider may receive, and nothing more."""

    company: str
    role: str
    job_description: str
    interview_kind: str
    headline: str
    resume_text: str
    linkedin_summary: str
    debriefs: tuple[str, ...]

    def fields_sent(self) -> list[str]:
        """Names of the fields that carry something (the AI-processing record lists them)."""
        return [f.name for f in fields(self) if getattr(self, f.name)]

    def digest(self, model: str) -> str:
        """Identifies one version of a prep: same inputs and model, same prep."""
        canonical = json.dumps({"model": model, **asdict(self)}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class InterviewContext:
    interview_id: str
    opportunity_id: str | None
    inputs: PrepInputs | None  # None when the interview has no opportunity


def input_statements(*, user_id: str, interview_id: str) -> list[Statement]:
    """Read the allow-listed inputs of one interview of the caller (one round trip, as a batch)."""
    return [
        Statement(
            "SELECT i.id, i.kind, i.opportunity_id, o.company, o.role, o.job_description "
            "FROM interviews AS i LEFT JOIN opportunities AS o "
            "ON o.id = i.opportunity_id AND o.user_id = i.user_id "
            "WHERE i.id = ? AND i.user_id = ?",
            (interview_id, user_id),
        ),
        Statement(
            "SELECT headline, resume_text, linkedin_summary FROM profiles WHERE user_id = ?", (user_id,)
        ),
        # Earlier rounds of the same opportunity: scheduled (or, unscheduled, created) before this one.
        Statement(
            "SELECT e.debrief FROM interviews AS e JOIN interviews AS i ON i.id = ? AND i.user_id = ? "
            "WHERE e.user_id = i.user_id AND e.opportunity_id = i.opportunity_id AND e.id != i.id "
            "AND e.debrief IS NOT NULL AND trim(e.debrief) != '' "
            "AND coalesce(e.scheduled_at, e.created_at) < coalesce(i.scheduled_at, i.created_at) "
            "ORDER BY coalesce(e.scheduled_at, e.created_at) DESC LIMIT ?",
            (interview_id, user_id, MAX_DEBRIEFS),
        ),
    ]


def interview_context(results: list[Result]) -> InterviewContext | None:
    """The results of `input_statements` -> the inputs; None when the interview is not the caller's."""
    interview = results[0].first()
    if interview is None:
        return None
    if interview["opportunity_id"] is None or interview["company"] is None:
        return InterviewContext(interview["id"], None, None)
    profile: dict[str, Any] = results[1].first() or {}
    debriefs = tuple(row[0] for row in reversed(results[2].rows))  # oldest first, as they happened
    inputs = PrepInputs(
        company=interview["company"],
        role=interview["role"],
        job_description=interview["job_description"] or "",
        interview_kind=interview["kind"],
        headline=profile.get("headline") or "",
        resume_text=profile.get("resume_text") or "",
        linkedin_summary=profile.get("linkedin_summary") or "",
        debriefs=debriefs,
    )
    return InterviewContext(interview["id"], interview["opportunity_id"], inputs)


PREP_COLUMNS = (
    "id",
    "interview_id",
    "status",
    "error",
    "model",
    "content",
    "ai_processing",
    "created_at",
    "updated_at",
)


def prep_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {name: row[name] for name in PREP_COLUMNS}
    view["content"] = json.loads(row["content"]) if row["content"] else None
    view["ai_processing"] = json.loads(row["ai_processing"]) if row["ai_processing"] else None
    return view
