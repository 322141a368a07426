"""The deployed records entry point, `records.handler.lambda_handler`, driven by API Gateway HTTP API v2.0
events built from the records samples in events/ (the ones `sam local invoke -e ... RecordsFunction` takes).

A user is registered through the auth function's handler first, so the records handler sees a real
access token; both handlers share the per-test data dir (database and keys), as both functions share
the deployed database and secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from tests.events import LambdaContext, api_event, bearer_headers, response_body, response_json
from tests.integration.test_template import load_template
from tests.records import OPPORTUNITY_FIELDS, TIME_Z

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
Invoke = Callable[[dict[str, Any]], dict[str, Any]]
PROBLEM_JSON = "application/problem+json"
RECORDS_SAMPLES = ("opportunity_create", "opportunities_list", "opportunity_get")
SAMPLE_USER = {"email": "ada@example.com", "password": "correct horse battery staple", "name": "Ada"}


@pytest.fixture
def invoke() -> Invoke:
    # Imported here, not at collection time, so the import happens inside the isolated environment.
    from records.handler import lambda_handler

    def call(event: dict[str, Any]) -> dict[str, Any]:
        context = LambdaContext(
            function_name="interview-tracker-records",
            timeout_seconds=10.0,
            log_group_name="/aws/lambda/interview-tracker-records",
        )
        response = lambda_handler(event, context)
        assert isinstance(response["statusCode"], int)
        return response

    return call


def _sign_up(email: str) -> str:
    """Register through the auth function's handler; the access token it returns."""
    from auth.handler import lambda_handler as auth_handler

    body = {**SAMPLE_USER, "email": email}
    response = auth_handler(api_event("register", body=body), LambdaContext())
    assert response["statusCode"] == 201, response_body(response)
    return str(response_json(response)["access_token"])


@pytest.fixture
def token() -> str:
    return _sign_up("ada@example.com")


def load_sample(name: str) -> dict[str, Any]:
    loaded = json.loads((Path(__file__).resolve().parents[2] / "events" / f"{name}.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def records_event(
    name: str,
    token: str | None,
    *,
    method: str | None = None,
    item_id: str | None = None,
    path: str | None = None,
    query: str | None = None,
    headers: dict[str, str | None] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A records sample with the caller's token. `item_id` fills the `{id}` of the sample's route the
    way API Gateway does (rawPath, requestContext.http.path, pathParameters), keeping the routeKey the
    template's route; `path` replaces the path of a collection route."""
    merged: dict[str, str | None] = bearer_headers(token) if token is not None else {"authorization": None}
    merged.update(headers or {})
    event = api_event(name, method=method, path=path, query=query, headers=merged, **overrides)
    route = load_sample(name)["routeKey"].split(" ", 1)[1]
    if path is not None:
        route = path
    if item_id is not None:
        assert "{id}" in route, name
        raw_path = route.replace("{id}", quote(item_id, safe=""))
        event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
        event["pathParameters"] = {"id": item_id}
    http_method = event["requestContext"]["http"]["method"]
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{http_method} {route}"
    return event


def header(response: dict[str, Any], name: str) -> str:
    return str((response.get("headers") or {}).get(name, ""))


def assert_json(response: dict[str, Any], status: int) -> Any:
    assert response["statusCode"] == status, response_body(response)
    assert header(response, "content-type") == "application/json"
    assert header(response, "x-content-type-options") == "nosniff"
    assert header(response, "cache-control") == "no-store"
    assert response["isBase64Encoded"] is False
    return response_json(response)


def assert_problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    assert response["statusCode"] == status, response_body(response)
    assert header(response, "content-type").split(";")[0].strip() == PROBLEM_JSON
    assert header(response, "x-content-type-options") == "nosniff"
    # Problem bodies are text, not base64 (the handler declares problem+json a text type).
    assert response["isBase64Encoded"] is False
    problem = json.loads(response["body"])
    assert problem["status"] == status
    for key in ("type", "title", "detail"):
        assert isinstance(problem.get(key), str) and problem[key], problem
    assert "Traceback" not in response["body"]
    return dict(problem)


def create(invoke: Invoke, token: str, **fields: Any) -> dict[str, Any]:
    body = {"company": "Acme Robotics", "role": "Engineer", **fields}
    created = assert_json(invoke(records_event("opportunity_create", token, body=body)), 201)
    assert isinstance(created, dict)
    return created


# ---- the sample events themselves ---------------------------------------------------------------


def _records_routes() -> dict[str, dict[str, Any]]:
    events = load_template()["Resources"]["RecordsFunction"]["Properties"]["Events"]
    return {f"{e['Properties']['Method']} {e['Properties']['Path']}": e for e in events.values()}


@pytest.mark.parametrize("name", RECORDS_SAMPLES)
def test_records_sample_is_a_consistent_v2_event_for_a_records_route(name: str) -> None:
    event = load_sample(name)
    http = event["requestContext"]["http"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"]
    assert event["routeKey"] in _records_routes()
    method, route = event["routeKey"].split(" ", 1)
    assert http["method"] == method
    assert http["path"] == event["rawPath"]
    # The route's `{id}` is what API Gateway puts in pathParameters, taken from the raw path.
    pattern = re.escape(route).replace(re.escape("{id}"), "(?P<id>[^/]+)")
    match = re.fullmatch(pattern, event["rawPath"])
    assert match, (route, event["rawPath"])
    assert event.get("pathParameters", {}) == match.groupdict()
    assert all(key == key.lower() for key in event["headers"])
    # Like events/me.json: a placeholder token, never a real one.
    assert event["headers"]["authorization"] == "Bearer REPLACE_WITH_ACCESS_TOKEN"
    if event["rawQueryString"]:
        assert dict(parse_qsl(event["rawQueryString"])) == event["queryStringParameters"]
    if "body" in event:
        assert not event["isBase64Encoded"]
        assert event["headers"]["content-type"] == "application/json"
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))
        json.loads(event["body"])


@pytest.mark.parametrize("name", RECORDS_SAMPLES)
def test_the_records_samples_placeholder_token_is_rejected(invoke: Invoke, name: str) -> None:
    response = invoke(api_event(name))
    assert_problem(response, 401)
    assert header(response, "www-authenticate").startswith("Bearer")


def test_the_samples_work_in_sequence_with_a_real_token(invoke: Invoke, token: str) -> None:
    """create -> list (the sample's query finds the sample's opportunity) -> get by path."""
    created = assert_json(invoke(records_event("opportunity_create", token)), 201)
    sent = json.loads(load_sample("opportunity_create")["body"])
    assert set(created) >= OPPORTUNITY_FIELDS
    assert {key: created[key] for key in sent} == sent
    assert TIME_Z.match(created["applied_at"])  # status applied without applied_at: set to now

    listed = assert_json(invoke(records_event("opportunities_list", token)), 200)
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert listed["next_cursor"] is None

    fetched = assert_json(invoke(records_event("opportunity_get", token, item_id=created["id"])), 200)
    assert fetched == created


# ---- create, list, get, patch, delete through the handler ---------------------------------------


def test_create_returns_201_with_defaults(invoke: Invoke, token: str) -> None:
    created = create(invoke, token, company="Globex", role="Data Engineer")
    assert set(created) >= OPPORTUNITY_FIELDS
    assert created["company"] == "Globex" and created["role"] == "Data Engineer"
    assert created["status"] == "wishlist"
    assert created["priority"] == "medium"
    assert created["tags"] == [] and created["archived"] is False
    assert created["applied_at"] is None and created["job_description"] is None
    assert TIME_Z.match(created["created_at"]) and TIME_Z.match(created["updated_at"])


def test_base64_encoded_create_body(invoke: Invoke, token: str) -> None:
    event = records_event("opportunity_create", token, base64_body=True)
    assert event["isBase64Encoded"] is True
    created = assert_json(invoke(event), 201)
    assert created["company"] == "Acme Robotics"


def test_list_with_a_query_string(invoke: Invoke, token: str) -> None:
    engineer = create(invoke, token, company="ACME Engineering", role="Platform Engineer", tags=["Python"])
    create(invoke, token, company="Initech", role="Accountant", tags=["finance"])
    create(invoke, token, company="Umbrella", role="Engineer", status="applied", tags=["python"])

    def listed(query: str) -> list[str]:
        page = assert_json(invoke(records_event("opportunities_list", token, query=query)), 200)
        assert set(page) >= {"items", "next_cursor"}
        return [item["company"] for item in page["items"]]

    # Percent-encoded words, each a word prefix (API.md: "acme eng" matches "ACME Engineering").
    assert listed("q=acme%20eng") == [engineer["company"]]
    assert listed("q=acme+eng") == [engineer["company"]]
    assert listed("tag=PYTHON&sort=company") == ["ACME Engineering", "Umbrella"]
    assert listed("status=applied") == ["Umbrella"]
    assert listed("sort=company") == ["ACME Engineering", "Initech", "Umbrella"]
    assert listed("") == ["Umbrella", "Initech", "ACME Engineering"]  # newest first


def test_get_patch_delete_by_path(invoke: Invoke, token: str) -> None:
    created = create(invoke, token)
    item = created["id"]

    fetched = assert_json(invoke(records_event("opportunity_get", token, item_id=item)), 200)
    assert fetched == created

    patch = {"status": "screening", "tags": ["backend", "Backend", "remote"], "location": "Remote"}
    patched = assert_json(
        invoke(records_event("opportunity_get", token, method="PATCH", item_id=item, body=patch)), 200
    )
    assert patched["status"] == "screening"
    assert patched["tags"] == ["backend", "remote"]  # duplicates removed, first spelling kept
    assert patched["location"] == "Remote"
    assert patched["company"] == created["company"]  # absent fields unchanged
    assert patched["updated_at"] >= created["updated_at"]

    cleared = assert_json(
        invoke(
            records_event("opportunity_get", token, method="PATCH", item_id=item, body={"location": None})
        ),
        200,
    )
    assert cleared["location"] is None

    # The status change is on the timeline.
    activity = assert_json(
        invoke(
            records_event("opportunities_list", token, path="/v1/activity", query=f"opportunity_id={item}")
        ),
        200,
    )
    changes = [entry for entry in activity["items"] if entry["kind"] == "status_changed"]
    assert len(changes) == 1 and changes[0]["opportunity_id"] == item

    deleted = invoke(records_event("opportunity_get", token, method="DELETE", item_id=item))
    assert deleted["statusCode"] == 204, response_body(deleted)
    assert response_body(deleted) == b""
    assert_problem(invoke(records_event("opportunity_get", token, item_id=item)), 404)
    assert_problem(invoke(records_event("opportunity_get", token, method="DELETE", item_id=item)), 404)


# ---- errors ---------------------------------------------------------------------------------------


def _locs(problem: dict[str, Any]) -> list[list[Any]]:
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, problem
    assert all(isinstance(e.get("msg"), str) and e["msg"] for e in errors), errors
    return [e["loc"] for e in errors]


def test_invalid_create_is_a_422_problem(invoke: Invoke, token: str) -> None:
    missing_role = records_event("opportunity_create", token, body={"company": "Acme"})
    assert ["body", "role"] in _locs(assert_problem(invoke(missing_role), 422))

    mass_assignment = {"company": "Acme", "role": "Engineer", "user_id": "someone-else"}
    response = invoke(records_event("opportunity_create", token, body=mass_assignment))
    assert ["body", "user_id"] in _locs(assert_problem(response, 422))

    bad_enum = records_event(
        "opportunity_create", token, body={"company": "A", "role": "B", "status": "hired"}
    )
    assert ["body", "status"] in _locs(assert_problem(invoke(bad_enum), 422))

    naive_time = {"company": "A", "role": "B", "applied_at": "2026-01-05T10:00:00"}
    response = invoke(records_event("opportunity_create", token, body=naive_time))
    assert ["body", "applied_at"] in _locs(assert_problem(response, 422))

    # Nothing was stored.
    page = assert_json(invoke(records_event("opportunities_list", token, query="")), 200)
    assert page["items"] == []


def test_invalid_query_and_patch_are_422_problems(invoke: Invoke, token: str) -> None:
    for query, loc in (("limit=0", "limit"), ("limit=201", "limit"), ("sort=salary", "sort")):
        response = invoke(records_event("opportunities_list", token, query=query))
        assert ["query", loc] in _locs(assert_problem(response, 422)), query
    item = create(invoke, token)["id"]
    response = invoke(
        records_event("opportunity_get", token, method="PATCH", item_id=item, body={"role": None})
    )
    assert ["body", "role"] in _locs(assert_problem(response, 422))


def test_unknown_and_foreign_ids_are_the_same_404(invoke: Invoke, token: str) -> None:
    theirs = create(invoke, _sign_up("grace@example.com"), company="Their Co")["id"]
    mine = create(invoke, token)["id"]
    missing = "0" * 32

    bodies = []
    for item in (theirs, missing, "not-an-id", "x" * 300):
        for method in ("GET", "PATCH", "DELETE"):
            body = {"company": "Mine now"} if method == "PATCH" else None
            event = records_event("opportunity_get", token, method=method, item_id=item, body=body)
            problem = assert_problem(invoke(event), 404)
            assert "errors" not in problem
            bodies.append(problem)
    assert all(body == bodies[0] for body in bodies)
    # The other user's opportunity is untouched; mine is still there.
    other = records_event("opportunity_get", _sign_up("eve@example.com"), item_id=theirs)
    assert_problem(invoke(other), 404)
    assert assert_json(invoke(records_event("opportunity_get", token, item_id=mine)), 200)["id"] == mine


@pytest.mark.parametrize("authorization", [None, "Bearer REPLACE_WITH_ACCESS_TOKEN", "Basic YWRhOnB3"])
def test_without_a_valid_token_it_is_a_401(invoke: Invoke, token: str, authorization: str | None) -> None:
    item = create(invoke, token)["id"]
    events = [
        records_event("opportunities_list", token),
        records_event("opportunity_create", token),
        records_event("opportunity_get", token, item_id=item),
        records_event("opportunity_get", token, method="DELETE", item_id=item),
    ]
    for event in events:
        event["headers"].pop("authorization")
        if authorization is not None:
            event["headers"]["authorization"] = authorization
        response = invoke(event)
        assert_problem(response, 401)
        assert header(response, "www-authenticate").startswith("Bearer")
    # Nothing was deleted or created by the refused requests.
    page = assert_json(invoke(records_event("opportunities_list", token, query="")), 200)
    assert [entry["id"] for entry in page["items"]] == [item]


def test_a_tampered_cursor_is_a_400_problem(invoke: Invoke, token: str) -> None:
    for number in range(3):
        create(invoke, token, company=f"Company {number}")
    first = assert_json(invoke(records_event("opportunities_list", token, query="limit=2")), 200)
    assert len(first["items"]) == 2
    cursor = first["next_cursor"]
    assert isinstance(cursor, str) and cursor

    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    for bad in (tampered, cursor + "x", "garbage"):
        response = invoke(records_event("opportunities_list", token, query=f"limit=2&cursor={quote(bad)}"))
        problem = assert_problem(response, 400)
        assert "errors" not in problem
    # The cursor belongs to its own list: other filters or another caller get 400 too.
    other_list = invoke(
        records_event("opportunities_list", token, query=f"limit=2&sort=company&cursor={cursor}")
    )
    assert_problem(other_list, 400)
    other_user = records_event(
        "opportunities_list", _sign_up("grace@example.com"), query=f"limit=2&cursor={cursor}"
    )
    assert_problem(invoke(other_user), 400)

    second = assert_json(
        invoke(records_event("opportunities_list", token, query=f"limit=2&cursor={cursor}")), 200
    )
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert len(set(seen)) == 3


def test_a_non_json_body_is_a_415_and_malformed_json_a_400(invoke: Invoke, token: str) -> None:
    text = records_event(
        "opportunity_create", token, body="company=Acme", headers={"content-type": "text/plain"}
    )
    assert_problem(invoke(text), 415)
    broken = records_event("opportunity_create", token, body='{"company": "Acme", ')
    assert_problem(invoke(broken), 400)


def test_records_verifies_tokens_with_the_public_key_alone(
    invoke: Invoke, token: str, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    """Deployed, records gets JWT_PUBLIC_KEY and no signing key (template.yaml): tokens the auth function
    issued still work, and the function could not issue one."""
    from cryptography.hazmat.primitives import serialization

    from common.keys import JWT_KEY_FILE, KeyConfigurationError
    from common.tokens import get_token_service
    from tests.conftest import reset_caches

    private = serialization.load_pem_private_key((isolated_env / JWT_KEY_FILE).read_bytes(), password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (isolated_env / JWT_KEY_FILE).unlink()  # nothing to fall back on: the public key is all there is
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "interview-tracker-records")
    monkeypatch.setenv("JWT_PUBLIC_KEY", public_pem.decode())
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "A" * 43 + "=")
    monkeypatch.setenv("DATABASE_URL", f"file:{isolated_env / 'tracker.db'}")
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    reset_caches()
    assert_json(invoke(records_event("opportunities_list", token)), 200)
    with pytest.raises(KeyConfigurationError, match="only verifies"):
        get_token_service().issue(user_id="u", session_id="s", now=0)
