"""The fields of each user record as the API shows it (and the export writes it), in one place for
every function that reads them: records, export."""

from __future__ import annotations

from typing import Literal

# An interview's kind (API.md). The calendar classifier keeps its own copy: it is pinned to the
# standard library alone (tests/unit/test_classifier.py).
InterviewKind = Literal[
    "recruiter",
    "phone_screen",
    "technical",
    "coding",
    "system_design",
    "behavioral",
    "hiring_manager",
    "onsite",
    "panel",
    "take_home",
    "other",
]

OPPORTUNITY_COLUMNS = (
    "id",
    "company",
    "role",
    "status",
    "job_description",
    "url",
    "location",
    "salary_min",
    "salary_max",
    "currency",
    "source",
    "priority",
    "tags",
    "applied_at",
    "archived",
    "created_at",
    "updated_at",
)
INTERVIEW_COLUMNS = (
    "id",
    "opportunity_id",
    "kind",
    "title",
    "scheduled_at",
    "duration_minutes",
    "location",
    "meeting_url",
    "interviewers",
    "outcome",
    "debrief",
    "source",
    "calendar_event_id",
    "prep_status",
    "created_at",
    "updated_at",
)
CONTACT_COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "company",
    "title",
    "linkedin_url",
    "notes",
    "created_at",
    "updated_at",
)
NOTE_COLUMNS = ("id", "body", "opportunity_id", "interview_id", "contact_id", "created_at", "updated_at")
ACTIVITY_COLUMNS = (
    "id",
    "kind",
    "summary",
    "opportunity_id",
    "interview_id",
    "from_status",
    "to_status",
    "occurred_at",
    "created_at",
    "updated_at",
)

# `+user_id`: look the links up by the primary key (contact_id, ...); the planner would otherwise pick
# the (user_id, opportunity_id) index and read every link of the user for each contact.
CONTACT_LINKS = (
    "(SELECT json_group_array(opportunity_id) FROM (SELECT opportunity_id FROM contact_opportunities "
    "WHERE contact_id = contacts.id AND +user_id = contacts.user_id ORDER BY position)) AS opportunity_ids"
)
