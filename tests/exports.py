"""Shared helpers for the export tests (API.md: Export): request an export, fetch its URL without a bearer
token, and read the two formats back into API items."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

COLLECTIONS = ("opportunities", "interviews", "contacts", "notes", "activity", "preps")
JSON_KEYS = ("format_version", "exported_at", "user", "profile", *COLLECTIONS, "calendar")
CSV_FILES = {f"{name}.csv" for name in (*COLLECTIONS, "profile", "user")}
EXPORT_FIELDS = {"id", "format", "url", "expires_at", "size_bytes", "sha256"}
TIME_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def request_export(client: TestClient, headers: dict[str, str], export_format: str) -> dict[str, Any]:
    response = client.post("/v1/exports", json={"format": export_format}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    created = response.json()
    assert set(created) >= EXPORT_FIELDS, created
    assert created["format"] == export_format
    assert TIME_Z.match(created["expires_at"]), created
    assert re.fullmatch(r"[0-9a-f]{64}", created["sha256"]), created
    return dict(created)


def local_path(url: str) -> str:
    """The path and query of a local download URL (the TestClient serves the app at any origin)."""
    parts = urlsplit(url)
    assert parts.path.startswith("/v1/exports/") and parts.path.endswith("/download"), url
    return f"{parts.path}?{parts.query}"


def download(client: TestClient, created: dict[str, Any]) -> bytes:
    """Fetch the export's URL with no Authorization header; checks size and digest against the 201."""
    response = client.get(local_path(created["url"]))
    assert response.status_code == 200, response.text
    expected = "application/json" if created["format"] == "json" else "application/zip"
    assert response.headers["content-type"].split(";")[0] == expected
    assert response.headers["content-disposition"].startswith("attachment;")
    body = response.content
    assert len(body) == created["size_bytes"]
    assert hashlib.sha256(body).hexdigest() == created["sha256"]
    return body


def export_json(client: TestClient, headers: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    raw = download(client, request_export(client, headers, "json"))
    document = json.loads(raw)
    assert isinstance(document, dict) and tuple(document) == JSON_KEYS, list(document)
    return document, raw


def csv_members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of one CSV file (UTF-8, no BOM)."""
    text = data.decode("utf-8")
    assert not text.startswith("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def cell_value(cell: str, like: Any) -> Any:
    """A CSV cell back as the JSON export's value (`like`): lists and objects from JSON text, null from an
    empty cell, the formula-escaping quote removed."""
    if like is None:
        assert cell == "", cell
        return None
    if isinstance(like, bool):
        assert cell in ("true", "false"), cell
        return cell == "true"
    if isinstance(like, int | float):
        return type(like)(cell)
    if isinstance(like, list | dict):
        return json.loads(cell)
    if cell.startswith("'") and cell[1:2] and cell[1:2] in _FORMULA:
        return cell[1:]
    assert not cell.startswith(_FORMULA), f"unescaped formula trigger: {cell[:20]!r}"
    return cell


def csv_as_document(raw: bytes, document: dict[str, Any]) -> dict[str, Any]:
    """The CSV export read back in the JSON document's shape, using the JSON export's values as types."""
    members = csv_members(raw)
    assert set(members) == CSV_FILES, sorted(members)
    result: dict[str, Any] = {}
    for name in (*COLLECTIONS, "profile", "user"):
        header, rows = csv_rows(members[f"{name}.csv"])
        expected = document[name] if name in COLLECTIONS else [document[name]]
        if expected:
            assert header == list(expected[0]), (name, header)
        by_id = {item.get("id"): item for item in expected}
        items = []
        for row in rows:
            like = by_id.get(row.get("id")) if "id" in row else expected[0]
            assert like is not None, (name, row.get("id"))
            items.append({key: cell_value(row[key], like[key]) for key in header})
        result[name] = items if name in COLLECTIONS else items[0]
    return result
