"""Assertions on problem+json responses (RFC 9457), shared by the HTTP tests."""

from __future__ import annotations

from typing import Any

from httpx2 import Response

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Response, status: int, case: Any = None) -> dict[str, Any]:
    assert response.status_code == status, (case, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON
    body = response.json()
    for key in ("type", "title", "detail"):
        assert isinstance(body.get(key), str) and body[key], body
    assert body["status"] == status
    return dict(body)


def assert_unauthorized(response: Response) -> dict[str, Any]:
    body = assert_problem(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    return body
