"""Shared helpers for the records HTTP tests (API.md: profile, opportunities, interviews, contacts,
notes, activity, stats): sign a user in, create resources (asserting 201), walk a list to its end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from tests.conftest import bearer, register
from tests.problems import assert_problem

# Output times: UTC, fixed width microseconds, `Z` (records design, General).
TIME_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
STATUSES = ("wishlist", "applied", "screening", "interviewing", "offer", "accepted", "rejected", "withdrawn")
OPPORTUNITY_FIELDS = {
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
}
INTERVIEW_FIELDS = {
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
}
ACTIVITY_FIELDS = {"id", "kind", "summary", "opportunity_id", "occurred_at", "created_at"}
CONTACT_FIELDS = {
    "id",
    "name",
    "email",
    "phone",
    "company",
    "title",
    "linkedin_url",
    "notes",
    "opportunity_ids",
    "created_at",
    "updated_at",
}
NOTE_FIELDS = {"id", "body", "opportunity_id", "interview_id", "contact_id", "created_at", "updated_at"}
PROFILE_FIELDS = {"headline", "resume_text", "linkedin_summary", "updated_at"}
PREP_FIELDS = {"id", "interview_id", "status", "error", "model", "content", "created_at", "updated_at"}


def auth_headers(client: TestClient, email: str) -> dict[str, str]:
    """Register a fresh user with this email and return its Authorization header."""
    return bearer(register(client, email=email, name=email.split("@")[0]))


def parse_time(value: str) -> datetime:
    """A time as the API returns it (UTC, `Z`), as an aware datetime."""
    assert isinstance(value, str) and TIME_Z.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def iso(moment: datetime) -> str:
    """An aware datetime as RFC 3339 input text."""
    assert moment.tzinfo is not None
    return moment.isoformat()


def _create(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, (path, body, response.text)
    assert response.headers["content-type"].startswith("application/json")
    created = response.json()
    assert isinstance(created, dict) and isinstance(created.get("id"), str) and created["id"], created
    return dict(created)


def create_opportunity(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"company": "Acme", "role": "Engineer", **fields}
    return _create(client, headers, "/v1/opportunities", body)


def create_interview(
    client: TestClient, headers: dict[str, str], opportunity_id: str | None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"opportunity_id": opportunity_id, **fields}
    return _create(client, headers, "/v1/interviews", body)


def create_contact(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Grace Hopper", **fields}
    return _create(client, headers, "/v1/contacts", body)


def create_note(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"body": "Remember to follow up.", **fields}
    return _create(client, headers, "/v1/notes", body)


def create_activity(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "email", "summary": "Sent a thank-you email", **fields}
    return _create(client, headers, "/v1/activity", body)


def list_page(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> dict[str, Any]:
    """One page of a list: asserts 200 and the `{"items", "next_cursor"}` shape."""
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, (path, params, response.text)
    page = response.json()
    assert set(page) >= {"items", "next_cursor"}, page
    assert isinstance(page["items"], list)
    assert page["next_cursor"] is None or (isinstance(page["next_cursor"], str) and page["next_cursor"])
    return dict(page)


def list_all(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor to the end; no page is larger than its limit."""
    limit = int(params.get("limit", 50))
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        page = list_page(client, headers, path, **query)
        assert len(page["items"]) <= limit, (path, params, len(page["items"]))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path} never reached its last page")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def assert_invalid(response: Response, *locs: list[str | int]) -> dict[str, Any]:
    """A 422 problem whose `errors` name every given loc (e.g. ["body", "company"])."""
    body = assert_problem(response, 422)
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert isinstance(error.get("loc"), list) and isinstance(error.get("msg"), str) and error["msg"], (
            error
        )
    found = [error["loc"] for error in errors]
    for loc in locs:
        assert list(loc) in found, (loc, found)
    return body


def assert_not_found(response: Response) -> dict[str, Any]:
    """A 404 problem; the body carries nothing that tells a foreign id from a missing one."""
    body = assert_problem(response, 404)
    assert "errors" not in body
    return body


@contextmanager
def case(failures: list[str], name: str) -> Iterator[None]:
    """Run one case of a table-driven test, recording a failed assertion instead of stopping, so one
    test (one user, one database) reports every failing case: `assert not failures, "\\n".join(failures)`."""
    try:
        yield
    except AssertionError as exc:
        failures.append(f"{name}: {exc}")
