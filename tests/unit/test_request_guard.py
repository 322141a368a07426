"""The request guard and app factory: body limits, media type, security headers, CORS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from common.web import MAX_BODY_BYTES
from local.app import build_app


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"email": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}'


def test_streamed_body_over_the_limit_gets_413_without_content_length(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/login", content=_chunks(MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413


def test_declared_length_over_the_limit_is_refused_before_reading(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/login",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(MAX_BODY_BYTES + 1)},
    )
    assert response.status_code == 413


def test_body_at_the_limit_is_read_and_validated(client: TestClient) -> None:
    padding = MAX_BODY_BYTES - len(b'{"email": "", "password": "x"}')
    body = b'{"email": "' + b"a" * padding + b'", "password": "x"}'
    assert len(body) == MAX_BODY_BYTES
    response = client.post("/v1/auth/login", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422  # reached validation: the email is too long


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_non_json_bodies_get_415(client: TestClient, media: str) -> None:
    response = client.post("/v1/auth/login", content=b'{"a": 1}', headers={"content-type": media})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_json_with_charset_and_problem_json_suffix_are_accepted(client: TestClient) -> None:
    for media in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.post("/v1/auth/login", content=b"{}", headers={"content-type": media})
        assert response.status_code == 422, media


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/v1/health"), client.get("/v1/nowhere"), client.get("/v1/me")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers  # served over http here
    assert client.get("/.well-known/jwks.json").headers["cache-control"].startswith("public")


def test_hsts_when_served_over_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com")
    with TestClient(build_app(), raise_server_exceptions=False) as https_client:
        assert "max-age=" in https_client.get("/v1/health").headers["strict-transport-security"]


def test_cors_allows_only_configured_origins(client: TestClient) -> None:
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}
    allowed = client.options("/v1/auth/login", headers={"origin": "http://localhost:3000", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    denied = client.options("/v1/auth/login", headers={"origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers
    assert denied.status_code == 400
    assert denied.headers["content-type"] == "application/problem+json"
    assert "origin" in denied.json()["detail"]
    simple = client.get("/v1/health", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_unexpected_errors_are_generic_problems(client: TestClient, isolated_env: object) -> None:
    from common.db import get_database

    get_database().execute("DROP TABLE sessions")  # break the schema under a running app
    response = client.post(
        "/v1/auth/refresh",
        json={"refresh_token": "rt_whatever"},
        headers={"content-type": "application/json", "origin": "http://localhost:3000"},
    )
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"  # readable by the page
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["status"] == 500
    text = response.text
    assert "Traceback" not in text and "sessions" not in text and "SELECT" not in text


# Every CORS-related header of a response, exactly, for browsers' requests of each kind: pins what the
# request guard answers (it does CORS itself, in its one `send` wrapper; it was Starlette's CORSMiddleware).
ALLOWED = "http://localhost:3000"  # the default CORS_ALLOW_ORIGINS: the origin of ALLOWED_REDIRECT_URIS
EXPOSED = "Retry-After, WWW-Authenticate"
PREFLIGHT_VARY = ", ".join(
    (
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        "Access-Control-Request-Private-Network",
    )
)
PREFLIGHT = {
    "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
    "access-control-max-age": "600",
    "access-control-allow-headers": "Accept, Accept-Language, Authorization, Content-Language, Content-Type",
    "access-control-allow-credentials": "true",
}
_CORS = ("access-control-", "vary")


def _cors_headers(response: Response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        if name.lower().startswith(_CORS):
            found.setdefault(name.lower(), []).append(value)
    return found


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "expected"),
    [
        ("GET", "/v1/health", {}, 200, {"vary": ["Origin"]}),
        (
            "GET",
            "/v1/health",
            {"origin": ALLOWED},
            200,
            {
                "access-control-allow-credentials": ["true"],
                "access-control-expose-headers": [EXPOSED],
                "access-control-allow-origin": [ALLOWED],
                "vary": ["Origin"],
            },
        ),
        (  # Starlette's behaviour, kept: the simple headers go out to any origin, never Allow-Origin
            "GET",
            "/v1/health",
            {"origin": "https://evil.example"},
            200,
            {
                "access-control-allow-credentials": ["true"],
                "access-control-expose-headers": [EXPOSED],
                "vary": ["Origin"],
            },
        ),
        (
            "GET",
            "/v1/me",
            {"origin": ALLOWED},
            401,
            {
                "access-control-allow-credentials": ["true"],
                "access-control-expose-headers": [EXPOSED],
                "access-control-allow-origin": [ALLOWED],
                "vary": ["Origin"],
            },
        ),
        ("GET", "/v1/nowhere", {}, 404, {"vary": ["Origin"]}),
        (  # OPTIONS without Access-Control-Request-Method is no preflight: the app answers it
            "OPTIONS",
            "/v1/me",
            {"origin": ALLOWED},
            405,
            {
                "access-control-allow-credentials": ["true"],
                "access-control-expose-headers": [EXPOSED],
                "access-control-allow-origin": [ALLOWED],
                "vary": ["Origin"],
            },
        ),
        ("OPTIONS", "/v1/me", {"access-control-request-method": "GET"}, 405, {"vary": ["Origin"]}),
        (
            "OPTIONS",
            "/v1/me",
            {
                "origin": ALLOWED,
                "access-control-request-method": "GET",
                "access-control-request-headers": "Authorization",
            },
            200,
            {
                "vary": [PREFLIGHT_VARY],
                **{k: [v] for k, v in PREFLIGHT.items()},
                "access-control-allow-origin": [ALLOWED],
            },
        ),
        (  # a refused preflight is a problem, with the Access-Control-* headers of the refusal and no Vary
            "OPTIONS",
            "/v1/me",
            {"origin": "https://evil.example", "access-control-request-method": "GET"},
            400,
            {k: [v] for k, v in PREFLIGHT.items()},
        ),
        (
            "OPTIONS",
            "/v1/me",
            {
                "origin": ALLOWED,
                "access-control-request-method": "TRACE",
                "access-control-request-headers": "x-a",
            },
            400,
            {**{k: [v] for k, v in PREFLIGHT.items()}, "access-control-allow-origin": [ALLOWED]},
        ),
        (
            "OPTIONS",
            "/v1/me",
            {
                "origin": ALLOWED,
                "access-control-request-method": "GET",
                "access-control-request-private-network": "true",
            },
            400,
            {**{k: [v] for k, v in PREFLIGHT.items()}, "access-control-allow-origin": [ALLOWED]},
        ),
    ],
)
def test_cors_headers_exactly(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    expected: dict[str, list[str]],
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == status
    assert _cors_headers(response) == expected
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    if status == 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/cors-refused")
        assert problem["detail"].startswith("Disallowed CORS ")
    elif method == "OPTIONS" and status == 200:
        assert response.text == "OK"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"content-type": "application/json"}, b"x" * (1024 * 1024 + 1), 413),
        ({"content-type": "text/plain"}, b"company=Initech", 415),
        ({"content-type": "application/json", "content-length": "twelve"}, b"{}", 400),
    ],
)
def test_the_guards_own_refusals_carry_cors_for_an_allowed_origin(
    client: TestClient, headers: dict[str, str], body: bytes, status: int
) -> None:
    # Without them a page on an allowed origin saw a CORS failure, not the problem telling it why.
    for origin, expected in (
        (
            ALLOWED,
            {
                "access-control-allow-credentials": ["true"],
                "access-control-expose-headers": [EXPOSED],
                "access-control-allow-origin": [ALLOWED],
                "vary": ["Origin"],
            },
        ),
        (None, {"vary": ["Origin"]}),
    ):
        sent = {**headers, **({"origin": origin} if origin else {})}
        response = client.post("/v1/opportunities", headers=sent, content=body)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert _cors_headers(response) == expected
        assert response.headers["x-content-type-options"] == "nosniff"


def test_cors_refused_preflight_names_every_failure(client: TestClient) -> None:
    response = client.options(
        "/v1/me",
        headers={
            "origin": "https://evil.example",
            "access-control-request-method": "TRACE",
            "access-control-request-headers": "authorization, x-other",
            "access-control-request-private-network": "true",
        },
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Disallowed CORS origin, method, headers, private-network"
