"""Every sample event under events/ runs: each file is fed, with its placeholders filled in, to the real
Lambda handler of the function template.yaml routes it to, and the answer is the one API.md documents.

- Which function serves a sample comes from template.yaml, never from this file: an HTTP sample by its
  `routeKey` (the function's HttpApi events), an SQS batch by the queue in its `eventSourceARN`
  (CloudFormation names queues `<stack>-<LogicalId>-<suffix>`; the function whose SQS event reads that
  queue), a schedule by the schedule name in `resources` (the ScheduleV2 event's `Name`, which may be a
  `!Sub` of the stack name; SAM's default is `<Function><Event>`).
  The handler is imported from the function's `Handler` (its CodeUri and the layer are on sys.path, as
  in Lambda).
- Placeholders: authenticated samples carry `Bearer REPLACE_WITH_ACCESS_TOKEN`; records samples use the
  fixed ids of SAMPLE_IDS; OAuth callbacks carry `REPLACE_WITH_STATE` / `REPLACE_WITH_CODE` / a
  `REPLACE_WITH_BINDING_COOKIE` cookie; SQS bodies carry sample user and prep ids. Each scenario creates
  what the sample needs (through the handlers, mostly through the other samples) and swaps them in with
  tests.events.with_values.
- Coverage: every HttpApi route and every other event source of every function has a sample, every
  sample has a scenario here, and events/README.md lists every sample with its function. A new route or
  function without a sample fails here.

Detailed behaviour of each route is tested elsewhere (test_lambda_handler, test_records_lambda,
test_export_lambda, test_prep_sqs, test_calendar_poll_lambda and the HTTP suites); here each sample gets
its documented status and body shape.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from common.clock import utc_now
from tests.conftest import reset_caches
from tests.events import (
    EVENTS_DIR,
    PLACEHOLDER_TOKEN,
    LambdaContext,
    api_event,
    load_sample,
    response_body,
    response_json,
    sample_names,
    with_values,
)
from tests.fakes.google_server import FakeGoogle, GoogleUser, start_fake_google
from tests.integration.test_calendar_poll_lambda import (  # noqa: F401 (fixtures)
    Queues,
    add_connection,
    handed_out,
    moto_endpoint,
    queues,
)
from tests.integration.test_google_signin import BINDING_COOKIE, FRONTEND, configure_google
from tests.integration.test_template import load_template
from tests.records import (
    ACTIVITY_FIELDS,
    CONTACT_FIELDS,
    INTERVIEW_FIELDS,
    NOTE_FIELDS,
    OPPORTUNITY_FIELDS,
    PREP_FIELDS,
    PROFILE_FIELDS,
    STATUSES,
    TIME_Z,
)

# The ids the records samples use for the resources they name (paths, query strings, bodies).
SAMPLE_IDS = {
    "opportunity": "019ac1f0c3a87d2e4b6f1a0c9e8d7b6a",
    "interview": "019ac1f2a4b67e3f5c7a2b1d0f9e8c7d",
    "contact": "019ac1f3b5c78f4a6d8b3c2e1a0f9d8e",
    "note": "019ac1f4c6d89a5b7e9c4d3f2b1a0e9f",
}
ID_PATTERN = re.compile(r"\b[0-9a-f]{32}\b")
# API.md: no bearer token on /v1/auth/* (except logout), /v1/health, /.well-known/*, the OAuth callbacks
# and the OpenAPI document.
PUBLIC_ROUTES = re.compile(
    r"^(GET|POST) (/v1/auth/(?!logout$).*|/v1/health|/\.well-known/.*|/v1/openapi\.json)$"
)
TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "user"}
USER_FIELDS = {"id", "email", "name", "picture_url", "google_linked", "calendar", "created_at", "updated_at"}
CALENDAR_FIELDS = {"connected", "status", "last_synced_at", "interviews_found"}
EXPORT_FIELDS = {"id", "format", "url", "expires_at", "size_bytes", "sha256"}
GOOGLE_PERSON = GoogleUser(email="ada@example.com", name="Ada Lovelace")
README = EVENTS_DIR / "README.md"


# ---- which function serves a sample ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    function: str  # logical id in template.yaml
    event: str  # the function's event (source) name
    kind: str  # HttpApi, SQS, ScheduleV2


@cache
def _functions() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {
        name: res["Properties"]
        for name, res in resources.items()
        if res["Type"] == "AWS::Serverless::Function"
    }


STACK_NAME = r"[A-Za-z][A-Za-z0-9-]*"  # what ${AWS::StackName} may be


def _name_pattern(name: Any) -> re.Pattern[str]:
    """A plain name, or a `!Sub` of the stack name (`${AWS::StackName}-calendar-poll`), as a regex."""
    if isinstance(name, dict):
        [(function, text)] = name.items()
        assert function == "Fn::Sub" and isinstance(text, str), name
        parts = text.split("${AWS::StackName}")
        assert "${" not in "".join(parts), f"unsupported substitution in {text}"
        return re.compile(STACK_NAME.join(re.escape(part) for part in parts))
    return re.compile(re.escape(str(name)))


def _shown(pattern: re.Pattern[str]) -> str:
    return re.sub(r"\\(.)", r"\1", pattern.pattern)


@cache
def template_targets() -> dict[Target, re.Pattern[str]]:
    """Every event source of every function that a sample can stand for, with what identifies its samples:
    the route key, the queue's logical id or the schedule's name. (The HttpApi $default route, which has
    no Path, only catches unmatched requests: no sample stands for it.)"""
    targets: dict[Target, re.Pattern[str]] = {}
    for function, props in _functions().items():
        for event_name, event in props.get("Events", {}).items():
            kind, properties = event["Type"], event.get("Properties", {})
            target = Target(function, event_name, kind)
            if kind == "HttpApi" and "Path" in properties:
                targets[target] = _name_pattern(f"{properties['Method']} {properties['Path']}")
            elif kind == "SQS":
                [queue, attribute] = properties["Queue"]["Fn::GetAtt"]
                assert attribute == "Arn", properties
                targets[target] = _name_pattern(queue)
            elif kind in ("ScheduleV2", "Schedule"):
                targets[target] = _name_pattern(properties.get("Name", function + event_name))
    return targets


def template_routes() -> list[str]:
    """The route keys of every function's HttpApi events (the $default route left out)."""
    return [
        f"{event['Properties']['Method']} {event['Properties']['Path']}"
        for props in _functions().values()
        for event in props.get("Events", {}).values()
        if event["Type"] == "HttpApi" and "Path" in event.get("Properties", {})
    ]


def sample_key(sample: dict[str, Any]) -> str:
    """What ties a sample to a template event: route key, queue logical id or schedule name."""
    if sample.get("version") == "2.0" and "routeKey" in sample:
        return str(sample["routeKey"])
    if "Records" in sample:
        arns = {record["eventSourceARN"] for record in sample["Records"]}
        assert len(arns) == 1, arns
        queue_name = arns.pop().rsplit(":", 1)[1]
        return queue_name.rsplit("-", 2)[1]
    if sample.get("source") in ("aws.scheduler", "aws.events"):
        [resource] = sample["resources"]
        return str(resource.rsplit("/", 1)[1])
    raise AssertionError(f"not an event shape this project uses: {sorted(sample)}")


def target_of(name: str) -> Target:
    key = sample_key(load_sample(name))
    found = [target for target, pattern in template_targets().items() if pattern.fullmatch(key)]
    assert len(found) == 1, f"events/{name}.json ({key}) matches {found} in template.yaml"
    return found[0]


def call(name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the handler of the function serving sample `name` (from the template's Handler)."""
    target = target_of(name)
    props = _functions()[target.function]
    module, _, attribute = props["Handler"].rpartition(".")
    handler = getattr(importlib.import_module(module), attribute)
    context = LambdaContext(
        function_name=f"interview-tracker-{target.function.removesuffix('Function').lower()}",
        timeout_seconds=float(props.get("Timeout", 15)),
        memory_limit_in_mb=int(props.get("MemorySize", 1024)),
    )
    result = handler(event, context)
    assert isinstance(result, dict), result
    return result


# ---- invoking samples and reading answers ---------------------------------------------------------


def http(name: str, token: str | None = None, **values: str) -> dict[str, Any]:
    """Sample `name` with its token and placeholders filled, through its function's handler."""
    event = api_event(name)  # a fresh requestId
    replacements = dict(values)
    if token is not None:
        assert event["headers"].get("authorization") == f"Bearer {PLACEHOLDER_TOKEN}", name
        replacements[PLACEHOLDER_TOKEN] = token
    event = with_values(event, replacements)
    assert "REPLACE_WITH_" not in json.dumps(event), f"events/{name}.json: a placeholder is left unfilled"
    response = call(name, event)
    assert isinstance(response.get("statusCode"), int), response
    return response


def header(response: dict[str, Any], name: str) -> str:
    return str((response.get("headers") or {}).get(name, ""))


def json_body(response: dict[str, Any], status: int) -> Any:
    assert response["statusCode"] == status, response_body(response)
    assert header(response, "content-type") == "application/json"
    return response_json(response)


def no_content(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 204, response_body(response)
    assert response_body(response) == b""


def problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    assert response["statusCode"] == status, response_body(response)
    assert header(response, "content-type") == "application/problem+json"
    body = json.loads(response["body"])
    assert body["status"] == status and {"type", "title", "detail"} <= set(body), body
    return dict(body)


def cookie(response: dict[str, Any], name: str) -> str:
    """A cookie the response sets (API Gateway v2 responses carry them in `cookies`)."""
    values = [SimpleCookie(raw)[name].value for raw in response.get("cookies") or [] if raw.startswith(name)]
    assert len(values) == 1, response.get("cookies")
    return values[0]


def query_of(url: str) -> dict[str, str]:
    return {key: value[0] for key, value in parse_qs(urlsplit(url).query).items()}


def body_of(name: str) -> dict[str, Any]:
    """The JSON body a sample sends."""
    loaded = json.loads(load_sample(name)["body"])
    assert isinstance(loaded, dict)
    return loaded


def assert_token_response(tokens: dict[str, Any]) -> None:
    assert set(tokens) >= TOKEN_FIELDS and tokens["token_type"] == "Bearer", tokens
    assert set(tokens["user"]) >= USER_FIELDS
    assert set(tokens["user"]["calendar"]) >= CALENDAR_FIELDS


# ---- what the scenarios build on ----------------------------------------------------------------


def sign_up() -> dict[str, Any]:
    """The register sample's user, signed in: the token response."""
    tokens = json_body(http("register"), 201)
    assert isinstance(tokens, dict)
    return tokens


def token() -> str:
    return str(sign_up()["access_token"])


def created(name: str, access_token: str, **values: str) -> dict[str, Any]:
    """A create sample's 201 body."""
    item = json_body(http(name, access_token, **values), 201)
    assert isinstance(item, dict) and isinstance(item.get("id"), str), item
    return item


def opportunity(access_token: str) -> str:
    return str(created("opportunity_create", access_token)["id"])


def interview(access_token: str) -> tuple[str, str]:
    """(opportunity id, interview id)."""
    opp = opportunity(access_token)
    return opp, str(created("interview_create", access_token, **{SAMPLE_IDS["opportunity"]: opp})["id"])


def ids(**real: str) -> dict[str, str]:
    """Sample id -> real id, e.g. ids(opportunity=...)."""
    return {SAMPLE_IDS[kind]: value for kind, value in real.items()}


def ai_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prep requests are accepted (records holds no key in AWS, it queues; locally a key stands for it)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    reset_caches()


def connect_calendar(google: FakeGoogle, access_token: str) -> dict[str, Any]:
    """calendar_connect, Google's consent, calendar_callback: the 302 of the callback."""
    started = http("calendar_connect", access_token)
    url = json_body(started, 200)["authorization_url"]
    back = google.authorize(url, user=GOOGLE_PERSON)
    returned = query_of(back)
    return http(
        "calendar_callback",
        REPLACE_WITH_STATE=returned["state"],
        REPLACE_WITH_CODE=returned["code"],
        REPLACE_WITH_BINDING_COOKIE=cookie(started, BINDING_COOKIE),
    )


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    """A fake Google for sign-in, the calendar connection and the Calendar API."""
    from calendar_poll.google_calendar import get_calendar_source

    with start_fake_google() as fake:
        configure_google(monkeypatch, fake)
        monkeypatch.setenv("GOOGLE_CALENDAR_API_URL", fake.calendar_api_root)
        get_calendar_source.cache_clear()
        yield fake
        get_calendar_source.cache_clear()


# ---- one scenario per sample ---------------------------------------------------------------------

Scenario = Callable[[pytest.FixtureRequest], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(*names: str) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        for name in names:
            assert name not in SCENARIOS, name
            SCENARIOS[name] = function
        return function

    return register


# auth: health, discovery, accounts and sessions


@scenario("health")
def _health(request: pytest.FixtureRequest) -> None:
    body = json_body(http("health"), 200)
    assert body["status"] == "ok" and isinstance(body["version"], str) and body["version"]


@scenario("jwks")
def _jwks(request: pytest.FixtureRequest) -> None:
    access_token = token()
    keys = json_body(http("jwks"), 200)["keys"]
    kid = jwt.get_unverified_header(access_token)["kid"]
    assert [key["kid"] for key in keys] == [kid]
    assert all(key["kty"] == "EC" and "d" not in key for key in keys)


@scenario("openapi_document")
def _openapi(request: pytest.FixtureRequest) -> None:
    document = json_body(http("openapi_document"), 200)
    assert document["openapi"].startswith("3.1")
    for route in template_routes():
        if route != "GET /v1/openapi.json":  # the document does not list itself
            method, path = route.split(" ", 1)
            assert method.lower() in document["paths"].get(path, {}), route


@scenario("register")
def _register(request: pytest.FixtureRequest) -> None:
    tokens = sign_up()
    assert_token_response(tokens)
    assert tokens["user"]["email"] == body_of("register")["email"]
    problem(http("register"), 409)  # the same sample again: the email exists


@scenario("login")
def _login(request: pytest.FixtureRequest) -> None:
    user = sign_up()["user"]
    tokens = json_body(http("login"), 200)
    assert_token_response(tokens)
    assert tokens["user"]["id"] == user["id"]


@scenario("refresh")
def _refresh(request: pytest.FixtureRequest) -> None:
    first = sign_up()
    second = json_body(http("refresh", REPLACE_WITH_REFRESH_TOKEN=first["refresh_token"]), 200)
    assert_token_response(second)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["id"] == first["user"]["id"]


@scenario("logout")
def _logout(request: pytest.FixtureRequest) -> None:
    tokens = sign_up()
    no_content(http("logout", tokens["access_token"], REPLACE_WITH_REFRESH_TOKEN=tokens["refresh_token"]))
    problem(http("me", tokens["access_token"]), 401)
    problem(http("refresh", REPLACE_WITH_REFRESH_TOKEN=tokens["refresh_token"]), 401)


@scenario("me")
def _me(request: pytest.FixtureRequest) -> None:
    tokens = sign_up()
    user = json_body(http("me", tokens["access_token"]), 200)
    assert set(user) >= USER_FIELDS and user == tokens["user"]


@scenario("me_update")
def _me_update(request: pytest.FixtureRequest) -> None:
    access_token = token()
    user = json_body(http("me_update", access_token), 200)
    assert set(user) >= USER_FIELDS and user["name"] == body_of("me_update")["name"]
    assert json_body(http("me", access_token), 200)["name"] == user["name"]


@scenario("me_delete")
def _me_delete(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opportunity(access_token)
    no_content(http("me_delete", access_token))
    problem(http("me", access_token), 401)
    problem(http("login"), 401)


# auth: Google sign-in and the calendar connection


@scenario("google_login")
def _google_login(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    response = http("google_login")
    assert response["statusCode"] == 302, response_body(response)
    location = header(response, "location")
    assert location.startswith(google.authorization_endpoint + "?"), location
    query = query_of(location)
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    assert query["redirect_uri"].endswith("/v1/auth/google/callback")
    assert cookie(response, BINDING_COOKIE)


@scenario("google_callback")
def _google_callback(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    started = http("google_login")
    returned = query_of(google.authorize(header(started, "location"), user=GOOGLE_PERSON))
    response = http(
        "google_callback",
        REPLACE_WITH_STATE=returned["state"],
        REPLACE_WITH_CODE=returned["code"],
        REPLACE_WITH_BINDING_COOKIE=cookie(started, BINDING_COOKIE),
    )
    assert response["statusCode"] == 302, response_body(response)
    location = header(response, "location")
    assert location.startswith(FRONTEND + "#"), location
    fragment = {key: value[0] for key, value in parse_qs(urlsplit(location).fragment).items()}
    user = json_body(http("me", fragment["access_token"]), 200)
    assert user["email"] == GOOGLE_PERSON.email and user["google_linked"] is True


@scenario("calendar_connect")
def _calendar_connect(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    response = http("calendar_connect", token())
    url = json_body(response, 200)["authorization_url"]
    assert url.startswith(google.authorization_endpoint + "?"), url
    query = query_of(url)
    assert "https://www.googleapis.com/auth/calendar.events.readonly" in query["scope"].split()
    assert query["access_type"] == "offline" and query["code_challenge_method"] == "S256"
    assert cookie(response, BINDING_COOKIE)


@scenario("calendar_callback")
def _calendar_callback(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    access_token = token()
    response = connect_calendar(google, access_token)
    assert response["statusCode"] == 302, response_body(response)
    assert header(response, "location").startswith(FRONTEND), header(response, "location")
    assert json_body(http("calendar_status", access_token), 200)["status"] == "connected"


@scenario("calendar_status")
def _calendar_status(request: pytest.FixtureRequest) -> None:
    status = json_body(http("calendar_status", token()), 200)
    assert set(status) >= CALENDAR_FIELDS
    assert status["connected"] is False and status["status"] == "disconnected"
    assert status["last_synced_at"] is None and status["interviews_found"] == 0


@scenario("calendar_sync_now")
def _calendar_sync_now(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    access_token = token()
    problem(http("calendar_sync_now", access_token), 409)  # nothing connected yet
    assert connect_calendar(google, access_token)["statusCode"] == 302
    status = json_body(http("calendar_sync_now", access_token), 202)
    assert set(status) >= CALENDAR_FIELDS and status["connected"] is True


@scenario("calendar_disconnect")
def _calendar_disconnect(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    access_token = token()
    assert connect_calendar(google, access_token)["statusCode"] == 302
    no_content(http("calendar_disconnect", access_token))
    status = json_body(http("calendar_status", access_token), 200)
    assert status["connected"] is False and status["status"] == "disconnected"


# records: profile, opportunities


@scenario("profile_get")
def _profile_get(request: pytest.FixtureRequest) -> None:
    profile = json_body(http("profile_get", token()), 200)
    assert profile == {"headline": "", "resume_text": "", "linkedin_summary": "", "updated_at": None}


@scenario("profile_put")
def _profile_put(request: pytest.FixtureRequest) -> None:
    access_token = token()
    profile = json_body(http("profile_put", access_token), 200)
    assert set(profile) == PROFILE_FIELDS and TIME_Z.match(profile["updated_at"])
    assert {key: profile[key] for key in body_of("profile_put")} == body_of("profile_put")
    assert json_body(http("profile_get", access_token), 200) == profile


@scenario("opportunity_create")
def _opportunity_create(request: pytest.FixtureRequest) -> None:
    item = created("opportunity_create", token())
    sent = body_of("opportunity_create")
    assert set(item) >= OPPORTUNITY_FIELDS and {key: item[key] for key in sent} == sent


@scenario("opportunities_list")
def _opportunities_list(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)  # the create sample matches the list sample's q/status filters
    page = json_body(http("opportunities_list", access_token), 200)
    assert [item["id"] for item in page["items"]] == [opp] and page["next_cursor"] is None


@scenario("opportunity_get")
def _opportunity_get(request: pytest.FixtureRequest) -> None:
    access_token = token()
    item = created("opportunity_create", access_token)
    assert json_body(http("opportunity_get", access_token, **ids(opportunity=item["id"])), 200) == item
    problem(http("opportunity_get", access_token), 404)  # the sample's own id names nothing


@scenario("opportunity_update")
def _opportunity_update(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)
    item = json_body(http("opportunity_update", access_token, **ids(opportunity=opp)), 200)
    sent = body_of("opportunity_update")
    assert set(item) >= OPPORTUNITY_FIELDS and {key: item[key] for key in sent} == sent


@scenario("opportunity_delete")
def _opportunity_delete(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)
    no_content(http("opportunity_delete", access_token, **ids(opportunity=opp)))
    problem(http("opportunity_get", access_token, **ids(opportunity=opp)), 404)


# records: interviews and prep


@scenario("interview_create")
def _interview_create(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)
    item = created("interview_create", access_token, **ids(opportunity=opp))
    assert set(item) >= INTERVIEW_FIELDS and item["opportunity_id"] == opp
    assert item["source"] == "manual" and item["prep_status"] == "none"
    assert item["scheduled_at"] == "2026-03-10T13:00:00.000000Z"  # the sample's +01:00, in UTC


@scenario("interviews_list")
def _interviews_list(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp, interview_id = interview(access_token)
    page = json_body(http("interviews_list", access_token, **ids(opportunity=opp)), 200)
    assert [item["id"] for item in page["items"]] == [interview_id] and page["next_cursor"] is None


@scenario("interview_get")
def _interview_get(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, interview_id = interview(access_token)
    item = json_body(http("interview_get", access_token, **ids(interview=interview_id)), 200)
    assert set(item) >= INTERVIEW_FIELDS and item["id"] == interview_id


@scenario("interview_update")
def _interview_update(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, interview_id = interview(access_token)
    item = json_body(http("interview_update", access_token, **ids(interview=interview_id)), 200)
    sent = body_of("interview_update")
    assert {key: item[key] for key in sent} == sent


@scenario("interview_delete")
def _interview_delete(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, interview_id = interview(access_token)
    no_content(http("interview_delete", access_token, **ids(interview=interview_id)))
    problem(http("interview_get", access_token, **ids(interview=interview_id)), 404)


@scenario("prep_request")
def _prep_request(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, interview_id = interview(access_token)
    problem(http("prep_request", access_token, **ids(interview=interview_id)), 503)  # no AI provider
    ai_configured(request.getfixturevalue("monkeypatch"))
    prep = json_body(http("prep_request", access_token, **ids(interview=interview_id)), 202)
    assert set(prep) >= PREP_FIELDS and prep["status"] == "queued" and prep["interview_id"] == interview_id
    again = json_body(http("prep_request", access_token, **ids(interview=interview_id)), 202)
    assert again["id"] == prep["id"]  # idempotent while queued


@scenario("prep_get")
def _prep_get(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, interview_id = interview(access_token)
    problem(http("prep_get", access_token, **ids(interview=interview_id)), 404)  # none yet
    ai_configured(request.getfixturevalue("monkeypatch"))
    queued = json_body(http("prep_request", access_token, **ids(interview=interview_id)), 202)
    assert json_body(http("prep_get", access_token, **ids(interview=interview_id)), 200) == queued


# records: contacts, notes, activity, stats


@scenario("contact_create")
def _contact_create(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)
    item = created("contact_create", access_token, **ids(opportunity=opp))
    assert set(item) >= CONTACT_FIELDS and item["opportunity_ids"] == [opp]
    assert item["name"] == body_of("contact_create")["name"]


def _contact(access_token: str) -> tuple[str, str]:
    opp = opportunity(access_token)
    return opp, str(created("contact_create", access_token, **ids(opportunity=opp))["id"])


@scenario("contacts_list")
def _contacts_list(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp, contact_id = _contact(access_token)
    page = json_body(http("contacts_list", access_token, **ids(opportunity=opp)), 200)
    assert [item["id"] for item in page["items"]] == [contact_id] and page["next_cursor"] is None


@scenario("contact_get")
def _contact_get(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, contact_id = _contact(access_token)
    item = json_body(http("contact_get", access_token, **ids(contact=contact_id)), 200)
    assert set(item) >= CONTACT_FIELDS and item["id"] == contact_id


@scenario("contact_update")
def _contact_update(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp, contact_id = _contact(access_token)
    item = json_body(http("contact_update", access_token, **ids(contact=contact_id)), 200)
    sent = body_of("contact_update")
    assert {key: item[key] for key in sent} == sent and item["opportunity_ids"] == [opp]


@scenario("contact_delete")
def _contact_delete(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, contact_id = _contact(access_token)
    no_content(http("contact_delete", access_token, **ids(contact=contact_id)))
    problem(http("contact_get", access_token, **ids(contact=contact_id)), 404)


def _note(access_token: str) -> tuple[str, str]:
    opp = opportunity(access_token)
    return opp, str(created("note_create", access_token, **ids(opportunity=opp))["id"])


@scenario("note_create")
def _note_create(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)
    item = created("note_create", access_token, **ids(opportunity=opp))
    assert set(item) >= NOTE_FIELDS and item["opportunity_id"] == opp
    assert item["body"] == body_of("note_create")["body"]


@scenario("notes_list")
def _notes_list(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp, note_id = _note(access_token)
    page = json_body(http("notes_list", access_token, **ids(opportunity=opp)), 200)
    assert [item["id"] for item in page["items"]] == [note_id] and page["next_cursor"] is None


@scenario("note_get")
def _note_get(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, note_id = _note(access_token)
    item = json_body(http("note_get", access_token, **ids(note=note_id)), 200)
    assert set(item) >= NOTE_FIELDS and item["id"] == note_id


@scenario("note_update")
def _note_update(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, note_id = _note(access_token)
    item = json_body(http("note_update", access_token, **ids(note=note_id)), 200)
    assert item["body"] == body_of("note_update")["body"]


@scenario("note_delete")
def _note_delete(request: pytest.FixtureRequest) -> None:
    access_token = token()
    _, note_id = _note(access_token)
    no_content(http("note_delete", access_token, **ids(note=note_id)))
    problem(http("note_get", access_token, **ids(note=note_id)), 404)


@scenario("activity_create")
def _activity_create(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)
    item = created("activity_create", access_token, **ids(opportunity=opp))
    assert set(item) >= ACTIVITY_FIELDS and item["kind"] == "email" and item["opportunity_id"] == opp
    assert item["occurred_at"] == "2026-03-10T16:30:00.000000Z"  # the sample's +01:00, in UTC


@scenario("activity_list")
def _activity_list(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opp = opportunity(access_token)  # also writes a `created` entry, which the kind=email filter leaves out
    entry = created("activity_create", access_token, **ids(opportunity=opp))
    page = json_body(http("activity_list", access_token, **ids(opportunity=opp)), 200)
    assert [item["id"] for item in page["items"]] == [entry["id"]] and page["next_cursor"] is None


@scenario("stats")
def _stats(request: pytest.FixtureRequest) -> None:
    access_token = token()
    opportunity(access_token)  # status applied
    stats = json_body(http("stats", access_token), 200)
    assert set(stats) >= {"by_status", "upcoming_interviews", "response_rate", "interviews_this_week"}
    assert stats["by_status"] == {status: int(status == "applied") for status in STATUSES}
    assert stats["upcoming_interviews"] == [] and stats["interviews_this_week"] == 0
    assert stats["response_rate"] == 0.0


# export


@scenario("export_create")
def _export_create(request: pytest.FixtureRequest) -> None:
    export = json_body(http("export_create", token()), 201)
    assert set(export) == EXPORT_FIELDS and export["format"] == body_of("export_create")["format"]
    assert export["size_bytes"] > 0 and re.fullmatch(r"[0-9a-f]{64}", export["sha256"])


# the other event sources


@scenario("sqs/prep")
def _sqs_prep(request: pytest.FixtureRequest) -> None:
    fake = request.getfixturevalue("fake_anthropic")  # also configures AI
    tokens = sign_up()
    access_token = tokens["access_token"]
    _, interview_id = interview(access_token)
    prep = json_body(http("prep_request", access_token, **ids(interview=interview_id)), 202)

    sample = load_sample("sqs/prep")
    sent = json.loads(sample["Records"][0]["body"])
    assert call("sqs/prep", sample) == {"batchItemFailures": []}  # as committed: no such prep, acknowledged
    assert fake.message_requests == []

    event = with_values(sample, {sent["user_id"]: tokens["user"]["id"], sent["prep_id"]: prep["id"]})
    assert call("sqs/prep", event) == {"batchItemFailures": []}
    ready = json_body(http("prep_get", access_token, **ids(interview=interview_id)), 200)
    assert ready["id"] == prep["id"] and ready["status"] == "ready" and ready["content"]["summary"]
    assert len(fake.message_requests) == 1


@scenario("sqs/calendar_sync")
def _sqs_calendar_sync(request: pytest.FixtureRequest) -> None:
    google: FakeGoogle = request.getfixturevalue("google")
    tokens = sign_up()
    access_token = tokens["access_token"]
    assert connect_calendar(google, access_token)["statusCode"] == 302
    google.calendar(GOOGLE_PERSON).add_event(
        start=(utc_now() + timedelta(days=2)).replace(microsecond=0),
        summary="Onsite interview at Hooli",
        event_id="evt-hooli",
    )
    sample = load_sample("sqs/calendar_sync")
    sent = json.loads(sample["Records"][0]["body"])
    event = with_values(sample, {sent["user_id"]: tokens["user"]["id"]})
    assert call("sqs/calendar_sync", event) == {"batchItemFailures": []}
    status = json_body(http("calendar_status", access_token), 200)
    assert status["interviews_found"] == 1 and TIME_Z.match(status["last_synced_at"])
    found = json_body(api_event_call("interviews_list", access_token, query=""), 200)
    assert [item["calendar_event_id"] for item in found["items"]] == ["evt-hooli"]


def api_event_call(name: str, access_token: str, **overrides: Any) -> dict[str, Any]:
    """Sample `name` with overrides (tests.events.api_event) and the caller's token."""
    event = with_values(api_event(name, **overrides), {PLACEHOLDER_TOKEN: access_token})
    return call(name, event)


@scenario("schedule/calendar_poll")
def _schedule_calendar_poll(request: pytest.FixtureRequest) -> None:
    queues_: Queues = request.getfixturevalue("queues")
    user_id = sign_up()["user"]["id"]
    add_connection(user_id, "connected")
    assert call("schedule/calendar_poll", load_sample("schedule/calendar_poll")) == {"users": 1}
    assert handed_out(queues_.sync) == [user_id]


# ---- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sample_names())
def test_the_sample_runs_through_its_functions_handler(name: str, request: pytest.FixtureRequest) -> None:
    assert name in SCENARIOS, f"events/{name}.json has no scenario in {__name__}: add one"
    SCENARIOS[name](request)


def test_every_sample_has_a_scenario_and_every_scenario_a_sample() -> None:
    assert set(SCENARIOS) == set(sample_names())


@pytest.mark.parametrize("name", sample_names())
def test_the_sample_stands_for_one_event_of_one_function(name: str) -> None:
    target_of(name)


def test_every_route_and_event_source_of_every_function_has_a_sample() -> None:
    covered = {target_of(name) for name in sample_names()}
    missing = [
        f"{t.function}.{t.event} ({_shown(key)})" for t, key in template_targets().items() if t not in covered
    ]
    assert not missing, f"no sample event under events/ for: {missing}"
    assert {t.function for t in covered} == set(_functions())


HTTP_SAMPLES = [name for name in sample_names() if "/" not in name]


@pytest.mark.parametrize("name", HTTP_SAMPLES)
def test_the_sample_carries_only_placeholders(name: str) -> None:
    """The token placeholder exactly on the routes that need a token; ids only from SAMPLE_IDS."""
    sample = load_sample(name)
    authorization = sample["headers"].get("authorization")
    if PUBLIC_ROUTES.match(sample["routeKey"]):
        assert authorization is None, name
    else:
        assert authorization == f"Bearer {PLACEHOLDER_TOKEN}", name
    request_text = json.dumps([sample["rawPath"], sample["rawQueryString"], sample.get("body")])
    assert set(ID_PATTERN.findall(request_text)) <= set(SAMPLE_IDS.values()), name


@pytest.mark.parametrize(
    "name", [n for n in HTTP_SAMPLES if not PUBLIC_ROUTES.match(load_sample(n)["routeKey"])]
)
def test_as_committed_the_placeholder_token_is_refused(name: str) -> None:
    """What `sam local invoke` answers until a real token is pasted in: 401 with WWW-Authenticate."""
    response = call(name, api_event(name))
    problem(response, 401)
    assert header(response, "www-authenticate").startswith("Bearer")


def test_the_readme_lists_every_sample_with_its_function() -> None:
    rows = re.findall(r"^\| `events/([\w/]+)\.json` \| `(\w+)` \|", README.read_text(), flags=re.MULTILINE)
    listed = dict(rows)
    assert len(listed) == len(rows), "a sample is listed twice"
    assert listed == {name: target_of(name).function for name in sample_names()}
