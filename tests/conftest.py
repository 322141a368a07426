"""Shared fixtures: every test gets its own data dir, database, keys and fresh caches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.crypto import get_sealer
from common.cursors import get_cursor_codec
from common.db import get_database
from common.keys import derived_key
from common.observability import get_logger
from common.queue import get_job_queue
from common.settings import get_settings
from common.tokens import get_token_service

pytest_plugins = ("tests.remote_backend",)  # --db=remote: the suite against the Hrana test server

PASSWORD = "correct horse battery staple"


def _clear_prep_model() -> None:
    # Imported lazily: the prep function's module pulls in the anthropic SDK only when tests use it.
    import sys

    llm = sys.modules.get("prep.llm")
    if llm is not None:
        llm.get_prep_model.cache_clear()
    google = sys.modules.get("auth.google")
    if google is not None:
        google.get_google_client.cache_clear()


def reset_caches() -> None:
    get_database.cache_clear()
    get_settings.cache_clear()
    get_token_service.cache_clear()
    get_logger.cache_clear()
    derived_key.cache_clear()
    get_cursor_codec.cache_clear()
    get_job_queue.cache_clear()
    get_sealer.cache_clear()
    _clear_prep_model()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in (
        "DATABASE_URL",
        "JWT_PRIVATE_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "PUBLIC_BASE_URL",
        "AWS_LAMBDA_FUNCTION_NAME",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "PREP_QUEUE_URL",
        "PREP_MODEL",
        "PREP_RATE_LIMIT_PER_HOUR",
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "GOOGLE_DISCOVERY_URL",
        "GOOGLE_CALENDAR_API_URL",
        "ALLOWED_REDIRECT_URIS",
        "CORS_ALLOW_ORIGINS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    reset_caches()
    yield tmp_path / "data"
    if get_database.cache_info().currsize:
        get_database().close()
    reset_caches()


@pytest.fixture
def app() -> Any:
    from local.app import build_app

    return build_app()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def register(client: TestClient, email: str = "ada@example.com", name: str = "Ada") -> dict[str, Any]:
    response = client.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def user(client: TestClient) -> dict[str, Any]:
    return register(client)


@pytest.fixture
def fake_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fake Anthropic Messages API on loopback, configured as the AI provider (the real SDK talks to it)."""
    from tests.fakes.anthropic_server import start_fake_anthropic

    with start_fake_anthropic(api_key="test-anthropic-key") as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        reset_caches()
        yield fake
