"""The profile over HTTP: GET/PUT /v1/me/profile (API.md, Profile; records design, Profile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.problems import assert_unauthorized
from tests.records import PROFILE_FIELDS, assert_invalid, auth_headers, case, parse_time

PATH = "/v1/me/profile"
EMPTY = {"headline": "", "resume_text": "", "linkedin_summary": "", "updated_at": None}


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "ada@example.com")


def get_profile(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(PATH, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert PROFILE_FIELDS <= body.keys()
    return dict(body)


def put_profile(client: TestClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    response = client.put(PATH, json=body, headers=headers)
    assert response.status_code == 200, (body, response.text)
    result = response.json()
    assert PROFILE_FIELDS <= result.keys()
    return dict(result)


def content(profile: dict[str, Any]) -> dict[str, Any]:
    return {key: profile[key] for key in ("headline", "resume_text", "linkedin_summary")}


def test_profile_is_empty_before_any_put(client: TestClient, headers: dict[str, str]) -> None:
    body = get_profile(client, headers)
    assert {key: body[key] for key in PROFILE_FIELDS} == EMPTY


def test_put_stores_every_field_and_get_returns_it(client: TestClient, headers: dict[str, str]) -> None:
    sent = {
        "headline": "Staff engineer, distributed systems",
        "resume_text": "Experience\n\tAcme 2019-2024: built things.\nEducation: ...",
        "linkedin_summary": "I build reliable systems.\n\nOpen to remote roles.",
    }
    before = datetime.now(UTC)
    stored = put_profile(client, headers, sent)
    assert content(stored) == sent
    updated = parse_time(stored["updated_at"])
    assert before - timedelta(seconds=5) <= updated <= datetime.now(UTC) + timedelta(seconds=5)
    assert get_profile(client, headers) == stored


def test_put_keeps_omitted_fields_and_null_or_empty_clears(
    client: TestClient, headers: dict[str, str]
) -> None:
    first = put_profile(client, headers, {"headline": "H1", "resume_text": "R1", "linkedin_summary": "L1"})
    # Omitted fields keep their value: no silent data loss.
    second = put_profile(client, headers, {"headline": "H2"})
    assert content(second) == {"headline": "H2", "resume_text": "R1", "linkedin_summary": "L1"}
    assert parse_time(second["updated_at"]) >= parse_time(first["updated_at"])
    # null clears to "", and so does "".
    third = put_profile(client, headers, {"resume_text": None, "linkedin_summary": ""})
    assert content(third) == {"headline": "H2", "resume_text": "", "linkedin_summary": ""}
    # An empty body changes nothing.
    fourth = put_profile(client, headers, {})
    assert content(fourth) == content(third)
    assert content(get_profile(client, headers)) == content(third)


def test_profile_text_limits_accept_the_maximum(client: TestClient, headers: dict[str, str]) -> None:
    sent = {"headline": "h" * 300, "resume_text": "r" * 200_000, "linkedin_summary": "l" * 200_000}
    assert content(put_profile(client, headers, sent)) == sent
    assert content(get_profile(client, headers)) == sent


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"headline": "h" * 301}, "headline"),
    ({"headline": "two\nlines"}, "headline"),
    ({"headline": 42}, "headline"),
    ({"resume_text": "r" * 200_001}, "resume_text"),
    ({"resume_text": ["not", "text"]}, "resume_text"),
    ({"linkedin_summary": "l" * 200_001}, "linkedin_summary"),
    ({"linkedin_summary": {"text": "x"}}, "linkedin_summary"),
    ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
    ({"user_id": "someone-else"}, "user_id"),
    ({"id": "x"}, "id"),
    ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ({"photo": "x"}, "photo"),
]


def test_put_rejects_invalid_bodies_and_stores_nothing(client: TestClient, headers: dict[str, str]) -> None:
    stored = put_profile(client, headers, {"headline": "Kept", "resume_text": "Kept resume"})
    failures: list[str] = []
    for body, field in INVALID:
        with case(failures, f"{field}={str(body)[:40]}"):
            response = client.put(PATH, json={"headline": "Changed", **body}, headers=headers)
            assert_invalid(response, ["body", field])
            assert get_profile(client, headers) == stored
    assert not failures, "\n".join(failures)


def test_put_rejects_a_body_that_is_not_an_object(client: TestClient, headers: dict[str, str]) -> None:
    assert_invalid(client.put(PATH, json=["headline"], headers=headers))
    assert get_profile(client, headers) == {**EMPTY}


def test_profiles_are_per_user(client: TestClient, headers: dict[str, str]) -> None:
    other = auth_headers(client, "grace@example.com")
    put_profile(client, headers, {"headline": "Ada's", "resume_text": "Ada's resume"})
    assert get_profile(client, other) == EMPTY
    put_profile(client, other, {"headline": "Grace's"})
    assert content(get_profile(client, headers)) == {
        "headline": "Ada's",
        "resume_text": "Ada's resume",
        "linkedin_summary": "",
    }
    assert content(get_profile(client, other)) == {
        "headline": "Grace's",
        "resume_text": "",
        "linkedin_summary": "",
    }


def test_profile_needs_a_bearer_token(client: TestClient) -> None:
    for method in ("GET", "PUT"):
        kwargs: dict[str, Any] = {"json": {"headline": "x"}} if method == "PUT" else {}
        assert_unauthorized(client.request(method, PATH, **kwargs))
        assert_unauthorized(
            client.request(method, PATH, headers={"Authorization": "Bearer not-a-token"}, **kwargs)
        )
