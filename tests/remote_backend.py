"""`pytest --db=remote`: run the suite against the remote driver and the Hrana v3 test server.

Imported into tests/conftest.py. With `--db=remote`, one Hrana server subprocess serves the session
(tests/fakes/hrana_server.py over the libsql engine) and every test gets a fresh database on it:
DATABASE_URL=http://127.0.0.1:<port>/db/<name> and DATABASE_AUTH_TOKEN, so the application reaches
its data only through `common.db.remote` (Hrana pipelines over HTTP), migrations included.

The server keeps that database in the test's own data dir (`tracker.db`, as embedded would), so a
test that searches the stored bytes for a secret still checks what the app sent to the database.
Tests about how the embedded files themselves are kept (deleted rows purged from the file and its
WAL, owner-only file modes) say so with `@pytest.mark.embedded_db`; they are skipped under
`--db=remote`, where storage is the server's (in production, Turso's).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.hrana_server import HranaProcess

EMBEDDED_ONLY_REASON = (
    "checks how the embedded driver keeps its files (purged deletions, file modes); under --db=remote "
    "storage is the server's"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("embedded", "remote"),
        default="embedded",
        help="database backend for the app under test: embedded libSQL files (default) or remote "
        "(the Hrana v3 test server, through the remote driver)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"embedded_db: {EMBEDDED_ONLY_REASON}; skipped under --db=remote")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "remote":
        return
    skip = pytest.mark.skip(reason=f"--db=remote: {EMBEDDED_ONLY_REASON}")
    for item in items:
        if item.get_closest_marker("embedded_db") is not None:
            item.add_marker(skip)


def remote_backend(config: pytest.Config) -> bool:
    return bool(config.getoption("--db") == "remote")


@pytest.fixture(scope="session")
def hrana_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HranaProcess]:
    """One Hrana v3 test server (a subprocess) for the session; `url(name)` is a fresh database."""
    with HranaProcess(tmp_path_factory.mktemp("hrana")) as server:
        yield server


@pytest.fixture(autouse=True)
def remote_database(
    request: pytest.FixtureRequest, isolated_env: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str | None]:
    """Under --db=remote: this test's database name on the Hrana server (else None)."""
    if not remote_backend(request.config):
        yield None
        return
    from tests.conftest import reset_caches

    server: HranaProcess = request.getfixturevalue("hrana_server")
    name = f"t{uuid.uuid4().hex}"
    server.attach(name, isolated_env / "tracker.db")
    monkeypatch.setenv("DATABASE_URL", server.url(name))
    monkeypatch.setenv("DATABASE_AUTH_TOKEN", server.token or "")
    reset_caches()
    yield name
    server.detach(name)
