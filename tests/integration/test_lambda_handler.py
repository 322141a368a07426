"""The deployed entry point, `auth.handler.lambda_handler`, driven by API Gateway HTTP API v2.0 events.

Events start from events/*.json (the `sam local invoke` samples). The database and keys live in the
per-test data dir: the handler resolves them per request through the cached factories that
tests/conftest.py resets.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from common.keys import ENCRYPTION_KEY_FILE, JWT_KEY_FILE
from common.web import MAX_BODY_BYTES
from tests.events import (
    LambdaContext,
    api_event,
    bearer_headers,
    event_names,
    response_body,
    response_json,
)
from tests.integration.test_template import load_template

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def handler() -> Handler:
    # Imported here, not at collection time, so the import happens inside the isolated environment.
    from auth.handler import lambda_handler

    return lambda_handler


@pytest.fixture
def invoke(handler: Handler) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        response = handler(event, LambdaContext())
        assert isinstance(response["statusCode"], int)
        return response

    return call


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def header(response: dict[str, Any], name: str) -> str:
    return str((response.get("headers") or {}).get(name, ""))


def assert_problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    assert response["statusCode"] == status, response_body(response)
    assert header(response, "content-type").startswith(PROBLEM_JSON)
    problem = response_json(response)
    assert problem["status"] == status
    assert {"type", "title", "detail"} <= set(problem)
    return dict(problem)


def test_health(invoke: Invoke) -> None:
    response = invoke(api_event("health"))
    assert response["statusCode"] == 200
    assert header(response, "content-type") == "application/json"
    assert header(response, "x-content-type-options") == "nosniff"
    body = response_json(response)
    assert body["status"] == "ok"
    assert body["version"]


def test_register_then_me_with_the_returned_token(invoke: Invoke, isolated_env: Path) -> None:
    registered = invoke(api_event("register"))
    assert registered["statusCode"] == 201, response_body(registered)
    tokens = response_json(registered)
    assert tokens["token_type"] == "Bearer"
    assert tokens["user"]["email"] == "ada@example.com"

    me = invoke(api_event("me", headers=bearer_headers(tokens["access_token"])))
    assert me["statusCode"] == 200, response_body(me)
    assert response_json(me)["id"] == tokens["user"]["id"]
    # Outside Lambda the database and keys are created in the per-test data dir.
    assert {JWT_KEY_FILE, "tracker.db"} <= {p.name for p in isolated_env.iterdir()}


def test_the_login_sample_signs_in_the_registered_sample_user(invoke: Invoke) -> None:
    assert invoke(api_event("register"))["statusCode"] == 201
    response = invoke(api_event("login"))
    assert response["statusCode"] == 200, response_body(response)
    assert response_json(response)["user"]["name"] == "Ada Lovelace"


def test_the_me_sample_placeholder_token_is_rejected(invoke: Invoke) -> None:
    response = invoke(api_event("me"))
    assert_problem(response, 401)
    assert header(response, "www-authenticate").startswith("Bearer")


def test_unknown_route_is_a_404_problem(invoke: Invoke) -> None:
    assert_problem(invoke(api_event("health", path="/v1/no-such-route")), 404)


def test_problem_bodies_are_returned_as_text_not_base64(invoke: Invoke) -> None:
    response = invoke(api_event("health", path="/v1/no-such-route"))
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"])["status"] == 404


def test_malformed_json_is_a_400_problem(invoke: Invoke) -> None:
    event = api_event("register", body='{"email": "ada@example.com", "password": ')
    assert_problem(invoke(event), 400)


def test_wrong_media_type_is_a_415_problem(invoke: Invoke) -> None:
    event = api_event("register", body="email=ada%40example.com", headers={"content-type": "text/plain"})
    assert_problem(invoke(event), 415)


def _json_body_of_size(size: int) -> bytes:
    skeleton = json.dumps({"email": "ada@example.com", "password": "x" * 10, "name": ""}).encode()
    body = skeleton.replace(b'"name": ""', b'"name": "' + b"n" * (size - len(skeleton)) + b'"')
    assert len(body) == size
    return body


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
def test_body_over_1_mib_is_a_413_problem(invoke: Invoke, declared: bool) -> None:
    headers: dict[str, str | None] = {"content-type": "application/json"}
    if not declared:
        headers["content-length"] = None
    event = api_event("register", body=_json_body_of_size(MAX_BODY_BYTES + 1), headers=headers)
    assert_problem(invoke(event), 413)


def test_body_of_exactly_1_mib_is_read(invoke: Invoke) -> None:
    event = api_event("register", body=_json_body_of_size(MAX_BODY_BYTES))
    problem = assert_problem(invoke(event), 422)  # read and validated: the name is too long
    assert any(error["loc"][-1] == "name" for error in problem["errors"])


def test_base64_encoded_body(invoke: Invoke) -> None:
    event = api_event("register", base64_body=True)
    assert event["isBase64Encoded"] is True
    response = invoke(event)
    assert response["statusCode"] == 201, response_body(response)
    assert response_json(response)["user"]["email"] == "ada@example.com"


def test_patch_and_delete_me(invoke: Invoke) -> None:
    tokens = response_json(invoke(api_event("register")))
    auth = bearer_headers(tokens["access_token"])
    patched = invoke(api_event("me", method="PATCH", headers=auth, body={"name": "Countess"}))
    assert patched["statusCode"] == 200, response_body(patched)
    assert response_json(patched)["name"] == "Countess"
    assert invoke(api_event("me", method="DELETE", headers=auth))["statusCode"] == 204
    assert_problem(invoke(api_event("me", headers=auth)), 401)


def _pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


def test_in_lambda_keys_come_from_the_environment(
    invoke: Invoke, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variables template.yaml fills from Secrets Manager; nothing is generated on the Lambda disk."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "interview-tracker-auth")
    monkeypatch.setenv("JWT_PRIVATE_KEY", _pem())
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    registered = invoke(api_event("register"))
    assert registered["statusCode"] == 201, response_body(registered)
    access_token = response_json(registered)["access_token"]

    jwks = response_json(invoke(api_event("health", path="/.well-known/jwks.json")))
    (key,) = jwks["keys"]
    assert jwt.get_unverified_header(access_token)["kid"] == key["kid"]
    assert "d" not in key
    files = {p.name for p in isolated_env.iterdir()} if isolated_env.exists() else set()
    assert not {JWT_KEY_FILE, ENCRYPTION_KEY_FILE} & files


def test_in_lambda_a_missing_key_fails_closed(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "interview-tracker-auth")
    response = invoke(api_event("health", path="/.well-known/jwks.json"))
    problem = assert_problem(response, 500)
    assert "JWT_PRIVATE_KEY" not in json.dumps(problem)
    assert "Traceback" not in response_body(response).decode()


# ---- the sample events themselves -----------------------------------------------------------------


def _template_routes() -> set[str]:
    """Route keys of every function's HttpApi events. An event without Path/Method is the $default route
    (unmatched requests), not a sample target."""
    routes = set()
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for e in resource["Properties"].get("Events", {}).values():
            if e["Type"] == "HttpApi" and "Path" in e["Properties"]:
                routes.add(f"{e['Properties']['Method']} {e['Properties']['Path']}")
    return routes


def _concrete_path(route_path: str, parameters: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: parameters[m.group(1)], route_path)


@pytest.mark.parametrize("name", event_names())
def test_sample_event_is_a_consistent_v2_event_for_a_template_route(name: str) -> None:
    event = json.loads((Path(__file__).resolve().parents[2] / "events" / f"{name}.json").read_text())
    http = event["requestContext"]["http"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"]
    method, route_path = event["routeKey"].split(" ", 1)
    assert method == http["method"]
    # A route with {id} is matched by a concrete path whose parts API Gateway hands over as pathParameters.
    assert _concrete_path(route_path, event.get("pathParameters", {})) == event["rawPath"] == http["path"]
    assert event["routeKey"] in _template_routes()
    assert all(key == key.lower() for key in event["headers"])
    if "body" in event:
        assert not event["isBase64Encoded"]
        assert event["headers"]["content-type"] == "application/json"
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))
        json.loads(event["body"])


def test_the_required_sample_events_exist() -> None:
    assert {"health", "register", "login", "me"} <= set(event_names())
