"""Security headers on every response of every route (issue 10): `X-Content-Type-Options: nosniff`,
`Cache-Control: no-store` (authenticated and token responses; only the JWKS may be cached), HSTS when
served over https (PUBLIC_BASE_URL, the request's scheme, or API Gateway's X-Forwarded-Proto), CORS only
for the configured origins, and a 405 whose `Allow` lists every method of the path (RFC 9110 15.5.6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from auth.handler import OPENAPI_DOCUMENT
from local.app import build_app
from tests.conftest import bearer, register
from tests.records import case, create_opportunity

DOCUMENT = json.loads(OPENAPI_DOCUMENT.read_text())
# Session-ending operations last, so every other one runs signed in.
ENDING = {("POST", "/v1/auth/logout"), ("DELETE", "/v1/me")}
OPERATIONS = sorted(
    ((method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item),
    key=lambda operation: (operation in ENDING, operation),
)
CACHEABLE = {("GET", "/.well-known/jwks.json")}  # public keys: `Cache-Control: public, ...`


def _every_route(client: TestClient, headers: dict[str, str], some_id: str) -> Iterator[tuple[str, Response]]:
    for method, path in OPERATIONS:
        url = path.replace("{id}", some_id)
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        yield f"{method} {path}", client.request(method, url, headers=headers, json=body)


def test_every_route_sends_nosniff_and_no_store(client: TestClient) -> None:
    tokens = register(client)
    opportunity = create_opportunity(client, bearer(tokens))
    failures: list[str] = []
    statuses = set()
    for label, response in _every_route(client, bearer(tokens), opportunity["id"]):
        statuses.add(response.status_code)
        with case(failures, label):
            assert response.headers.get("x-content-type-options") == "nosniff"
            if tuple(label.split(" ", 1)) in CACHEABLE:
                assert response.headers["cache-control"].startswith("public")
            else:
                assert response.headers.get("cache-control") == "no-store", response.headers
            assert "strict-transport-security" not in response.headers  # plain http here
    assert not failures, "\n".join(failures)
    assert {200, 204, 404, 422} <= statuses  # successes and errors alike were checked


def test_token_responses_are_not_cacheable(client: TestClient) -> None:
    payload = {"email": "ada@example.com", "password": "correct horse battery staple", "name": "Ada"}
    registered = client.post("/v1/auth/register", json=payload)
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": registered.json()["refresh_token"]})
    for response in (registered, refreshed):
        assert response.status_code in {200, 201}
        assert response.headers["cache-control"] == "no-store"  # RFC 6749 5.1
        assert response.headers["x-content-type-options"] == "nosniff"


def test_anonymous_and_error_responses_are_not_cacheable_either(client: TestClient) -> None:
    for response in (
        client.get("/v1/me"),
        client.get("/v1/me", headers={"Authorization": "Bearer nope"}),
        client.post("/v1/auth/login", json={"email": "a@example.com", "password": "wrong password"}),
        client.get("/v1/nowhere"),
        client.request("TRACE", "/v1/opportunities"),
        client.post("/v1/opportunities", content=b"{", headers={"content-type": "application/json"}),
    ):
        assert response.status_code >= 400
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("base_url", "extra"),
    [
        ("https://api.example.com", {}),  # the request itself came over https
        ("http://testserver", {"x-forwarded-proto": "https"}),  # API Gateway terminated TLS
    ],
)
def test_hsts_when_the_request_came_over_https(app: Any, base_url: str, extra: dict[str, str]) -> None:
    with TestClient(app, base_url=base_url, raise_server_exceptions=False) as client:
        for response in (client.get("/v1/health", headers=extra), client.get("/v1/me", headers=extra)):
            hsts = response.headers["strict-transport-security"]
            assert "max-age=63072000" in hsts and "includeSubDomains" in hsts
        plain = client.get("/v1/health", headers={"x-forwarded-proto": "http"})
        assert ("strict-transport-security" in plain.headers) == base_url.startswith("https")


def test_hsts_on_every_route_when_the_public_url_is_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com")
    with TestClient(build_app(), raise_server_exceptions=False) as client:
        tokens = register(client)
        for label, response in _every_route(client, bearer(tokens), "0" * 32):
            assert "max-age=" in response.headers.get("strict-transport-security", ""), label


def test_cors_comes_from_settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example.com")
    preflight = {"access-control-request-method": "GET", "access-control-request-headers": "authorization"}
    with TestClient(build_app(), raise_server_exceptions=False) as client:
        for origin in (
            "https://evil.example",
            "http://localhost:3000",
            "null",
            "https://app.example.com.evil",
        ):
            refused = client.options("/v1/me", headers={"origin": origin, **preflight})
            assert refused.status_code == 400, origin
            assert "access-control-allow-origin" not in refused.headers
            assert (
                "access-control-allow-origin"
                not in client.get("/v1/health", headers={"origin": origin}).headers
            )
        allowed = client.options("/v1/me", headers={"origin": "https://app.example.com", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert allowed.headers["access-control-allow-credentials"] == "true"


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    documented: dict[str, set[str]] = {}
    for method, path in OPERATIONS:
        documented.setdefault(path, set()).add(method)
    for path, methods in documented.items():
        url = path.replace("{id}", "0" * 32)
        response = client.request("TRACE", url)
        assert response.status_code == 405, path
        assert response.headers["content-type"] == "application/problem+json"
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert allowed == methods, (path, allowed, methods)
