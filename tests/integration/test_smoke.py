from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer


def test_health(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_me_after_register(client: TestClient, user: dict[str, Any]) -> None:
    response = client.get("/v1/me", headers=bearer(user))
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"
