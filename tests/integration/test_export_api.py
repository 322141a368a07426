"""POST /v1/exports and the local download link (API.md: Export), over HTTP against the composed app.

The exported items are compared with what the API itself answers for the same records; the download
link needs no bearer token, and every altered or expired link is refused without the file.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from common.db import get_database
from common.errors import NotFoundError
from common.storage import LocalBlobStore, get_blob_store
from export import service
from tests.conftest import bearer, register
from tests.exports import (
    COLLECTIONS,
    CSV_FILES,
    csv_as_document,
    csv_members,
    csv_rows,
    download,
    export_json,
    local_path,
    request_export,
)
from tests.problems import assert_problem, assert_unauthorized
from tests.records import (
    auth_headers,
    case,
    create_activity,
    create_contact,
    create_interview,
    create_note,
    create_opportunity,
    list_all,
)

LIST_PATHS = {
    "opportunities": "/v1/opportunities",
    "interviews": "/v1/interviews",
    "contacts": "/v1/contacts",
    "notes": "/v1/notes",
    "activity": "/v1/activity",
}


def _records(client: TestClient, headers: dict[str, str]) -> None:
    """A bit of everything, with text that is hard for CSV and JSON (quotes, commas, newlines, unicode)."""
    first = create_opportunity(
        client,
        headers,
        company='Acme, "Robotics" & Co',
        role="Engineer — Ñandú 🚀",
        job_description='Line one\r\nline two\n\ttabbed, "quoted"\n' + "x" * 5000,
        tags=["python", "Zürich"],
        salary_min=1,
        salary_max=2,
        currency="CHF",
        status="applied",
    )
    second = create_opportunity(client, headers, company="Globex", role="SRE", archived=True)
    interview = create_interview(client, headers, first["id"], interviewers=["Grace", "Alan"], debrief="ok")
    contact = create_contact(
        client, headers, opportunity_ids=[second["id"], first["id"]], notes="multi\nline"
    )
    create_note(
        client, headers, opportunity_id=first["id"], interview_id=interview["id"], contact_id=contact["id"]
    )
    create_note(client, headers, body="Just a note")
    create_activity(client, headers, opportunity_id=first["id"])
    client.patch(f"/v1/opportunities/{first['id']}", json={"status": "screening"}, headers=headers)
    put = {"headline": "Backend", "resume_text": "Résumé\n" * 100, "linkedin_summary": ""}
    assert client.put("/v1/me/profile", json=put, headers=headers).status_code == 200


def _api_view(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """Every record as the API shows it, in the export's shape."""
    view: dict[str, Any] = {
        "user": client.get("/v1/me", headers=headers).json(),
        "profile": client.get("/v1/me/profile", headers=headers).json(),
    }
    for name, path in LIST_PATHS.items():
        items = list_all(client, headers, path, limit=200)
        if name == "opportunities":
            items += list_all(client, headers, path, limit=200, archived="true")
        view[name] = items
    return view


def test_a_json_export_is_every_record_as_the_api_shows_it(client: TestClient) -> None:
    headers = auth_headers(client, "ada@example.com")
    _records(client, headers)
    before = datetime.now(UTC)
    document, raw = export_json(client, headers)
    assert document["format_version"] == 1
    exported_at = datetime.fromisoformat(document["exported_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= exported_at <= datetime.now(UTC)
    api = _api_view(client, headers)
    assert document["user"] == api["user"]
    assert document["profile"] == api["profile"]
    assert document["calendar"] == api["user"]["calendar"]
    assert document["calendar"]["status"] == "disconnected" and document["calendar"]["connected"] is False
    for name in LIST_PATHS:
        exported = {item["id"]: item for item in document[name]}
        listed = {item["id"]: item for item in api[name]}
        assert exported == listed, name
    assert document["preps"] == []
    assert len(document["opportunities"]) == 2 and len(document["notes"]) == 2
    # Readable: one item per line, UTF-8 as it is (no \u escapes).
    assert "🚀".encode() in raw and b"\\u" not in raw
    assert raw.count(b"\n") > sum(len(document[name]) for name in COLLECTIONS)


def test_a_csv_export_is_a_zip_of_one_csv_per_collection(client: TestClient) -> None:
    headers = auth_headers(client, "ada@example.com")
    _records(client, headers)
    document, _ = export_json(client, headers)
    created = request_export(client, headers, "csv")
    raw = download(client, created)
    assert raw[:4] == b"PK\x03\x04"
    members = csv_members(raw)
    assert set(members) == CSV_FILES
    for name, data in members.items():
        header, rows = csv_rows(data)
        assert header and len(set(header)) == len(header), name
        assert data.startswith(",".join(header).encode() + b"\r\n"), name
    # Each file holds the same records as the JSON export, lists and objects as JSON text.
    assert csv_as_document(raw, document) == {
        name: document[name] for name in (*COLLECTIONS, "profile", "user")
    }
    _, contacts = csv_rows(members["contacts.csv"])
    assert json.loads(contacts[0]["opportunity_ids"]) == document["contacts"][0]["opportunity_ids"]
    _, users = csv_rows(members["user.csv"])
    assert json.loads(users[0]["calendar"]) == document["calendar"]
    assert users[0]["google_linked"] == "false"
    # An empty collection still has its header row, with the API's field names.
    header, rows = csv_rows(members["preps.csv"])
    assert rows == [] and header[:3] == ["id", "interview_id", "status"]


def test_csv_cells_that_could_run_as_formulas_are_escaped(client: TestClient) -> None:
    headers = auth_headers(client, "ada@example.com")
    dangerous = {
        "company": '=HYPERLINK("https://evil.example","x")',
        "role": "+SUM(1,2)",
        "location": "-2+3",
        "source": "@cmd",
    }
    opportunity = create_opportunity(client, headers, **dangerous, tags=["=tag"])
    create_note(client, headers, body="\tstarts with a tab")
    create_note(client, headers, body="\rstarts with a carriage return")
    create_note(client, headers, body="a = b + c - d @ e")  # only a leading trigger counts
    document, _ = export_json(client, headers)
    (exported,) = document["opportunities"]
    assert {key: exported[key] for key in dangerous} == dangerous  # JSON keeps the text as it is

    members = csv_members(download(client, request_export(client, headers, "csv")))
    _, (row,) = csv_rows(members["opportunities.csv"])
    assert row["id"] == opportunity["id"]
    for key, value in dangerous.items():
        assert row[key] == "'" + value, key
    assert json.loads(row["tags"]) == ["=tag"]  # JSON text starts with [
    _, notes = csv_rows(members["notes.csv"])
    bodies = sorted(note["body"] for note in notes)
    assert bodies == sorted(["'\tstarts with a tab", "'\rstarts with a carriage return", "a = b + c - d @ e"])
    for name, data in members.items():
        for cells in csv_rows(data)[1]:
            for value in cells.values():
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value)


def test_the_response_and_the_stored_file(client: TestClient, isolated_env: Path) -> None:
    tokens = register(client)
    headers = bearer(tokens)
    created = request_export(client, headers, "json")
    link = urlsplit(created["url"])
    assert f"{link.scheme}://{link.netloc}" == "http://127.0.0.1:8000"  # PUBLIC_BASE_URL
    assert link.path == f"/v1/exports/{created['id']}/download"
    assert set(parse_qs(link.query)) == {"expires", "signature"}
    expires_at = datetime.fromisoformat(created["expires_at"].replace("Z", "+00:00"))
    assert abs((expires_at - datetime.now(UTC)).total_seconds() - 900) < 5  # EXPORT_URL_TTL_SECONDS
    assert int(parse_qs(link.query)["expires"][0]) == int(expires_at.timestamp())
    # The file: under the user's own directory, an unguessable name, owner-only.
    user_dir = isolated_env / "exports" / tokens["user"]["id"]
    (path,) = user_dir.iterdir()
    assert path.name.startswith(created["id"]) and len(path.stem) > len(created["id"]) + 20
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(user_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((isolated_env / "exports").stat().st_mode) == 0o700
    assert path.stat().st_size == created["size_bytes"]
    downloaded = client.get(local_path(created["url"]))
    assert downloaded.headers["cache-control"] == "no-store"
    assert downloaded.headers["referrer-policy"] == "no-referrer"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert 'filename="interview-tracker-export-' in downloaded.headers["content-disposition"]


def test_export_requests_are_validated(client: TestClient) -> None:
    headers = auth_headers(client, "ada@example.com")
    failures: list[str] = []
    bodies: list[tuple[str, Any, list[str]]] = [
        ("unknown format", {"format": "xml"}, ["body", "format"]),
        ("upper case", {"format": "JSON"}, ["body", "format"]),
        ("format missing", {}, ["body", "format"]),
        ("format null", {"format": None}, ["body", "format"]),
        ("format not a string", {"format": 1}, ["body", "format"]),
        ("unknown field", {"format": "json", "include": "all"}, ["body", "include"]),
        ("not an object", ["json"], ["body"]),
    ]
    for name, body, loc in bodies:
        with case(failures, name):
            problem = assert_problem(client.post("/v1/exports", json=body, headers=headers), 422)
            assert loc in [error["loc"] for error in problem["errors"]], problem
    with case(failures, "no body"):
        assert_problem(client.post("/v1/exports", headers=headers), 422)
    with case(failures, "malformed JSON"):
        response = client.post(
            "/v1/exports", content=b'{"format": ', headers={**headers, "content-type": "application/json"}
        )
        assert_problem(response, 400)
    with case(failures, "not JSON"):
        response = client.post(
            "/v1/exports", content=b"format=json", headers={**headers, "content-type": "text/plain"}
        )
        assert_problem(response, 415)
    assert not failures, "\n".join(failures)
    assert not list(get_database().execute("SELECT id FROM exports").rows)  # nothing was written


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-token", "Basic YWRhOnB3"], ids=["none", "garbage", "basic"]
)
def test_creating_an_export_needs_a_valid_token(client: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_unauthorized(client.post("/v1/exports", json={"format": "json"}, headers=headers))


def test_a_logged_out_session_cannot_export(client: TestClient) -> None:
    tokens = register(client)
    assert client.post("/v1/auth/logout", headers=bearer(tokens)).status_code == 204
    assert_unauthorized(client.post("/v1/exports", json={"format": "json"}, headers=bearer(tokens)))


# ---- the download link ----------------------------------------------------------------------------


def _with(url: str, **changes: str | None) -> str:
    """The link's path and query with some parameters replaced (None removes one)."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return f"{parts.path}?{urlencode(query)}"


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def test_an_altered_link_is_refused_without_the_file(client: TestClient) -> None:
    headers = auth_headers(client, "ada@example.com")
    create_opportunity(client, headers, company="Secretive Corp")
    created = request_export(client, headers, "json")
    url = created["url"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    signature, expires = query["signature"], query["expires"]
    refused = {
        "signature: first character": _with(url, signature=_flip(signature, 0)),
        "signature: last character": _with(url, signature=_flip(signature, len(signature) - 1)),
        "signature: cut short": _with(url, signature=signature[:-1]),
        "signature: longer": _with(url, signature=signature + "A"),
        "signature: padded": _with(url, signature=signature + "="),
        "signature: missing": _with(url, signature=None),
        "signature: empty": _with(url, signature=""),
        "expires: later": _with(url, expires=str(int(expires) + 3600)),
        "expires: earlier": _with(url, expires=str(int(expires) - 1)),
        "expires: not a number": _with(url, expires="tomorrow"),
        "expires: missing": _with(url, expires=None),
        "expires: leading zero": _with(url, expires="0" + expires),
        "nothing": urlsplit(url).path,
    }
    failures: list[str] = []
    for name, path in refused.items():
        with case(failures, name):
            response = client.get(path)
            problem = assert_problem(response, 403)
            assert b"Secretive" not in response.content
            assert problem["type"].endswith("/invalid-download-link")
    # Another export's id with this signature: that export's link is not this one.
    other = request_export(client, headers, "csv")
    with case(failures, "another export's id"):
        path = _with(url).replace(created["id"], other["id"])
        assert_problem(client.get(path), 403)
    # An unknown export: 404, whatever the signature.
    for name, export_id in {"random id": "0" * 32, "other shape": "nope", "long": "a" * 64}.items():
        with case(failures, name):
            assert_problem(client.get(_with(url).replace(created["id"], export_id)), 404)
    # A bearer token does not stand in for the signature.
    with case(failures, "bearer instead of signature"):
        assert_problem(client.get(_with(url, signature=None), headers=headers), 403)
    assert not failures, "\n".join(failures)
    # The genuine link still works, without a bearer token.
    assert b"Secretive Corp" in download(client, created)


def test_a_link_stops_working_when_it_expires(client: TestClient, isolated_env: Path) -> None:
    tokens = register(client)
    user_id = tokens["user"]["id"]
    db, store = get_database(), get_blob_store()
    assert isinstance(store, LocalBlobStore)
    policy = service.ExportPolicy(url_ttl_seconds=900)
    # Issued 15 minutes and 1 second ago: expired now.
    past = datetime.now(UTC) - timedelta(seconds=901)
    expired = service.create_export(db, store, policy, user_id=user_id, export_format="json", now=past)
    problem = assert_problem(client.get(local_path(expired["url"])), 403)
    assert problem["type"].endswith("/link-expired")
    # Issued now: valid until expires_at, refused from that second on (the clock is injected).
    now = datetime.now(UTC)
    created = service.create_export(db, store, policy, user_id=user_id, export_format="csv", now=now)
    expires = int(parse_qs(urlsplit(created["url"]).query)["expires"][0])
    signature = parse_qs(urlsplit(created["url"]).query)["signature"][0]

    def open_at(moment: float) -> Any:
        return service.open_download(
            db,
            store,
            store.signer,
            export_id=created["id"],
            expires=str(expires),
            signature=signature,
            now=datetime.fromtimestamp(moment, UTC),
        )

    assert open_at(expires - 1).path.is_file()
    for moment in (expires, expires + 1, expires + 86_400):
        with pytest.raises(service.DownloadLinkError):
            open_at(moment)
    assert client.get(local_path(created["url"])).status_code == 200  # and now, before expiry, it works


def test_exports_are_limited_per_user_per_hour(client: TestClient) -> None:
    ada = auth_headers(client, "ada@example.com")
    bob = auth_headers(client, "bob@example.com")
    for number in range(service.HOURLY_LIMIT):
        request_export(client, ada, "json" if number % 2 else "csv")
    refused = client.post("/v1/exports", json={"format": "json"}, headers=ada)
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    request_export(client, bob, "json")  # the limit is per user
    # The refused request wrote nothing.
    count = get_database().execute("SELECT count(*) FROM exports").scalar()
    assert count == service.HOURLY_LIMIT + 1


def test_exports_older_than_a_day_are_removed_at_the_next_export(
    client: TestClient, isolated_env: Path
) -> None:
    tokens = register(client)
    user_id = tokens["user"]["id"]
    db, store = get_database(), get_blob_store()
    policy = service.ExportPolicy(url_ttl_seconds=900)
    old = service.create_export(
        db, store, policy, user_id=user_id, export_format="json", now=datetime.now(UTC) - timedelta(days=2)
    )
    user_dir = isolated_env / "exports" / user_id
    (old_file,) = user_dir.iterdir()
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(old_file, (two_days_ago, two_days_ago))
    fresh = request_export(client, bearer(tokens), "json")
    assert [path.name.split("-")[0] for path in user_dir.iterdir()] == [fresh["id"]]
    ids = [row[0] for row in db.execute("SELECT id FROM exports WHERE user_id = ?", (user_id,)).rows]
    assert ids == [fresh["id"]]
    assert client.get(local_path(old["url"])).status_code == 404


def test_an_account_deleted_while_its_export_is_written_leaves_no_file(
    client: TestClient, isolated_env: Path
) -> None:
    tokens = register(client)
    user_id = tokens["user"]["id"]
    db = get_database()
    store = get_blob_store()
    assert isinstance(store, LocalBlobStore)

    class DeletedMeanwhile(LocalBlobStore):
        def put(self, key: str, chunks: Any, *, content_type: str, filename: str) -> None:
            super().put(key, chunks, content_type=content_type, filename=filename)
            db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    racing = DeletedMeanwhile(store.root, base_url=store.base_url, signer=store.signer)
    with pytest.raises(NotFoundError):
        service.create_export(
            db,
            racing,
            service.ExportPolicy(url_ttl_seconds=900),
            user_id=user_id,
            export_format="json",
            now=datetime.now(UTC),
        )
    assert list((isolated_env / "exports" / user_id).iterdir()) == []


def test_a_failed_export_leaves_no_file_and_no_row(client: TestClient, isolated_env: Path) -> None:
    tokens = register(client)
    user_id = tokens["user"]["id"]
    create_opportunity(client, bearer(tokens))
    db = get_database()
    store = get_blob_store()
    assert isinstance(store, LocalBlobStore)

    def broken(chunks: Any) -> Any:
        yield next(iter(chunks))
        raise OSError("disk full")

    class Failing(LocalBlobStore):
        def put(self, key: str, chunks: Any, *, content_type: str, filename: str) -> None:
            super().put(key, broken(chunks), content_type=content_type, filename=filename)

    failing = Failing(store.root, base_url=store.base_url, signer=store.signer)
    with pytest.raises(OSError, match="disk full"):
        service.create_export(
            db,
            failing,
            service.ExportPolicy(url_ttl_seconds=900),
            user_id=user_id,
            export_format="csv",
            now=datetime.now(UTC),
        )
    assert list((isolated_env / "exports" / user_id).iterdir()) == []
    assert db.execute("SELECT count(*) FROM exports").scalar() == 0


def test_long_texts_are_read_in_small_pages(client: TestClient) -> None:
    """A page ends once its long texts pass MAX_PAGE_BYTES, so 100,000-character notes never fill memory a
    thousand at a time; every note is still exported once, in order."""
    from export import repository

    tokens = register(client)
    headers = bearer(tokens)
    body = "n" * 99_997  # with a 3-digit number: 100,000 characters, the most a note may hold
    ids = [create_note(client, headers, body=f"{number:03d}{body}")["id"] for number in range(45)]
    (notes,) = [c for c in repository.COLLECTIONS if c.name == "notes"]
    pages = list(service._pages(get_database(), notes, user_id=tokens["user"]["id"], for_csv=False))
    per_page = repository.MAX_PAGE_BYTES // 100_000
    assert [len(page) for page in pages] == [per_page] * (45 // per_page) + [45 % per_page]
    position = notes.fields.index("id")
    assert [row[position] for page in pages for row in page] == ids
