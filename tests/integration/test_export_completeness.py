"""Export completeness and account deletion, driven by the schema itself.

The tables come from sqlite_master, not from a list in the code under test. EXPORT_MAP says, for every
table, how its rows appear in an export (and which of its columns are deliberately left out, and why) or
why they do not appear at all. A table or a column that EXPORT_MAP does not know fails the test, so a
future migration cannot add data that an export silently misses; DELETION_MAP does the same for account
deletion of tables without a user_id column.

Two users get rows in every table (through the API where one exists; Google's rows and a calendar-found
interview directly, as the OAuth callbacks and the calendar poll would write them). One user's JSON and
CSV exports must then hold every row of theirs and nothing of the other's; after deleting that user, no
table holds a row of theirs and no file in the data dir (database, WAL, export files) holds their text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.clock import utc_now_iso
from common.db import get_database
from common.keys import ENCRYPTION_KEY_FILE, JWT_KEY_FILE, derived_key
from tests.conftest import PASSWORD, bearer, register, reset_caches
from tests.exports import (
    COLLECTIONS,
    csv_as_document,
    csv_members,
    download,
    export_json,
    local_path,
    request_export,
)
from tests.problems import assert_unauthorized

Row = dict[str, Any]
REDIRECT_URI = "http://localhost:3000/auth/callback"

# ---- how each table's rows appear in an export ----------------------------------------------------

SECRET = "a secret or a token: never exported"
INTERNAL = "internal bookkeeping, not the user's data"


@dataclass(frozen=True)
class Exported:
    """Rows of the table are items of `collection` (a list matched by id, or a single object), each column
    equal to the item's field of the same name (decoded by `decode`), except `omitted` columns."""

    collection: str
    omitted: dict[str, str] = field(default_factory=dict)
    decode: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # column -> field
    single: bool = False
    check: Callable[[Row, dict[str, Any]], None] | None = None  # instead of the column comparison


def _contact_link(row: Row, document: dict[str, Any]) -> None:
    (contact,) = [c for c in document["contacts"] if c["id"] == row["contact_id"]]
    assert contact["opportunity_ids"][row["position"]] == row["opportunity_id"], (row, contact)


def _user(row: Row, document: dict[str, Any]) -> None:
    user = document["user"]
    assert {k: user[k] for k in ("id", "email", "name", "picture_url", "created_at", "updated_at")} == {
        k: row[k] for k in ("id", "email", "name", "picture_url", "created_at", "updated_at")
    }
    assert user["google_linked"] is (row["google_sub"] is not None)


def _tag(row: Row, document: dict[str, Any]) -> None:
    (opportunity,) = [o for o in document["opportunities"] if o["id"] == row["opportunity_id"]]
    assert row["tag_key"] in [tag.lower() for tag in opportunity["tags"]], (row, opportunity)


_JSON = json.loads
_FTS = "the full-text index of opportunities (derived from their company, role, description and tags)"
EXPORT_MAP: dict[str, Exported | str] = {
    "users": Exported(
        "user",
        single=True,
        check=_user,
        omitted={
            "password_hash": SECRET,
            "google_sub": "Google's account id; `google_linked` says whether there is one",
        },
    ),
    "sessions": "sign-in sessions: authentication bookkeeping (ids, expiry, revocation)",
    "refresh_tokens": SECRET,
    "login_failures": "failed sign-ins, keyed by an HMAC of the email: no user id, not attributable",
    "profiles": Exported("profile", single=True, omitted={"user_id": "the user"}),
    "opportunities": Exported(
        "opportunities",
        omitted={"pk": INTERNAL + " (full-text rowid)", "user_id": "the user", "company_key": "sort key"},
        decode={"tags": _JSON, "archived": bool},
    ),
    "opportunity_tags": Exported("opportunities", check=_tag),
    "opportunities_fts": _FTS,
    "opportunities_fts_data": _FTS,
    "opportunities_fts_idx": _FTS,
    "opportunities_fts_docsize": _FTS,
    "opportunities_fts_config": _FTS,
    "interviews": Exported("interviews", omitted={"user_id": "the user"}, decode={"interviewers": _JSON}),
    "contacts": Exported("contacts", omitted={"user_id": "the user", "name_key": "sort key"}),
    "contact_opportunities": Exported("contacts", check=_contact_link),
    "notes": Exported("notes", omitted={"user_id": "the user"}),
    "activity": Exported("activity", omitted={"user_id": "the user"}),
    "preps": Exported(
        "preps",
        omitted={
            "user_id": "the user",
            "inputs_hash": "version key of the prep's inputs (the inputs themselves are exported)",
            "attempts": INTERNAL,
            "claim_token": SECRET,
            "lease_until": INTERNAL,
            "requested_at": "when this version was last asked for: which one is current (not in the API)",
        },
        decode={"content": _JSON, "ai_processing": _JSON},
    ),
    "jobs": "the local prep queue: " + INTERNAL,
    "prep_requests": "the prep rate-limit ledger: " + INTERNAL,
    "oauth_states": "OAuth flows in flight (10 minutes): encrypted PKCE verifier and nonce",
    "calendar_connections": Exported(
        "calendar",
        single=True,
        omitted={
            "user_id": "the user",
            "refresh_token": SECRET,
            "access_token": SECRET,
            "access_token_expires_at": "lifetime of a token: " + INTERNAL,
            "scopes": "the grant's scopes: " + INTERNAL,
            "sync_token": "Google's incremental-sync cursor: " + INTERNAL,
            "created_at": INTERNAL,
            "updated_at": INTERNAL,
        },
    ),
    "exports": "the ledger of export files themselves: " + INTERNAL,
    "schema_migrations": "the schema's version: no user data",
    "poll_state": "where the scheduled calendar poll resumes (a position in the user ids): no user's data",
}
# Tables without user_id: how account deletion reaches their rows.
DELETION_MAP = {
    "login_failures": "cleared by the email's HMAC key (checked below)",
    "schema_migrations": "no user data",
    "poll_state": "the poll's resume position: at most a user id as a cursor, never their data",
    **{name: "derived index: the byte search below covers it" for name in EXPORT_MAP if "_fts" in name},
}


# ---- the schema --------------------------------------------------------------------------------------


def tables() -> list[str]:
    rows = get_database().execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").rows
    return [row[0] for row in rows if not row[0].startswith("sqlite_")]


def columns(table: str) -> list[str]:
    return [row[1] for row in get_database().execute(f'PRAGMA table_info("{table}")').rows]


def rows_of(table: str, user_id: str) -> list[Row]:
    db = get_database()
    if table == "users":
        return db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).all()
    if "user_id" not in columns(table):
        return []
    return db.execute(f'SELECT * FROM "{table}" WHERE user_id = ?', (user_id,)).all()


def test_every_table_and_column_has_an_export_rule(client: TestClient) -> None:
    found = tables()
    unknown = sorted(set(found) - set(EXPORT_MAP))
    assert not unknown, (
        f"tables with no entry in EXPORT_MAP: {unknown}. Say how their rows appear in an export (and "
        "export them), or why they do not."
    )
    gone = sorted(set(EXPORT_MAP) - set(found))
    assert not gone, f"EXPORT_MAP names tables the schema no longer has: {gone}"
    for table, rule in EXPORT_MAP.items():
        if isinstance(rule, Exported):
            stale = set(rule.omitted) - set(columns(table))
            assert not stale, f"{table}: omitted columns that do not exist: {sorted(stale)}"
    no_user_id = sorted(t for t in found if "user_id" not in columns(t) and t != "users")
    unmapped = sorted(set(no_user_id) - set(DELETION_MAP))
    assert not unmapped, f"tables without user_id and no rule for account deletion: {unmapped}"


# ---- two users with rows in every table -----------------------------------------------------------


def marker(kind: str, who: str) -> str:
    """A word that appears nowhere but in this user's record of this kind (lowercase: the full-text
    index stores terms lowercased)."""
    return f"{kind}{who}zq"


@dataclass
class Person:
    who: str
    email: str
    tokens: dict[str, Any]
    headers: dict[str, str]
    markers: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        return str(self.tokens["user"]["id"])


def _mark(person: Person, kind: str) -> str:
    text = marker(kind, person.who)
    person.markers.append(text)
    return text


def _post(client: TestClient, person: Person, path: str, body: dict[str, Any]) -> Row:
    response = client.post(path, json=body, headers=person.headers)
    assert response.status_code in (201, 202), (path, response.text)
    return dict(response.json())


def fill(client: TestClient, who: str, monkeypatch: pytest.MonkeyPatch) -> Person:
    email = f"{who}@example.com"
    tokens = register(client, email=email, name=f"Name {who}")
    person = Person(who, email, tokens, bearer(tokens))
    person.markers += [email]
    person.secrets += [tokens["access_token"], tokens["refresh_token"]]
    # A second session (login), then a failed sign-in (a successful one clears earlier failures).
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    person.secrets += [login.json()["refresh_token"]]
    assert (
        client.post("/v1/auth/login", json={"email": email, "password": "wrong password!"}).status_code == 401
    )
    assert (
        client.patch("/v1/me", json={"name": _mark(person, "name")}, headers=person.headers).status_code
        == 200
    )

    profile = {
        "headline": _mark(person, "headline"),
        "resume_text": "Resume: " + _mark(person, "resume"),
        "linkedin_summary": "=cmd " + _mark(person, "linkedin"),
    }
    assert client.put("/v1/me/profile", json=profile, headers=person.headers).status_code == 200
    opportunity = _post(
        client,
        person,
        "/v1/opportunities",
        {
            "company": _mark(person, "company"),
            "role": "+" + _mark(person, "role"),
            "job_description": 'Line one\nline, two "quoted"\n' + _mark(person, "description"),
            "tags": [_mark(person, "tag"), "Remote"],
            "salary_min": 100,
            "salary_max": 200,
            "currency": "EUR",
            "url": "https://jobs.example.com/" + _mark(person, "url"),
        },
    )
    archived = _post(
        client,
        person,
        "/v1/opportunities",
        {
            "company": "Zeta " + _mark(person, "archived"),
            "role": "Dev",
            "archived": True,
            "status": "applied",
        },
    )
    client.patch(f"/v1/opportunities/{archived['id']}", json={"status": "screening"}, headers=person.headers)
    interview = _post(
        client,
        person,
        "/v1/interviews",
        {
            "opportunity_id": opportunity["id"],
            "kind": "technical",
            "title": _mark(person, "interview"),
            "scheduled_at": "2030-01-01T10:00:00Z",
            "interviewers": [_mark(person, "interviewer"), "Ada Lovelace"],
            "debrief": "@" + _mark(person, "debrief"),
        },
    )
    contact = _post(
        client,
        person,
        "/v1/contacts",
        {
            "name": _mark(person, "contact"),
            "email": f"{_mark(person, 'contactmail')}@example.com",
            "opportunity_ids": [archived["id"], opportunity["id"]],
        },
    )
    _post(
        client,
        person,
        "/v1/notes",
        {
            "body": "-" + _mark(person, "note"),
            "opportunity_id": opportunity["id"],
            "interview_id": interview["id"],
            "contact_id": contact["id"],
        },
    )
    _post(
        client,
        person,
        "/v1/activity",
        {"kind": "call", "summary": _mark(person, "activity"), "opportunity_id": opportunity["id"]},
    )
    # A prep request (preps, jobs, prep_requests), then the prep as a worker would finish it.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-used")
    reset_caches()
    prep = _post(client, person, f"/v1/interviews/{interview['id']}/prep", {})
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    reset_caches()
    content = {
        "summary": _mark(person, "prepsummary"),
        "company_insights": ["insight"],
        "role_fit": [],
        "likely_questions": [
            {"question": _mark(person, "question"), "category": "tech", "why": "w", "answer_outline": "a"}
        ],
        "stories": [],
        "questions_to_ask": [],
        "debrief_followups": [],
    }
    processing = {
        "provider": "anthropic",
        "model": "claude-test",
        "fields_sent": ["company", "role"],
        "debriefs_sent": 0,
        "sent_at": utc_now_iso(),
        "requests": 1,
        "usage": {"input_tokens": 10, "output_tokens": 20},
    }
    claim = f"claim{who}secret"
    person.secrets.append(claim)
    db = get_database()
    db.execute(
        "UPDATE preps SET status = 'ready', content = ?, ai_processing = ?, claim_token = ?, attempts = 1 "
        "WHERE id = ? AND user_id = ?",
        (json.dumps(content), json.dumps(processing), claim, prep["id"], person.user_id),
    )
    # Google: the calendar connection and a flow in flight, as the OAuth callbacks write them (tokens
    # sealed), and an interview the calendar poll found (no opportunity yet).
    now = utc_now_iso()
    sealed = [f"v1.sealed{who}refresh", f"v1.sealed{who}access", f"sync{who}cursor", f"state{who}hash"]
    person.secrets += sealed
    db.execute(
        "INSERT INTO calendar_connections (user_id, status, refresh_token, access_token, "
        "access_token_expires_at, scopes, error, sync_token, last_synced_at, interviews_found, created_at, "
        "updated_at) VALUES (?, 'connected', ?, ?, ?, 'calendar.events.readonly', NULL, ?, ?, 3, ?, ?)",
        (person.user_id, sealed[0], sealed[1], now, sealed[2], now, now, now),
    )
    db.execute(
        "INSERT INTO oauth_states (state_hash, purpose, user_id, binding_hash, redirect_uri, secrets, "
        "created_at, expires_at) VALUES (?, 'calendar', ?, ?, ?, ?, ?, ?)",
        (sealed[3], person.user_id, f"binding{who}", REDIRECT_URI, f"v1.secrets{who}", now, now),
    )
    db.execute(
        "INSERT INTO interviews (id, user_id, opportunity_id, kind, title, source, calendar_event_id, "
        "created_at, updated_at) VALUES (?, ?, NULL, 'other', ?, 'calendar', ?, ?, ?)",
        (f"cal{who}interview", person.user_id, _mark(person, "calendarevent"), f"event{who}", now, now),
    )
    return person


@pytest.fixture
def people(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> tuple[Person, Person]:
    ada, bob = fill(client, "ada", monkeypatch), fill(client, "bob", monkeypatch)
    # Each has made exports before (the exports ledger, and files in the data dir).
    for person in (ada, bob):
        for export_format in ("json", "csv"):
            request_export(client, person.headers, export_format)
    for table in tables():
        if table in DELETION_MAP and table != "login_failures":
            continue
        if table == "login_failures":
            assert get_database().execute("SELECT count(*) FROM login_failures").scalar() == 2
            continue
        for person in (ada, bob):
            assert rows_of(table, person.user_id), f"the test fills no row of {table} for {person.who}"
    return ada, bob


# ---- export completeness --------------------------------------------------------------------------


def _item(rule: Exported, row: Row, document: dict[str, Any]) -> Row:
    found = document[rule.collection]
    if rule.single:
        assert isinstance(found, dict)
        return dict(found)
    matches = [item for item in found if item["id"] == row["id"]]
    assert len(matches) == 1, (rule.collection, row["id"], len(matches))
    return dict(matches[0])


def assert_rows_exported(person: Person, document: dict[str, Any]) -> None:
    for table in tables():
        rule = EXPORT_MAP[table]
        if not isinstance(rule, Exported):
            continue
        rows = rows_of(table, person.user_id)
        assert rows, table
        for row in rows:
            if rule.check is not None:
                rule.check(row, document)
                continue
            item = _item(rule, row, document)
            for column, value in row.items():
                if column in rule.omitted:
                    continue
                name = rule.renamed.get(column, column)
                if table == "calendar_connections" and column == "status":
                    assert item["connected"] is (value == "connected")
                decoded = rule.decode.get(column, lambda v: v)(value) if value is not None else None
                assert name in item, (
                    f"{table}.{column} is not in the export: add it, or omit it with a reason"
                )
                assert item[name] == decoded, (table, column, item[name], decoded)
        if not rule.single and rule.check is None:
            assert len(document[rule.collection]) == len(rows), (table, len(rows))


def assert_nothing_of(person: Person, raw: bytes, *, what: str) -> None:
    text = raw.decode("utf-8", "replace")
    for needle in [person.user_id, *person.markers]:
        assert needle not in text, f"{what} holds {needle!r} of {person.who}"


def assert_no_secrets(raw: bytes, people: tuple[Person, Person], data_dir: Path) -> None:
    text = raw.decode("utf-8", "replace")
    db = get_database()
    secrets = [s for p in people for s in p.secrets]
    secrets += [row[0] for row in db.execute("SELECT token_hash FROM refresh_tokens").rows]
    secrets += [row[0] for row in db.execute("SELECT id FROM sessions").rows]
    secrets += [row[0] for row in db.execute("SELECT inputs_hash FROM preps").rows]
    secrets += [row[0] for row in db.execute("SELECT email_key FROM login_failures").rows]
    secrets += [row[0] for row in db.execute("SELECT password_hash FROM users").rows]
    key_files = [data_dir / JWT_KEY_FILE, data_dir / ENCRYPTION_KEY_FILE]
    secrets += [path.read_text().strip() for path in key_files]
    for secret in secrets:
        assert secret and secret not in text, f"a secret is in the export: {secret[:12]}..."
    assert "$argon2" not in text and "PRIVATE KEY" not in text


def test_an_export_holds_every_row_of_the_user_and_nothing_of_another(
    client: TestClient, people: tuple[Person, Person], isolated_env: Path
) -> None:
    ada, bob = people
    document, raw_json = export_json(client, ada.headers)
    assert_rows_exported(ada, document)
    assert_nothing_of(bob, raw_json, what="the JSON export")
    assert_no_secrets(raw_json, people, isolated_env)

    raw_zip = download(client, request_export(client, ada.headers, "csv"))
    read_back = csv_as_document(raw_zip, document)
    for name in (*COLLECTIONS, "profile"):
        assert read_back[name] == document[name], name
    # user.csv: the same user, its calendar status as JSON text.
    assert read_back["user"] == document["user"]
    assert_rows_exported(ada, {**read_back, "calendar": document["calendar"]})
    for name, data in csv_members(raw_zip).items():
        assert_nothing_of(bob, data, what=name)
        assert_no_secrets(data, people, isolated_env)

    # The export's user is GET /v1/me, its calendar the same status.
    me = client.get("/v1/me", headers=ada.headers).json()
    assert document["user"] == me
    assert (
        document["calendar"]
        == me["calendar"]
        == {
            "connected": True,
            "status": "connected",
            "last_synced_at": document["calendar"]["last_synced_at"],
            "interviews_found": 3,
            "error": None,
        }
    )

    # And the other way round.
    other, raw_other = export_json(client, bob.headers)
    assert_rows_exported(bob, other)
    assert_nothing_of(ada, raw_other, what="bob's JSON export")


# ---- account deletion -------------------------------------------------------------------------------


def _all_files(data_dir: Path) -> list[Path]:
    return [path for path in data_dir.rglob("*") if path.is_file()]


def _counts(person: Person) -> dict[str, int]:
    return {table: len(rows_of(table, person.user_id)) for table in tables()}


@pytest.mark.embedded_db  # no trace in the embedded files (--db=remote: the server's storage)
def test_account_deletion_removes_every_row_and_file_of_the_user(
    client: TestClient, people: tuple[Person, Person], isolated_env: Path
) -> None:
    ada, bob = people
    ada_link = request_export(client, ada.headers, "json")
    bob_link = request_export(client, bob.headers, "json")
    exports_dir = isolated_env / "exports"
    assert len(list((exports_dir / ada.user_id).iterdir())) == 3
    bob_before = _counts(bob)
    failure_key = hmac.new(derived_key("login-failures"), ada.email.encode(), hashlib.sha256).hexdigest()
    assert (
        get_database()
        .execute("SELECT count(*) FROM login_failures WHERE email_key = ?", (failure_key,))
        .scalar()
    )
    everything = b"".join(path.read_bytes() for path in _all_files(isolated_env))
    for needle in ada.markers:
        assert needle.encode() in everything, needle  # the search below would find them

    assert client.delete("/v1/me", headers=ada.headers).status_code == 204

    # Every table: no row of ada; bob's untouched.
    leftovers = {table: count for table, count in _counts(ada).items() if count}
    assert not leftovers, leftovers
    assert _counts(bob) == bob_before
    db = get_database()
    assert not db.execute("SELECT count(*) FROM login_failures WHERE email_key = ?", (failure_key,)).scalar()
    # Her export files are gone (and her link finds nothing); bob's remain and still download.
    assert not (exports_dir / ada.user_id).exists()
    assert client.get(local_path(ada_link["url"])).status_code == 404
    assert download(client, bob_link)
    # No file in the data dir (database, WAL, exports, keys) holds any of her text.
    files = _all_files(isolated_env)
    assert any(path.is_relative_to(exports_dir / bob.user_id) for path in files)
    for path in files:
        data = path.read_bytes()
        for needle in [*ada.markers, ada.user_id]:
            assert needle.encode() not in data, (path.name, needle)
    # Her tokens stopped working at once; a repeat delete is 401.
    assert_unauthorized(client.get("/v1/me", headers=ada.headers))
    assert_unauthorized(client.delete("/v1/me", headers=ada.headers))
    refresh = client.post("/v1/auth/refresh", json={"refresh_token": ada.tokens["refresh_token"]})
    assert refresh.status_code == 401
