"""Accounts over HTTP: register, login and lockout, GET/PATCH/DELETE /v1/me (API.md, Accounts)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from common.db import get_database
from tests.conftest import PASSWORD, bearer, register
from tests.problems import assert_problem, assert_unauthorized

TIME_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
USER_FIELDS = {
    "id",
    "email",
    "name",
    "picture_url",
    "google_linked",
    "calendar",
    "created_at",
    "updated_at",
}
WRONG = "definitely not the password"


# ---- helpers -----------------------------------------------------------------------------------


def login(client: TestClient, email: str = "ada@example.com", password: str = PASSWORD) -> Response:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def refresh(client: TestClient, token: str) -> Response:
    return client.post("/v1/auth/refresh", json={"refresh_token": token})


def me(client: TestClient, tokens: dict[str, Any]) -> Response:
    return client.get("/v1/me", headers=bearer(tokens))


def count(table: str) -> int:
    return int(get_database().execute(f"SELECT count(*) FROM {table}").scalar())


def parse_time(value: str) -> datetime:
    assert TIME_Z.match(value), value
    return datetime.fromisoformat(value)


def assert_user(user: dict[str, Any], *, email: str, name: str) -> None:
    assert USER_FIELDS <= user.keys()
    assert isinstance(user["id"], str) and user["id"]
    assert user["email"] == email
    assert user["name"] == name
    assert user["picture_url"] is None
    assert user["google_linked"] is False
    calendar = user["calendar"]
    assert calendar["connected"] is False
    assert calendar["status"] == "disconnected"
    assert calendar["last_synced_at"] is None
    assert calendar["interviews_found"] == 0
    created, updated = parse_time(user["created_at"]), parse_time(user["updated_at"])
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)
    assert updated >= created


def assert_token_response(client: TestClient, body: dict[str, Any], *, email: str, name: str) -> None:
    assert {"access_token", "token_type", "expires_in", "refresh_token", "user"} <= body.keys()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] == 900  # 15 minutes by default
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 32
    assert body["refresh_token"] != body["access_token"]
    assert_user(body["user"], email=email, name=name)
    # The access token verifies against the published JWKS and is about this user.
    jwks = client.get("/.well-known/jwks.json").json()
    key = jwt.PyJWK(jwks["keys"][0])
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["kid"] == jwks["keys"][0]["kid"]
    claims = jwt.decode(body["access_token"], key.key, algorithms=["ES256"], options={"verify_aud": False})
    assert claims["sub"] == body["user"]["id"]
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    for claim in ("iss", "aud", "jti", "sid"):
        assert claims[claim]


def table_names() -> list[str]:
    rows = get_database().execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows
    return [row[0] for row in rows if not row[0].startswith("sqlite_")]


def rows_referencing(user_id: str, email: str) -> dict[str, int]:
    """Rows in any table that name the user: a user_id column, users.id, or the email anywhere."""
    db = get_database()
    found: dict[str, int] = {}
    for table in table_names():
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")').rows]
        conditions: list[str] = []
        params: list[str] = []
        for column in columns:
            if column == "user_id" or (table == "users" and column == "id"):
                conditions.append(f'"{column}" = ?')
                params.append(user_id)
            conditions.append(f'CAST("{column}" AS TEXT) = ?')
            params.append(email)
        if conditions:
            sql = f'SELECT count(*) FROM "{table}" WHERE ' + " OR ".join(conditions)
            hits = int(db.execute(sql, params).scalar())
            if hits:
                found[table] = hits
    return found


# ---- register ----------------------------------------------------------------------------------


def test_register_returns_201_token_response(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"  # RFC 6749 5.1: token responses
    body = response.json()
    assert_token_response(client, body, email="ada@example.com", name="Ada")
    assert body["user"]["created_at"] == body["user"]["updated_at"]
    current = me(client, body)
    assert current.status_code == 200
    assert current.json() == body["user"]


def test_register_normalises_email_and_rejects_case_variant(client: TestClient) -> None:
    first = register(client, email="  Ada.Lovelace@Example.COM ")
    assert first["user"]["email"] == "ada.lovelace@example.com"
    users_before = count("users")
    for variant in ("ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", "Ada.Lovelace@example.com"):
        response = client.post(
            "/v1/auth/register", json={"email": variant, "password": PASSWORD, "name": "Other"}
        )
        assert_problem(response, 409)
    assert count("users") == users_before
    # Sign-in is case-insensitive too.
    assert login(client, email="ADA.lovelace@example.com").status_code == 200


def test_register_existing_email_is_409_and_changes_nothing(client: TestClient, user: dict[str, Any]) -> None:
    sessions, tokens = count("sessions"), count("refresh_tokens")
    response = client.post(
        "/v1/auth/register",
        json={"email": "ada@example.com", "password": "another password 123", "name": "Mallory"},
    )
    body = assert_problem(response, 409)
    assert "access_token" not in body and "refresh_token" not in body
    assert (count("users"), count("sessions"), count("refresh_tokens")) == (1, sessions, tokens)
    # The original account is untouched: same name, same password.
    assert me(client, user).json()["name"] == "Ada"
    assert login(client).status_code == 200
    assert login(client, password="another password 123").status_code == 401


def test_parallel_registrations_of_one_email_create_one_account(client: TestClient) -> None:
    attempts = 5
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        barrier.wait()
        payload = {"email": "ada@example.com", "password": PASSWORD, "name": f"Ada {index}"}
        status = client.post("/v1/auth/register", json=payload).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * (attempts - 1)
    assert (count("users"), count("sessions"), count("refresh_tokens")) == (1, 1, 1)


@pytest.mark.parametrize(("password", "status"), [("x" * 9, 422), ("x" * 10, 201)])
def test_register_password_minimum_length(client: TestClient, password: str, status: int) -> None:
    response = client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": password, "name": "Ada"}
    )
    assert response.status_code == status, response.text
    if status == 422:
        body = assert_problem(response, 422)
        assert ["body", "password"] in [err["loc"] for err in body["errors"]]
        assert count("users") == 0
    else:
        assert login(client, password=password).status_code == 200


@pytest.mark.parametrize("missing", ["name", "email", "password"])
def test_register_missing_field_is_422(client: TestClient, missing: str) -> None:
    payload = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    del payload[missing]
    body = assert_problem(client.post("/v1/auth/register", json=payload), 422)
    assert ["body", missing] in [err["loc"] for err in body["errors"]]
    assert all(isinstance(err["msg"], str) and err["msg"] for err in body["errors"])
    assert count("users") == 0


def test_register_accepts_name_and_email_at_300_chars(client: TestClient) -> None:
    email = "a" * (300 - len("@example.com")) + "@example.com"
    assert len(email) == 300
    tokens = register(client, email=email, name="n" * 300)
    assert tokens["user"]["email"] == email
    assert tokens["user"]["name"] == "n" * 300


def test_secrets_are_stored_only_as_hashes(client: TestClient, user: dict[str, Any]) -> None:
    db = get_database()
    stored = db.execute("SELECT password_hash FROM users WHERE id = ?", (user["user"]["id"],)).scalar()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    for table in table_names():
        for row in db.execute(f'SELECT * FROM "{table}"').rows:
            text = " ".join(str(value) for value in row)
            assert user["refresh_token"] not in text, table
            assert PASSWORD not in text, table


# ---- login -------------------------------------------------------------------------------------


def test_login_returns_new_session(client: TestClient, user: dict[str, Any]) -> None:
    response = login(client)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert_token_response(client, body, email="ada@example.com", name="Ada")
    assert body["user"] == user["user"]
    assert body["refresh_token"] != user["refresh_token"]
    claims = [jwt.decode(t["access_token"], options={"verify_signature": False}) for t in (user, body)]
    assert claims[0]["sid"] != claims[1]["sid"]
    assert count("sessions") == 2
    assert me(client, user).status_code == 200
    assert me(client, body).status_code == 200


def test_login_failure_body_is_the_same_for_unknown_email(client: TestClient, user: dict[str, Any]) -> None:
    wrong_password = login(client, password=WRONG)
    unknown_email = login(client, email="nobody@example.com", password=WRONG)
    first = assert_problem(wrong_password, 401)
    second = assert_problem(unknown_email, 401)
    assert first == second
    assert wrong_password.content == unknown_email.content
    assert set(wrong_password.headers) - {"date"} == set(unknown_email.headers) - {"date"}
    assert "access_token" not in first


def _assert_locked(response: Response) -> int:
    assert_problem(response, 429)
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 0 < int(retry_after) <= 900
    return int(retry_after)


def test_five_failures_lock_the_email_even_for_the_right_password(
    client: TestClient, user: dict[str, Any]
) -> None:
    for _ in range(5):
        assert_problem(login(client, password=WRONG), 401)
    sessions = count("sessions")
    _assert_locked(login(client))
    _assert_locked(login(client, password=WRONG))
    assert count("sessions") == sessions
    # Other emails are unaffected, including their own failures.
    register(client, email="bob@example.com", name="Bob")
    assert login(client, email="bob@example.com").status_code == 200
    assert_problem(login(client, email="bob@example.com", password=WRONG), 401)
    # The existing session of the locked account keeps working.
    assert me(client, user).status_code == 200


def test_lockout_ignores_email_case(client: TestClient, user: dict[str, Any]) -> None:
    for variant in ("ADA@example.com", "ada@EXAMPLE.com", "Ada@Example.Com", "ada@example.com", "ADA@X.IO"):
        login(client, email=variant, password=WRONG)
    # Four of the five failures were for ada@example.com: one more is still answered normally.
    assert_problem(login(client, password=WRONG), 401)
    _assert_locked(login(client))


def test_unknown_email_is_locked_like_a_known_one(client: TestClient) -> None:
    for _ in range(5):
        assert_problem(login(client, email="ghost@example.com", password=WRONG), 401)
    _assert_locked(login(client, email="ghost@example.com", password=WRONG))


def test_successful_login_clears_the_failure_count(client: TestClient, user: dict[str, Any]) -> None:
    for _ in range(4):
        assert_problem(login(client, password=WRONG), 401)
    assert login(client).status_code == 200
    for _ in range(4):
        assert_problem(login(client, password=WRONG), 401)
    assert login(client).status_code == 200


def test_lockout_ends_when_failures_age_out_of_the_window(client: TestClient, user: dict[str, Any]) -> None:
    for _ in range(5):
        login(client, password=WRONG)
    _assert_locked(login(client))
    db = get_database()
    ten_minutes_ago = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    db.execute("UPDATE login_failures SET failed_at = ?", (ten_minutes_ago,))
    retry_after = _assert_locked(login(client))
    assert 290 <= retry_after <= 301  # the oldest failure counted ages out in about 5 minutes
    sixteen_minutes_ago = (datetime.now(UTC) - timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    db.execute("UPDATE login_failures SET failed_at = ?", (sixteen_minutes_ago,))
    assert login(client).status_code == 200


def test_parallel_failures_cannot_exceed_the_lockout_limit(client: TestClient, user: dict[str, Any]) -> None:
    attempts = 10
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        status = login(client, password=WRONG).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == attempts
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 5, sorted(statuses)


# ---- /v1/me ------------------------------------------------------------------------------------


def test_get_me_returns_the_user(client: TestClient, user: dict[str, Any]) -> None:
    response = me(client, user)
    assert response.status_code == 200
    assert_user(response.json(), email="ada@example.com", name="Ada")
    assert response.json() == user["user"]
    other = register(client, email="bob@example.com", name="Bob")
    assert me(client, other).json()["email"] == "bob@example.com"


def test_patch_me_renames_and_bumps_updated_at(client: TestClient, user: dict[str, Any]) -> None:
    before = user["user"]
    response = client.patch("/v1/me", json={"name": "Ada King"}, headers=bearer(user))
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["name"] == "Ada King"
    assert after["id"] == before["id"] and after["email"] == before["email"]
    assert after["created_at"] == before["created_at"]
    assert parse_time(after["updated_at"]) > parse_time(before["updated_at"])
    assert me(client, user).json() == after
    assert login(client).json()["user"]["name"] == "Ada King"


def test_patch_me_with_empty_object_changes_nothing(client: TestClient, user: dict[str, Any]) -> None:
    response = client.patch("/v1/me", json={}, headers=bearer(user))
    assert response.status_code == 200, response.text
    assert response.json() == user["user"]
    assert me(client, user).json() == user["user"]


def test_patch_me_null_name_is_422(client: TestClient, user: dict[str, Any]) -> None:
    body = assert_problem(client.patch("/v1/me", json={"name": None}, headers=bearer(user)), 422)
    assert ["body", "name"] in [err["loc"] for err in body["errors"]]
    assert me(client, user).json() == user["user"]


@pytest.mark.parametrize(
    "payload",
    [
        {"nickname": "x"},
        {"name": "Ada", "is_admin": True},
        {"email": "mallory@example.com"},
        {"id": "someone-else"},
        {"user_id": "someone-else"},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"updated_at": "2020-01-01T00:00:00Z"},
        {"google_linked": True},
        {"picture_url": "https://evil.example/x.png"},
        {"password": "a brand new password"},
        {"password_hash": "$argon2id$forged"},
    ],
)
def test_patch_me_rejects_unknown_and_read_only_fields(
    client: TestClient, user: dict[str, Any], payload: dict[str, Any]
) -> None:
    assert_problem(client.patch("/v1/me", json=payload, headers=bearer(user)), 422)
    assert me(client, user).json() == user["user"]
    assert login(client).status_code == 200


def test_patch_me_requires_a_token(client: TestClient, user: dict[str, Any]) -> None:
    assert_unauthorized(client.patch("/v1/me", json={"name": "Eve"}))
    assert me(client, user).json()["name"] == "Ada"


def test_delete_me_removes_the_account_and_all_its_rows(client: TestClient, user: dict[str, Any]) -> None:
    user_id = user["user"]["id"]
    second = login(client).json()
    rotated = refresh(client, second["refresh_token"]).json()
    login(client, password=WRONG)  # a failure row for this email
    bob = register(client, email="bob@example.com", name="Bob")
    login(client, email="bob@example.com", password=WRONG)
    assert rows_referencing(user_id, "ada@example.com")  # the scan does find the user's rows
    failures_before = count("login_failures")

    response = client.delete("/v1/me", headers=bearer(user))
    assert response.status_code == 204
    assert response.content == b""

    assert rows_referencing(user_id, "ada@example.com") == {}
    assert count("login_failures") == failures_before - 1
    # Every token of every session of the account stops working at once.
    for tokens in (user, second, rotated):
        assert_unauthorized(me(client, tokens))
    for token in (user["refresh_token"], rotated["refresh_token"]):
        assert_unauthorized(refresh(client, token))
    assert_unauthorized(client.delete("/v1/me", headers=bearer(user)))
    assert_problem(login(client), 401)
    # Bob is untouched.
    assert me(client, bob).status_code == 200
    assert rows_referencing(bob["user"]["id"], "bob@example.com")
    assert refresh(client, bob["refresh_token"]).status_code == 200
    # The email is free again, for a new and empty account.
    again = register(client, email="ada@example.com", name="Ada Again")
    assert again["user"]["id"] != user_id
    assert_unauthorized(me(client, user))


def test_delete_me_requires_a_token(client: TestClient, user: dict[str, Any]) -> None:
    assert_unauthorized(client.delete("/v1/me"))
    assert me(client, user).status_code == 200
