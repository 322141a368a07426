"""The deployed export entry point, `export.handler.lambda_handler`, driven by API Gateway HTTP API v2.0
events built from events/export_create.json (the sample `sam local invoke -e ... ExportFunction` takes).
Here the store is the local one (no EXPORT_BUCKET); tests/integration/test_export_s3.py runs the handler
against S3.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.events import LambdaContext, api_event, bearer_headers, response_body, response_json
from tests.integration.test_template import load_template

SAMPLE = "export_create"


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    from export.handler import lambda_handler

    response = lambda_handler(event, LambdaContext(function_name="interview-tracker-export"))
    assert isinstance(response["statusCode"], int)
    return response


@pytest.fixture
def token() -> str:
    from auth.handler import lambda_handler as auth_handler

    response = auth_handler(api_event("register"), LambdaContext())
    assert response["statusCode"] == 201, response_body(response)
    return str(response_json(response)["access_token"])


def problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    assert response["statusCode"] == status, response_body(response)
    assert response["headers"]["content-type"] == "application/problem+json"
    assert response["isBase64Encoded"] is False
    body = json.loads(response["body"])
    assert body["status"] == status and "Traceback" not in response["body"]
    return dict(body)


def test_the_sample_is_the_template_route_of_the_export_function() -> None:
    event = api_event(SAMPLE)
    events = load_template()["Resources"]["ExportFunction"]["Properties"]["Events"]
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events.values()}
    assert event["routeKey"] in routes
    assert event["headers"]["authorization"] == "Bearer REPLACE_WITH_ACCESS_TOKEN"
    assert json.loads(event["body"]) == {"format": "json"}


def test_the_sample_with_a_real_token_creates_an_export(token: str) -> None:
    response = invoke(api_event(SAMPLE, headers=bearer_headers(token)))
    assert response["statusCode"] == 201, response_body(response)
    assert response["headers"]["content-type"] == "application/json"
    assert response["headers"]["cache-control"] == "no-store"
    created = response_json(response)
    assert set(created) == {"id", "format", "url", "expires_at", "size_bytes", "sha256"}
    assert created["format"] == "json" and created["size_bytes"] > 0


def test_a_csv_export_from_a_base64_body(token: str) -> None:
    event = api_event(SAMPLE, headers=bearer_headers(token), body={"format": "csv"}, base64_body=True)
    response = invoke(event)
    assert response["statusCode"] == 201, response_body(response)
    assert response_json(response)["format"] == "csv"


@pytest.mark.parametrize("authorization", [None, "Bearer REPLACE_WITH_ACCESS_TOKEN", "Basic YWRhOnB3"])
def test_without_a_valid_token_it_is_a_401(authorization: str | None) -> None:
    response = invoke(api_event(SAMPLE, headers={"authorization": authorization}))
    problem(response, 401)
    assert response["headers"]["www-authenticate"].startswith("Bearer")


def test_bad_bodies(token: str) -> None:
    auth = bearer_headers(token)
    invalid = problem(invoke(api_event(SAMPLE, headers=auth, body={"format": "pdf"})), 422)
    assert invalid["errors"][0]["loc"] == ["body", "format"]
    problem(invoke(api_event(SAMPLE, headers=auth, body='{"format": ')), 400)
    problem(invoke(api_event(SAMPLE, headers={**auth, "content-type": "text/plain"}, body="json")), 415)
