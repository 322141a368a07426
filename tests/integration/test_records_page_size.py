"""A list page always fits in a Lambda response (6 MB): long items cut the page short, the cursor
carries on, and nothing is lost."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from common.db import get_database
from tests.events import LambdaContext, api_event, bearer_headers, response_json
from tests.records import auth_headers, list_all

LAMBDA_RESPONSE_LIMIT = 6 * 1000 * 1000
JD_CHARS = 100_000  # API.md's limit for job_description


def _long_description(n: int) -> str:
    # Quotes and backslashes are what the response envelope escapes a second time: the worst case.
    unit = f'Opportunity {n}: "quoted" \\ backslashed line of a very long job description.\n'
    return (unit * (JD_CHARS // len(unit) + 1))[:JD_CHARS]


def test_pages_of_long_opportunities_fit_in_a_lambda_response(client: TestClient) -> None:
    headers = auth_headers(client, "long@example.com")
    for n in range(70):
        response = client.post(
            "/v1/opportunities",
            json={"company": f"Company {n}", "role": "Engineer", "job_description": _long_description(n)},
            headers=headers,
        )
        assert response.status_code == 201, response.text

    from records.handler import lambda_handler

    token = headers["Authorization"].removeprefix("Bearer ")
    event = api_event("opportunities_list", query="limit=200", headers=bearer_headers(token))
    response: dict[str, Any] = lambda_handler(event, LambdaContext(function_name="interview-tracker-records"))
    assert response["statusCode"] == 200
    assert len(json.dumps(response).encode()) < LAMBDA_RESPONSE_LIMIT
    page = response_json(response)
    assert 1 <= len(page["items"]) < 70  # cut short by size, not by the limit
    assert page["next_cursor"]

    everything = list_all(client, headers, "/v1/opportunities", limit=200)
    assert len(everything) == 70
    assert len({item["id"] for item in everything}) == 70
    assert all(len(item["job_description"]) == JD_CHARS for item in everything)
    assert get_database().execute("SELECT count(*) FROM opportunities").scalar() == 70
