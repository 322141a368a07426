"""The OpenAPI document: every route, OpenAPI 3.1, and the auth function's bundled copy is current."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from auth.handler import OPENAPI_DOCUMENT
from auth.handler import app as auth_app
from local.openapi import render

AUTH_ROUTES = {
    ("get", "/v1/health"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/me"),
    ("patch", "/v1/me"),
    ("delete", "/v1/me"),
}


def _operations(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {(method, path) for path, item in paths.items() for method in item}


def test_served_document_lists_every_route(client: TestClient) -> None:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert AUTH_ROUTES <= _operations(document)
    served_routes = {
        (method.lower(), route.path)
        for route in client.app.routes  # type: ignore[attr-defined]
        for method in getattr(route, "methods", ()) or ()
        if getattr(route, "include_in_schema", False)
    }
    assert served_routes <= _operations(document)
    assert "BearerAuth" in document["components"]["securitySchemes"]


def test_bundled_document_is_current() -> None:
    assert OPENAPI_DOCUMENT.read_text() == render(), "run `make openapi` and commit the result"


def test_auth_function_serves_the_bundled_document() -> None:
    with TestClient(auth_app) as client:
        served = client.get("/v1/openapi.json").json()
    assert served == json.loads(OPENAPI_DOCUMENT.read_text())
