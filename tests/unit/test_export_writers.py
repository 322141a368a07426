"""The export writers and the local store, without the API: CSV cells, streaming (bytes leave before the
data is all read), valid JSON and ZIP for any content, signed links, owner-only files."""

from __future__ import annotations

import io
import json
import secrets
import stat
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.storage import LinkSigner, LocalBlobStore, erase_user_exports, new_key
from export import writers
from tests.exports import cell_value, csv_rows

USER = {"id": "u1", "email": "a@example.com", "name": "A", "calendar": {"connected": False}}
PROFILE = {"headline": "", "resume_text": "", "linkedin_summary": "", "updated_at": None}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (12.5, "12.5"),
        ("plain", "plain"),
        ("", ""),
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=quoted", "'=quoted"),  # already starts with a quote: a spreadsheet shows it as text
        (" =1", " =1"),
        ("a=b", "a=b"),
        (["=x", "y"], '["=x", "y"]'),
        ({"k": "v"}, '{"k": "v"}'),
        ("ünïcödé 🚀", "ünïcödé 🚀"),
    ],
)
def test_csv_cells(value: Any, cell: str) -> None:
    assert writers.csv_cell(value) == cell


FIELDS = ("id", "body", "tags")


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "tags": json.loads(row["tags"])}


def _rows(pages: list[list[dict[str, Any]]], *, as_cells: bool) -> list[list[tuple[Any, ...]]]:
    """Items as the repository reads them: tuples in field order, lists as JSON text; for CSV, texts
    escaped (in SQL there; csv_cell here, which test_the_sql_escape_is_csv_cell shows to be the same)."""
    cell = writers.csv_cell if as_cells else (lambda value: value)
    return [
        [(cell(i["id"]), cell(i["body"]), json.dumps(i["tags"], ensure_ascii=False)) for i in page]
        for page in pages
    ]


def _content(
    pages: dict[str, list[list[dict[str, Any]]]], *, as_cells: bool = False
) -> writers.ExportContent:
    collections = tuple(
        writers.Collection(name, FIELDS, _rows(pages[name], as_cells=as_cells), _item) for name in pages
    )
    return writers.ExportContent(
        "2026-01-02T03:04:05.000000Z", USER, PROFILE, {"connected": False}, collections
    )


# A text that starts with a quote then a formula character reads back ambiguously from CSV (OWASP's escape
# is one-way; the JSON export is the lossless one): not generated here. Stored text never holds NUL.
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40).filter(
    lambda t: not t.startswith("'")
)
items = st.lists(st.fixed_dictionaries({"id": texts, "body": texts, "tags": st.lists(texts, max_size=3)}))


@settings(max_examples=60, deadline=None)
@given(st.lists(items, max_size=4), st.lists(items, max_size=3))
def test_any_content_makes_valid_json_and_a_readable_zip(first: list[Any], second: list[Any]) -> None:
    content = _content({"notes": first, "activity": second})
    document = json.loads(b"".join(writers.json_document(content)))
    assert list(document) == [
        "format_version",
        "exported_at",
        "user",
        "profile",
        "notes",
        "activity",
        "calendar",
    ]
    assert document["notes"] == [item for page in first for item in page]
    assert document["activity"] == [item for page in second for item in page]

    raw = b"".join(writers.csv_zip(_content({"notes": first, "activity": second}, as_cells=True)))
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.testzip() is None
        _, rows = csv_rows(archive.read("notes.csv"))
    expected = [item for page in first for item in page]
    assert len(rows) == len(expected)
    for row, item in zip(rows, expected, strict=True):
        assert {key: cell_value(row[key], item[key]) for key in item} == item


def _counted(pulled: list[int], count: int) -> Iterator[list[tuple[Any, ...]]]:
    for number in range(count):
        pulled.append(number)
        yield [(f"{number:06d}", secrets.token_hex(500))]


@pytest.mark.parametrize("write", [writers.json_document, writers.csv_zip])
def test_writers_stream_page_by_page(write: Any) -> None:
    """Output leaves as pages arrive: most of the first half of the data is out before the second half is
    read, and no chunk is larger than a few pages."""
    pulled: list[int] = []
    content = writers.ExportContent(
        "2026-01-02T03:04:05.000000Z",
        USER,
        PROFILE,
        {},
        (writers.Collection("notes", ("id", "body"), _counted(pulled, 1000), dict),),
    )
    produced = 0
    produced_by_half = 0
    largest = 0
    for chunk in write(content):
        if len(pulled) <= 500:
            produced_by_half = produced + len(chunk)
        produced += len(chunk)
        largest = max(largest, len(chunk))
    assert pulled == list(range(1000))
    assert produced_by_half > 0.4 * produced
    assert largest < 64 * 1024


def test_links_are_bound_to_the_export_and_the_expiry() -> None:
    signer = LinkSigner(b"k" * 32)
    signature = signer.signature("exp1", 1_900_000_000)
    assert len(signature) == 43 and "=" not in signature
    assert signer.verify("exp1", "1900000000", signature) == 1_900_000_000
    for export_id, expires, sig in [
        ("exp2", "1900000000", signature),
        ("exp1", "1900000001", signature),
        ("exp1", "01900000000", signature),
        ("exp1", "1900000000 ", signature),
        ("exp1", "-1900000000", signature),
        ("exp1", None, signature),
        ("exp1", "1900000000", None),
        ("exp1", "1900000000", signature[:-1]),
        ("exp1", "1900000000", signature.upper()),
        ("exp1", "1900000000", "é" * 43),
    ]:
        assert signer.verify(export_id, expires, sig) is None, (export_id, expires, sig)
    assert LinkSigner(b"j" * 32).verify("exp1", "1900000000", signature) is None


def test_the_local_store(tmp_path: Path) -> None:
    root = tmp_path / "data" / "exports"
    store = LocalBlobStore(root, base_url="http://localhost:8000", signer=LinkSigner(b"k" * 32))
    key = new_key("user1", "exp1", "json")
    assert key.startswith("user1/exp1-") and key.endswith(".json")
    assert new_key("user1", "exp1", "json") != key
    store.put(key, iter([b"{", b"}"]), content_type="application/json", filename="e.json")
    path = store.local_file(key)
    assert path is not None and path.read_bytes() == b"{}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    url = store.download_url(key, export_id="exp1", expires_at=datetime(2030, 1, 1, tzinfo=UTC), filename="e")
    assert url.startswith("http://localhost:8000/v1/exports/exp1/download?expires=1893456000&signature=")

    other = new_key("user2", "exp2", "zip")
    store.put(other, iter([b"zip"]), content_type="application/zip", filename="e.zip")
    old = new_key("user1", "old", "zip")
    store.put(old, iter([b"old"]), content_type="application/zip", filename="e.zip")
    store.prune("user1/", older_than=datetime.now(UTC) - timedelta(days=1))
    assert (root / old).exists()  # not old yet
    store.prune("user1/", older_than=datetime.now(UTC) + timedelta(seconds=5))
    assert not (root / old).exists() and not (root / key).exists()

    store.put(key, iter([b"again"]), content_type="application/json", filename="e.json")
    erase_user_exports(store, "user1")
    assert not (root / "user1").exists()
    assert (root / other).read_bytes() == b"zip"
    erase_user_exports(store, "nobody")  # nothing to erase is fine


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "exports", base_url="http://x", signer=LinkSigner(b"k" * 32))

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.put("user1/e.json", failing(), content_type="application/json", filename="e.json")
    assert list((tmp_path / "exports" / "user1").iterdir()) == []


@pytest.mark.parametrize("key", ["../x.json", "user1/../x", "user1/a/b.json", "user1/.hidden", "", "a"])
def test_keys_cannot_escape_the_store(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "exports", base_url="http://x", signer=LinkSigner(b"k" * 32))
    with pytest.raises(ValueError, match="storage key"):
        store.put(key, iter([b"x"]), content_type="text/plain", filename="x")
    for prefix in ("../", "..", "a/b/"):
        with pytest.raises(ValueError, match="storage key"):
            store.delete_prefix(prefix)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(texts, st.text(alphabet="=+-@\t\r' a", max_size=5), st.none(), st.integers(-(2**31), 2**31 - 1))
)
def test_the_sql_escape_is_csv_cell(value: Any) -> None:
    """export.repository.csv_value (SQLite, for the collections) and csv_cell (Python, for the user and
    profile rows) escape alike."""
    import libsql

    from export.repository import csv_value

    connection = libsql.connect(":memory:")
    connection.execute("CREATE TABLE t (v)")
    connection.execute("INSERT INTO t (v) VALUES (?)", (value,))
    (escaped,) = connection.execute(f"SELECT {csv_value('v')} FROM t").fetchone()
    assert ("" if escaped is None else str(escaped)) == writers.csv_cell(value)
