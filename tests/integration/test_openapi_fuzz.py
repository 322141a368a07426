"""Property-based tests of every operation of the served OpenAPI document (schemathesis).

The document is the auth function's bundled copy (what API Gateway serves at /v1/openapi.json; a test
keeps it equal to the live one). Each operation is one test with its own database, holding a signed-in
user with records (so `{id}` paths hit real ids as well as random ones), Google and Anthropic fakes
configured (so those routes run their real code instead of answering 503). Positive and negative data;
every response must be documented (status code, content type: problem+json for errors, body schema,
headers, `Allow` on 405), never a 5xx, and an operation that declares BearerAuth must refuse the same
request without a token or with a wrong one (`ignored_auth`).

`positive_data_acceptance` is off: a schema-valid body may still name a record the caller does not have
(`422`, API.md), which a JSON schema cannot express. The document has no OpenAPI links; stateful
sequences come from the seeded ids instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from auth.handler import OPENAPI_DOCUMENT
from tests.conftest import bearer, register, reset_caches
from tests.fakes.google_server import FakeGoogle, start_fake_google
from tests.records import create_activity, create_contact, create_interview, create_note, create_opportunity

# `make test` runs this bounded, derandomized profile; `make fuzz` sets FUZZ_EXAMPLES for a longer,
# randomized one.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
GOOGLE_CLIENT_ID = "tracker-client.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "tracker-secret"
# Operations that end the caller's session: each case gets a user of its own.
SESSION_ENDING = {("DELETE", "/v1/me"), ("POST", "/v1/auth/logout")}


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    with start_fake_google() as fake:
        fake.register_client(
            GOOGLE_CLIENT_ID,
            GOOGLE_CLIENT_SECRET,
            [
                "http://localhost/v1/auth/google/callback",
                "http://localhost/v1/auth/google/calendar/callback",
            ],
        )
        monkeypatch.setenv("GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID)
        monkeypatch.setenv("GOOGLE_CLIENT_SECRET", GOOGLE_CLIENT_SECRET)
        monkeypatch.setenv("GOOGLE_DISCOVERY_URL", fake.discovery_url)
        monkeypatch.setenv("GOOGLE_CALENDAR_API_URL", fake.calendar_api_root)
        reset_caches()
        yield fake


# Cases are generated at collection time too, before any user exists: the auth provider marks a case as
# authenticated (explicit auth, so `ignored_auth` also probes without a token and with a bad one) and the
# test puts a real access token in place of the mark just before the call.
TOKEN_MARK = "Bearer <access token of the seeded user>"

schema = schemathesis.openapi.from_path(OPENAPI_DOCUMENT)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic="FUZZ_EXAMPLES" not in os.environ,
    database="none",
)
schema.config.checks.update(excluded_check_names=["positive_data_acceptance"])
# A schema-violating body can be refused for its size before validation (1 MiB limit, API.md).
schema.config.checks.negative_data_rejection.expected_statuses.append("413")


@schema.auth(refresh_interval=None)
class BearerToken:
    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return TOKEN_MARK

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": data}


class Caller:
    """Who the fuzzed requests act as, with the ids of their records by collection (the path's second
    part). Operations that end the session act as a throwaway user, replaced once its session ends."""

    def __init__(self, client: TestClient, token: str, ids: dict[str, list[str]]) -> None:
        self.client, self.token, self.ids = client, token, ids
        self.throwaway: str | None = None
        self.count = 0

    def token_for(self, case: schemathesis.Case) -> str:
        if (case.method.upper(), case.path) not in SESSION_ENDING:
            return self.token
        if self.throwaway is not None:
            alive = self.client.get("/v1/me", headers={"Authorization": f"Bearer {self.throwaway}"})
            if alive.status_code == 200:
                return self.throwaway
        self.count += 1
        tokens = register(self.client, email=f"throwaway{self.count}@example.com", name="Throwaway")
        self.throwaway = str(tokens["access_token"])
        return self.throwaway


CALLER: list[Caller] = []  # the current test's


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    """Half the time, a real id of the caller's in place of the generated one."""
    operation = context.operation
    if (
        not CALLER
        or operation is None
        or not isinstance(path_parameters, dict)
        or "id" not in path_parameters
    ):
        return st.just(path_parameters)
    real = CALLER[0].ids.get(operation.path.split("/")[2], [])
    if not real:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters), st.sampled_from(real).map(lambda i: {**path_parameters, "id": i})
    )


def _operation(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(method, path) of the operation a parametrized test item runs, from its id `METHOD /path`."""
    method, _, path = request.node.name.partition("[")[2].rstrip("]").partition(" ")
    return method, path


@pytest.fixture
def caller(request: pytest.FixtureRequest, client: TestClient) -> Iterator[Caller]:
    """The signed-in user, their records, and the fakes this operation talks to (each only where needed:
    every operation is a test of its own, with its own database)."""
    _, path = _operation(request)
    if path.startswith(("/v1/auth/google", "/v1/me/calendar")):
        request.getfixturevalue("google")
    if path.endswith("/prep"):
        request.getfixturevalue("fake_anthropic")
    tokens = register(client)
    ids: dict[str, list[str]] = {}
    if not path.startswith(("/v1/auth", "/v1/me", "/v1/health", "/.well-known")):
        headers = bearer(tokens)
        opportunity = create_opportunity(
            client, headers, tags=["python"], job_description="https://jobs.example/1"
        )
        interview = create_interview(client, headers, opportunity["id"], kind="technical")
        ids = {
            "opportunities": [opportunity["id"]],
            "interviews": [interview["id"]],
            "contacts": [create_contact(client, headers, opportunity_ids=[opportunity["id"]])["id"]],
            "notes": [create_note(client, headers, opportunity_id=opportunity["id"])["id"]],
            "activity": [create_activity(client, headers, opportunity_id=opportunity["id"])["id"]],
        }
        if path.startswith("/v1/exports/"):
            export = client.post("/v1/exports", json={"format": "json"}, headers=headers)
            assert export.status_code == 201, export.text
            ids["exports"] = [export.json()["id"]]
    CALLER[:] = [Caller(client, tokens["access_token"], ids)]
    yield CALLER[0]
    CALLER.clear()


def test_the_fuzzed_document_is_the_served_one(client: TestClient) -> None:
    assert client.get("/v1/openapi.json").json() == json.loads(OPENAPI_DOCUMENT.read_text())


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=MAX_EXAMPLES)
def test_every_operation_conforms(case: schemathesis.Case, caller: Caller) -> None:
    if case.headers and case.headers.get("Authorization") == TOKEN_MARK:
        case.headers["Authorization"] = f"Bearer {caller.token_for(case)}"
    # The checks' own probes (ignored_auth) go through the schema's transport: this test's app.
    case.operation.schema.app = caller.client.app
    case.call_and_validate(app=caller.client.app)
