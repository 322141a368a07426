"""Account deletion reaches every record: no row of the user in any table, and no trace of their text
in the database files (the full-text index included)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from common.db import get_database
from tests.conftest import bearer, register

# Distinctive words that appear nowhere else, one per kind of record, so a leftover is attributable.
MARKERS = {
    "company": "Quuxworthy Dynamics",
    "role": "Flibbertigibbet Architect",
    "job_description": "Responsibilities include zyzzogeton wrangling",
    "tag": "snarfblat",
    "interview": "Xanthippe Panel",
    "debrief": "discussed the grommetwhistle incident",
    "contact": "Ottoline Brimblecombe",
    "note": "remember the kerfufflement",
    "activity": "phoned about the wibblequest",
    "resume": "Ten years of plonkerdoodle engineering",
    "linkedin": "Seasoned jabberwockian",
}


def _tables() -> list[str]:
    rows = get_database().execute("SELECT name FROM sqlite_master WHERE type = 'table'").rows
    return [row[0] for row in rows if not row[0].startswith("sqlite_")]


def _rows_of(user_id: str) -> dict[str, int]:
    db = get_database()
    found = {}
    for table in _tables():
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")').rows]
        if "user_id" in columns:
            hits = int(db.execute(f'SELECT count(*) FROM "{table}" WHERE user_id = ?', (user_id,)).scalar())
            if hits:
                found[table] = hits
    return found


def _fill(client: TestClient, headers: dict[str, str]) -> None:
    opportunity = client.post(
        "/v1/opportunities",
        json={
            "company": MARKERS["company"],
            "role": MARKERS["role"],
            "job_description": MARKERS["job_description"],
            "tags": [MARKERS["tag"]],
        },
        headers=headers,
    ).json()
    client.patch(f"/v1/opportunities/{opportunity['id']}", json={"status": "applied"}, headers=headers)
    interview = client.post(
        "/v1/interviews",
        json={
            "opportunity_id": opportunity["id"],
            "title": MARKERS["interview"],
            "debrief": MARKERS["debrief"],
            "scheduled_at": "2030-01-01T10:00:00Z",
        },
        headers=headers,
    ).json()
    contact = client.post(
        "/v1/contacts",
        json={"name": MARKERS["contact"], "opportunity_ids": [opportunity["id"]]},
        headers=headers,
    ).json()
    note = {
        "body": MARKERS["note"],
        "opportunity_id": opportunity["id"],
        "interview_id": interview["id"],
        "contact_id": contact["id"],
    }
    assert client.post("/v1/notes", json=note, headers=headers).status_code == 201
    activity = {"kind": "call", "summary": MARKERS["activity"], "opportunity_id": opportunity["id"]}
    assert client.post("/v1/activity", json=activity, headers=headers).status_code == 201
    profile = {"resume_text": MARKERS["resume"], "linkedin_summary": MARKERS["linkedin"]}
    assert client.put("/v1/me/profile", json=profile, headers=headers).status_code == 200


def test_deleting_the_account_deletes_every_record_row(client: TestClient) -> None:
    tokens = register(client)
    other = register(client, email="bob@example.com", name="Bob")
    _fill(client, bearer(tokens))
    _fill(client, bearer(other))
    user_id = tokens["user"]["id"]
    before = _rows_of(user_id)
    expected = {"opportunities", "opportunity_tags", "interviews", "contacts", "contact_opportunities"}
    expected |= {"notes", "activity", "profiles", "sessions"}
    assert expected <= set(before), before  # the scan sees every kind of record

    assert client.delete("/v1/me", headers=bearer(tokens)).status_code == 204

    assert _rows_of(user_id) == {}
    assert _rows_of(other["user"]["id"]) == before  # the other user's records are untouched
    # And the other user's search index still answers.
    found = client.get("/v1/opportunities", params={"q": "quuxworthy"}, headers=bearer(other)).json()
    assert len(found["items"]) == 1


@pytest.mark.embedded_db  # the embedded files themselves (--db=remote: the server's storage)
def test_deleted_records_leave_no_text_in_the_database_files(client: TestClient, isolated_env: Path) -> None:
    tokens = register(client)
    _fill(client, bearer(tokens))
    raw_before = b"".join(path.read_bytes() for path in isolated_env.glob("tracker.db*"))
    # The full-text index stores lowercased terms: look for those too.
    distinctive = [max(m.split(), key=len).lower() for m in MARKERS.values()]
    needles = [m.encode() for m in MARKERS.values()] + [word.encode() for word in distinctive]
    assert all(marker.encode() in raw_before for marker in MARKERS.values())
    assert b"flibbertigibbet" in raw_before  # only the full-text index holds the role lowercased

    assert client.delete("/v1/me", headers=bearer(tokens)).status_code == 204

    raw = b"".join(path.read_bytes() for path in isolated_env.glob("tracker.db*"))
    assert raw
    for needle in needles:
        assert needle not in raw, needle
