"""Sessions over HTTP: refresh rotation, reuse detection, expiry and logout (API.md, Accounts)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from common.db import get_database
from tests.conftest import PASSWORD, bearer, register
from tests.problems import assert_unauthorized


def login(client: TestClient, email: str = "ada@example.com") -> dict[str, Any]:
    response = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(client: TestClient, token: str) -> Response:
    return client.post("/v1/auth/refresh", json={"refresh_token": token})


def me(client: TestClient, tokens: dict[str, Any]) -> Response:
    return client.get("/v1/me", headers=bearer(tokens))


def logout(client: TestClient, tokens: dict[str, Any], refresh_token: str | None = None) -> Response:
    if refresh_token is None:
        return client.post("/v1/auth/logout", headers=bearer(tokens))
    return client.post("/v1/auth/logout", headers=bearer(tokens), json={"refresh_token": refresh_token})


def session_id(tokens: dict[str, Any]) -> str:
    return str(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"])


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def assert_alive(client: TestClient, tokens: dict[str, Any]) -> dict[str, Any]:
    """The session's access token works and its refresh token rotates; returns the new token pair."""
    assert me(client, tokens).status_code == 200
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_dead(client: TestClient, tokens: dict[str, Any]) -> None:
    assert_unauthorized(me(client, tokens))
    assert_unauthorized(refresh(client, tokens["refresh_token"]))


# ---- refresh -----------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(client: TestClient, user: dict[str, Any]) -> None:
    response = refresh(client, user["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"  # RFC 6749 5.1: token responses
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"] == user["user"]
    assert body["refresh_token"] != user["refresh_token"]
    assert body["access_token"] != user["access_token"]
    assert session_id(body) == session_id(user)  # same session, next token of the family
    assert me(client, body).json()["id"] == user["user"]["id"]
    # The old refresh token is spent.
    assert_unauthorized(refresh(client, user["refresh_token"]))


def test_refresh_chain_keeps_working(client: TestClient, user: dict[str, Any]) -> None:
    tokens = user
    seen = {user["refresh_token"]}
    for _ in range(5):
        tokens = assert_alive(client, tokens)
        assert tokens["refresh_token"] not in seen
        seen.add(tokens["refresh_token"])
    assert me(client, tokens).status_code == 200


def test_reusing_a_spent_refresh_token_revokes_the_whole_session(
    client: TestClient, user: dict[str, Any]
) -> None:
    other_session = login(client)
    second = refresh(client, user["refresh_token"]).json()
    third = refresh(client, second["refresh_token"]).json()
    assert me(client, third).status_code == 200

    assert_unauthorized(refresh(client, user["refresh_token"]))  # reuse: the first token again

    # The newest refresh token and every access token of that session are dead now.
    assert_unauthorized(refresh(client, third["refresh_token"]))
    for tokens in (user, second, third):
        assert_unauthorized(me(client, tokens))
    # Another session of the same user is not part of the family.
    assert_alive(client, other_session)


def test_reuse_of_a_middle_token_also_revokes_the_session(client: TestClient, user: dict[str, Any]) -> None:
    second = refresh(client, user["refresh_token"]).json()
    third = refresh(client, second["refresh_token"]).json()
    assert_unauthorized(refresh(client, second["refresh_token"]))
    assert_dead(client, third)


@pytest.mark.parametrize(
    "token",
    [
        "rt_" + secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        "x",
        "' OR 1=1 --",
    ],
)
def test_unknown_refresh_token_is_401(client: TestClient, user: dict[str, Any], token: str) -> None:
    body = assert_unauthorized(refresh(client, token))
    assert "access_token" not in body
    assert_alive(client, user)


def test_access_token_is_not_a_refresh_token(client: TestClient, user: dict[str, Any]) -> None:
    # An access token is over the refresh-token length limit (422) or unknown (401): never accepted.
    response = refresh(client, user["access_token"])
    assert response.status_code in (401, 422)
    assert_alive(client, user)


def test_expired_refresh_token_is_401(client: TestClient, user: dict[str, Any]) -> None:
    assert_alive(client, login(client))  # sanity: a fresh one refreshes
    past = iso(datetime.now(UTC) - timedelta(seconds=1))
    get_database().execute(
        "UPDATE refresh_tokens SET expires_at = ? WHERE session_id = ?", (past, session_id(user))
    )
    assert_unauthorized(refresh(client, user["refresh_token"]))


def test_refresh_token_just_before_expiry_still_works(client: TestClient, user: dict[str, Any]) -> None:
    soon = iso(datetime.now(UTC) + timedelta(seconds=30))
    get_database().execute(
        "UPDATE refresh_tokens SET expires_at = ? WHERE session_id = ?", (soon, session_id(user))
    )
    assert refresh(client, user["refresh_token"]).status_code == 200


def test_expired_session_ends_access_and_refresh(client: TestClient, user: dict[str, Any]) -> None:
    other = login(client)
    past = iso(datetime.now(UTC) - timedelta(seconds=1))
    get_database().execute("UPDATE sessions SET expires_at = ? WHERE id = ?", (past, session_id(user)))
    assert_dead(client, user)
    assert_alive(client, other)


def test_refresh_token_ttl_setting_is_honoured(monkeypatch: pytest.MonkeyPatch, isolated_env: Any) -> None:
    monkeypatch.setenv("REFRESH_TOKEN_TTL_SECONDS", "300")
    from local.app import build_app

    with TestClient(build_app(), raise_server_exceptions=False) as client:
        tokens = register(client)
        rotated = refresh(client, tokens["refresh_token"]).json()
        rows = get_database().execute(
            "SELECT created_at, expires_at FROM refresh_tokens WHERE session_id = ?", (session_id(tokens),)
        )
        assert len(rows.rows) == 2
        for created, expires in rows.rows:
            lifetime = datetime.fromisoformat(expires) - datetime.fromisoformat(created)
            assert timedelta(seconds=299) <= lifetime <= timedelta(seconds=301)
        assert me(client, rotated).status_code == 200


# ---- logout ------------------------------------------------------------------------------------


def test_logout_ends_the_session(client: TestClient, user: dict[str, Any]) -> None:
    other = login(client)
    response = logout(client, user)
    assert response.status_code == 204
    assert response.content == b""
    assert_dead(client, user)
    assert_alive(client, other)


def test_logout_with_own_refresh_token_and_with_empty_object(
    client: TestClient, user: dict[str, Any]
) -> None:
    assert logout(client, user, user["refresh_token"]).status_code == 204
    assert_dead(client, user)
    second = login(client)
    response = client.post("/v1/auth/logout", headers=bearer(second), json={})
    assert response.status_code == 204
    assert_dead(client, second)


def test_logout_requires_a_bearer_token(client: TestClient, user: dict[str, Any]) -> None:
    assert_unauthorized(client.post("/v1/auth/logout"))
    # A refresh token alone does not authenticate a logout, and nothing is revoked.
    assert_unauthorized(client.post("/v1/auth/logout", json={"refresh_token": user["refresh_token"]}))
    assert_unauthorized(
        client.post(
            "/v1/auth/logout",
            headers={"Authorization": f"Bearer {user['refresh_token']}"},
            json={"refresh_token": user["refresh_token"]},
        )
    )
    assert_alive(client, user)


def test_logout_twice_is_401(client: TestClient, user: dict[str, Any]) -> None:
    assert logout(client, user).status_code == 204
    assert_unauthorized(logout(client, user))


def test_logout_with_another_own_session_revokes_both(client: TestClient, user: dict[str, Any]) -> None:
    second = login(client)
    third = login(client)
    assert logout(client, user, second["refresh_token"]).status_code == 204
    assert_dead(client, user)
    assert_dead(client, second)
    assert_alive(client, third)


def test_logout_with_a_rotated_token_of_another_own_session(client: TestClient, user: dict[str, Any]) -> None:
    second = login(client)
    rotated = refresh(client, second["refresh_token"]).json()
    assert logout(client, user, rotated["refresh_token"]).status_code == 204
    assert_dead(client, rotated)


def test_logout_cannot_revoke_another_users_session(client: TestClient, user: dict[str, Any]) -> None:
    bob = register(client, email="bob@example.com", name="Bob")
    assert logout(client, user, bob["refresh_token"]).status_code == 204
    assert_dead(client, user)
    assert_alive(client, bob)


def test_logout_with_unknown_refresh_token_still_ends_own_session(
    client: TestClient, user: dict[str, Any]
) -> None:
    other = login(client)
    assert logout(client, user, "rt_" + secrets.token_urlsafe(32)).status_code == 204
    assert_dead(client, user)
    assert_alive(client, other)
