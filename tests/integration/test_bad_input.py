"""Bad input on every auth route: problem+json, the right status, nothing written (API.md, Conventions)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from common.db import get_database
from tests.conftest import PASSWORD, bearer, register
from tests.problems import assert_problem

MIB = 1024 * 1024
TABLES = ("users", "sessions", "refresh_tokens", "login_failures")


@dataclass(frozen=True)
class Ctx:
    tokens: dict[str, Any]


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    auth: bool
    valid: Callable[[Ctx], dict[str, Any]]
    success: int
    # field -> its kind: "email", "name", "password", "login_password", "token"
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


ROUTES = [
    Route(
        "register",
        "POST",
        "/v1/auth/register",
        False,
        lambda _: {"email": "new@example.com", "password": PASSWORD, "name": "New"},
        201,
        {"email": "email", "password": "password", "name": "name"},
    ),
    Route(
        "login",
        "POST",
        "/v1/auth/login",
        False,
        lambda _: {"email": "ada@example.com", "password": PASSWORD},
        200,
        {"email": "email", "password": "login_password"},
    ),
    Route(
        "refresh",
        "POST",
        "/v1/auth/refresh",
        False,
        lambda ctx: {"refresh_token": ctx.tokens["refresh_token"]},
        200,
        {"refresh_token": "token"},
    ),
    Route(
        "logout",
        "POST",
        "/v1/auth/logout",
        True,
        lambda ctx: {"refresh_token": ctx.tokens["refresh_token"]},
        204,
        {"refresh_token": "token"},
    ),
    Route("patch_me", "PATCH", "/v1/me", True, lambda _: {"name": "Renamed"}, 200, {"name": "name"}),
]
ROUTE_IDS = [route.name for route in ROUTES]

TOO_LONG = {
    "email": "a" * (301 - len("@example.com")) + "@example.com",
    "name": "n" * 301,
    "password": "p" * 1025,
    "login_password": "p" * 1025,
    "token": "rt_" + "t" * 10_000,
}
WRONG_TYPES: list[Any] = [123, 1.5, True, ["x"], {"x": "y"}]


# ---- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def ctx(client: TestClient) -> Ctx:
    tokens = register(client)
    # A failure row too, so that a stray change to login_failures is also seen (arranged directly:
    # a failed login over HTTP costs an argon2 verification, and this fixture runs for every test).
    get_database().execute(
        "INSERT INTO login_failures (email_key, failed_at) VALUES ('k', '2999-01-01T00:00:00.000000Z')"
    )
    return Ctx(tokens=tokens)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    db = get_database()
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").rows for table in TABLES}


@pytest.fixture
def unchanged(ctx: Ctx) -> Iterator[None]:
    """Asserts, after the test body, that no row of the auth tables was written."""
    before = snapshot()
    yield
    after = snapshot()
    assert after == before


def send(
    client: TestClient,
    route: Route,
    ctx: Ctx,
    content: bytes | Iterator[bytes] | None,
    content_type: str | None = "application/json",
) -> Response:
    headers = dict(bearer(ctx.tokens)) if route.auth else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.request(route.method, route.path, content=content, headers=headers)


def send_json(client: TestClient, route: Route, ctx: Ctx, payload: Any) -> Response:
    return send(client, route, ctx, json.dumps(payload).encode())


def assert_validation(
    response: Response, *, loc: list[Any] | None = None, case: Any = None
) -> dict[str, Any]:
    body = assert_problem(response, 422, case)
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    for error in errors:
        assert isinstance(error["loc"], list) and error["loc"]
        assert isinstance(error["msg"], str) and error["msg"]
    if loc is not None:
        assert loc in [error["loc"][: len(loc)] for error in errors], (case, errors)
    return body


def string_fields() -> list[Any]:
    return [
        pytest.param(route, name, kind, id=f"{route.name}-{name}")
        for route in ROUTES
        for name, kind in route.fields.items()
    ]


# ---- sanity: the valid body is accepted and does write (so "unchanged" can fail) ----------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_valid_body_is_accepted_and_writes(client: TestClient, ctx: Ctx, route: Route) -> None:
    before = snapshot()
    response = send_json(client, route, ctx, route.valid(ctx))
    assert response.status_code == route.success, response.text
    assert snapshot() != before


# ---- malformed and non-object JSON -------------------------------------------------------------


MALFORMED = [
    b'{"email": ',
    b"{'email': 'ada@example.com'}",
    b'{"name": "x",}',
    b"not json at all",
    b'{"name": "a\x00b"}',  # a raw NUL inside a string is not valid JSON
    b"\xff\xfe{}",
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_malformed_json_is_400(client: TestClient, ctx: Ctx, route: Route) -> None:
    for raw in MALFORMED:
        assert_problem(send(client, route, ctx, raw), 400, raw)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_json_that_is_not_an_object_is_422(client: TestClient, ctx: Ctx, route: Route) -> None:
    # The valid body as an array element too, to be sure it is the shape that is rejected.
    for payload in ([], [route.valid(ctx)], "a string", json.dumps(route.valid(ctx)), 42, True):
        assert_validation(send_json(client, route, ctx, payload), case=payload)


# ---- fields: types, unknown, empty, too long, NUL ----------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("route", "name", "kind"), string_fields())
def test_wrong_type_is_422_with_errors(
    client: TestClient, ctx: Ctx, route: Route, name: str, kind: str
) -> None:
    for value in WRONG_TYPES:
        payload = {**route.valid(ctx), name: value}
        assert_validation(send_json(client, route, ctx, payload), loc=["body", name], case=value)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_unknown_field_is_422(client: TestClient, ctx: Ctx, route: Route) -> None:
    for extra in ("is_admin", "id", "user_id", "created_at", "google_sub"):
        payload = {**route.valid(ctx), extra: "x"}
        assert_validation(send_json(client, route, ctx, payload), loc=["body", extra], case=extra)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("route", "name", "kind"), string_fields())
def test_empty_string_is_422(client: TestClient, ctx: Ctx, route: Route, name: str, kind: str) -> None:
    payload = {**route.valid(ctx), name: ""}
    assert_validation(send_json(client, route, ctx, payload), loc=["body", name])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("route", "name"),
    [(route, name) for route in ROUTES for name, kind in route.fields.items() if kind in ("name", "email")],
    ids=lambda value: str(value),
)
def test_blank_name_or_email_is_422(client: TestClient, ctx: Ctx, route: Route, name: str) -> None:
    payload = {**route.valid(ctx), name: "   "}
    assert_validation(send_json(client, route, ctx, payload), loc=["body", name])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("route", "name", "kind"), string_fields())
def test_over_long_string_is_422(client: TestClient, ctx: Ctx, route: Route, name: str, kind: str) -> None:
    payload = {**route.valid(ctx), name: TOO_LONG[kind]}
    assert_validation(send_json(client, route, ctx, payload), loc=["body", name])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", [r for r in ROUTES if r.fields.get("email")], ids=lambda r: r.name)
def test_invalid_email_is_422(client: TestClient, ctx: Ctx, route: Route) -> None:
    for email in ("ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@example.com"):
        payload = {**route.valid(ctx), "email": email}
        assert_validation(send_json(client, route, ctx, payload), loc=["body", "email"], case=email)


@pytest.mark.parametrize(
    ("route", "name", "statuses"),
    [
        pytest.param(ROUTES[0], "email", {422}, id="register-email"),
        pytest.param(ROUTES[0], "name", {422}, id="register-name"),
        pytest.param(ROUTES[1], "email", {422}, id="login-email"),
        pytest.param(ROUTES[2], "refresh_token", {401, 422}, id="refresh-token"),
        pytest.param(ROUTES[4], "name", {422}, id="patch_me-name"),
    ],
)
def test_nul_character_is_rejected(
    client: TestClient, ctx: Ctx, route: Route, name: str, statuses: set[int]
) -> None:
    before = snapshot()
    valid = route.valid(ctx)
    value = valid[name]
    payload = {**valid, name: value[:3] + "\x00" + value[3:]}
    response = send_json(client, route, ctx, payload)
    assert response.status_code in statuses, response.text
    assert_problem(response, response.status_code)
    assert snapshot() == before


# ---- body size and media type ------------------------------------------------------------------


def _sized_body(route: Route, ctx: Ctx, size: int) -> bytes:
    """The route's valid body padded (inside its first string field) to exactly `size` bytes."""
    payload = route.valid(ctx)
    name = next(iter(route.fields))
    payload[name] = ""
    overhead = len(json.dumps(payload).encode())
    payload[name] = "x" * (size - overhead)
    raw = json.dumps(payload).encode()
    assert len(raw) == size
    return raw


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_body_over_one_mib_is_413(client: TestClient, ctx: Ctx, route: Route) -> None:
    assert_problem(send(client, route, ctx, _sized_body(route, ctx, MIB + 1)), 413)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_streamed_body_over_one_mib_is_413(client: TestClient, ctx: Ctx, route: Route) -> None:
    raw = _sized_body(route, ctx, 2 * MIB)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    assert_problem(send(client, route, ctx, chunks()), 413)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_body_of_exactly_one_mib_is_not_413(client: TestClient, ctx: Ctx, route: Route) -> None:
    # Within the size limit, so it reaches validation: the padded field is over its own limit.
    assert_validation(send(client, route, ctx, _sized_body(route, ctx, MIB)))


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_non_json_content_type_is_415(client: TestClient, ctx: Ctx, route: Route) -> None:
    raw = json.dumps(route.valid(ctx)).encode()
    for content_type in (
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        None,
    ):
        assert_problem(send(client, route, ctx, raw, content_type), 415, content_type)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_json_content_type_with_charset_is_accepted(client: TestClient, ctx: Ctx, route: Route) -> None:
    raw = json.dumps(route.valid(ctx)).encode()
    response = send(client, route, ctx, raw, "application/json; charset=utf-8")
    assert response.status_code == route.success, response.text


# ---- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nope"),
        ("GET", "/v1/auth"),
        ("POST", "/v1/auth/signup"),
        ("GET", "/v1/me/nope"),
        ("GET", "/v2/me"),
        ("GET", "/"),
    ],
)
def test_unknown_route_is_404(client: TestClient, ctx: Ctx, method: str, path: str) -> None:
    response = client.request(method, path, json={}, headers=bearer(ctx.tokens))
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/auth/register", "POST"),
        ("GET", "/v1/auth/login", "POST"),
        ("PUT", "/v1/auth/refresh", "POST"),
        ("GET", "/v1/auth/logout", "POST"),
        ("POST", "/v1/me", "GET"),
        ("PUT", "/v1/me", "GET"),
        ("DELETE", "/v1/health", "GET"),
    ],
)
def test_wrong_method_is_405(client: TestClient, ctx: Ctx, method: str, path: str, allowed: str) -> None:
    before = snapshot()
    response = client.request(method, path, headers=bearer(ctx.tokens))
    assert_problem(response, 405)
    assert allowed in response.headers["allow"]
    assert snapshot() == before


# ---- 5xx ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "route"),
    [("login_failures", ROUTES[1]), ("refresh_tokens", ROUTES[2]), ("refresh_tokens", ROUTES[0])],
    ids=["login", "refresh", "register"],
)
def test_server_error_body_has_no_traceback_or_sql(
    client: TestClient, ctx: Ctx, table: str, route: Route
) -> None:
    # Arrange a broken database (a table the route needs is gone) to force an unexpected error.
    get_database().execute(f"DROP TABLE {table}")
    response = send_json(client, route, ctx, route.valid(ctx))
    assert 500 <= response.status_code < 600
    assert_problem(response, response.status_code)
    text = response.text.lower()
    for leak in (
        "traceback",
        'file "',
        ".py",
        "no such table",
        "select",
        "insert",
        "sqlite",
        "libsql",
        table,
    ):
        assert leak not in text, (leak, response.text)
