"""Settings: CONFIG.md names, local defaults derived from each other, bad values rejected."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from common.settings import SECRET_FIELDS, Secret, Settings, SettingsError

_CONFIG_TABLE = """
HOST PORT TRACKER_DATA_DIR PUBLIC_BASE_URL DATABASE_URL DATABASE_AUTH_TOKEN JWT_PRIVATE_KEY JWT_ISSUER
JWT_AUDIENCE ACCESS_TOKEN_TTL_SECONDS REFRESH_TOKEN_TTL_SECONDS TOKEN_ENCRYPTION_KEY ALLOWED_REDIRECT_URIS
CORS_ALLOW_ORIGINS GOOGLE_CLIENT_ID GOOGLE_CLIENT_SECRET GOOGLE_DISCOVERY_URL GOOGLE_CALENDAR_API_URL
CALENDAR_POLL_INTERVAL_SECONDS CALENDAR_LOOKAHEAD_DAYS PREP_LEAD_DAYS ANTHROPIC_API_KEY ANTHROPIC_BASE_URL
PREP_MODEL PREP_RATE_LIMIT_PER_HOUR EXPORT_URL_TTL_SECONDS EXPORT_BUCKET PREP_QUEUE_URL AWS_ENDPOINT_URL
LOG_LEVEL
"""  # the table of ../shared/CONFIG.md
CONFIG_NAMES = set(_CONFIG_TABLE.split())
# Settings this project adds to the contract, each documented in the README's settings summary.
EXTENSIONS = {"CALENDAR_SYNC_QUEUE_URL", "JWT_PUBLIC_KEY"}


@pytest.fixture(autouse=True)
def _no_database_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the settings' own defaults; --db=remote points the suite's DATABASE_URL at the
    Hrana test server."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_AUTH_TOKEN", raising=False)


def test_fields_are_exactly_the_config_contract_plus_documented_extensions() -> None:
    assert {field.name for field in dataclasses.fields(Settings)} == CONFIG_NAMES | EXTENSIONS
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in EXTENSIONS:
        assert name in readme, name


def test_local_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATA_DIR")
    s = Settings()
    assert (s.HOST, s.PORT) == ("127.0.0.1", 8000)
    assert s.PUBLIC_BASE_URL == "http://127.0.0.1:8000"
    assert s.JWT_ISSUER == "http://127.0.0.1:8000"
    assert s.JWT_AUDIENCE == "interview-tracker"
    assert s.TRACKER_DATA_DIR == Path("./data")
    assert s.DATABASE_URL == f"file:{Path('./data') / 'tracker.db'}"
    assert s.ALLOWED_REDIRECT_URIS == ["http://localhost:3000/auth/callback"]
    assert s.CORS_ALLOW_ORIGINS == ["http://localhost:3000"]
    assert (s.ACCESS_TOKEN_TTL_SECONDS, s.REFRESH_TOKEN_TTL_SECONDS) == (900, 2_592_000)
    assert not s.serves_https
    assert s.GOOGLE_CLIENT_ID is None and s.ANTHROPIC_API_KEY is None and s.EXPORT_BUCKET is None


def test_derived_values_follow_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - a value under test, nothing binds
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("ALLOWED_REDIRECT_URIS", "https://app.example.com/cb, https://app.example.com/other,"
                       "http://localhost:5173/cb")  # fmt: skip
    s = Settings()
    assert s.PUBLIC_BASE_URL == "http://0.0.0.0:9001"
    assert s.ALLOWED_REDIRECT_URIS == [
        "https://app.example.com/cb",
        "https://app.example.com/other",
        "http://localhost:5173/cb",
    ]
    assert s.CORS_ALLOW_ORIGINS == ["http://localhost:5173", "https://app.example.com"]


def test_explicit_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/")
    monkeypatch.setenv("JWT_ISSUER", "https://issuer.example.com")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://a.example.com,https://b.example.com")
    monkeypatch.setenv("DATABASE_URL", "libsql://db.example.turso.io")
    s = Settings()
    assert s.PUBLIC_BASE_URL == "https://api.example.com"
    assert s.serves_https
    assert s.JWT_ISSUER == "https://issuer.example.com"
    assert s.CORS_ALLOW_ORIGINS == ["https://a.example.com", "https://b.example.com"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "not-a-number"),
        ("PORT", "70000"),
        ("ACCESS_TOKEN_TTL_SECONDS", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("CORS_ALLOW_ORIGINS", "*"),
    ],
)
def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError):
        Settings()


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    monkeypatch.setenv("DATABASE_AUTH_TOKEN", "turso-very-secret")
    s = Settings()
    assert "very-secret" not in repr(s) and "very-secret" not in str(dataclasses.asdict(s))
    assert "very-secret" not in str(s.ANTHROPIC_API_KEY) and "very-secret" not in f"{s.DATABASE_AUTH_TOKEN}"
    assert repr(s.ANTHROPIC_API_KEY) == "Secret('**********')"
    assert s.DATABASE_AUTH_TOKEN is not None
    assert s.DATABASE_AUTH_TOKEN.get_secret_value() == "turso-very-secret"


def test_environment_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each field from the variable of exactly its name, parsed to its type; other variables ignored."""
    monkeypatch.setenv("PORT", " 8081 ")
    monkeypatch.setenv("port", "1")  # names are case-sensitive
    monkeypatch.setenv("Host", "10.0.0.1")
    monkeypatch.setenv("TRACKER_DATA_DIR", "/srv/tracker")
    monkeypatch.setenv("ALLOWED_REDIRECT_URIS", " https://a.example.com/cb ,, ,https://b.example.com:8443/x ")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "")  # set but empty stays "", not None
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("PREP_LEAD_DAYS", "0")
    monkeypatch.setenv("NOT_A_SETTING", "x")
    s = Settings()
    assert (s.HOST, s.PORT) == ("127.0.0.1", 8081)
    assert s.TRACKER_DATA_DIR == Path("/srv/tracker")
    assert s.DATABASE_URL == f"file:{Path('/srv/tracker') / 'tracker.db'}"
    assert s.ALLOWED_REDIRECT_URIS == ["https://a.example.com/cb", "https://b.example.com:8443/x"]
    assert s.CORS_ALLOW_ORIGINS == ["https://a.example.com", "https://b.example.com:8443"]
    assert s.ANTHROPIC_API_KEY is not None and s.ANTHROPIC_API_KEY.get_secret_value() == "sk-ant-x"
    assert s.ai_configured
    assert s.ANTHROPIC_BASE_URL == ""
    assert s.LOG_LEVEL == "DEBUG"
    assert s.PREP_LEAD_DAYS == 0
    assert not hasattr(s, "NOT_A_SETTING")


def test_an_empty_redirect_list_gives_no_cors_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_REDIRECT_URIS", " , ")
    s = Settings()
    assert s.ALLOWED_REDIRECT_URIS == [] and s.CORS_ALLOW_ORIGINS == []


def test_keyword_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("PREP_MODEL", "from-env")
    s = Settings(PORT=9002)
    assert (s.PORT, s.PREP_MODEL) == (9002, "from-env")


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.PORT = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.NEW_NAME = 1  # type: ignore[attr-defined]
    assert s.PORT == 8000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"),
        ("PORT", "8000.5"),
        ("PORT", ""),
        ("REFRESH_TOKEN_TTL_SECONDS", "299"),
        ("CALENDAR_LOOKAHEAD_DAYS", "367"),
        ("PREP_LEAD_DAYS", "-1"),
        ("PREP_RATE_LIMIT_PER_HOUR", "0"),
        ("EXPORT_URL_TTL_SECONDS", "604801"),
        ("CALENDAR_POLL_INTERVAL_SECONDS", "0"),
        ("CORS_ALLOW_ORIGINS", "https://a.example.com, *"),
    ],
)
def test_more_bad_values_are_rejected_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        Settings()
    assert name in str(error.value) and set(error.value.problems) == {name}


def test_every_bad_variable_is_named_in_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    monkeypatch.setenv("PREP_LEAD_DAYS", "-1")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "*")  # checked once every variable parses
    with pytest.raises(SettingsError) as error:
        Settings()
    assert isinstance(error.value, ValueError)
    assert error.value.problems == {
        "PORT": "must be an integer (got 'eighty')",
        "PREP_LEAD_DAYS": "must be at least 0 (got '-1')",
        "LOG_LEVEL": "must be DEBUG, INFO, WARNING, ERROR or CRITICAL (got 'LOUD')",
    }
    message = str(error.value)
    assert message.startswith("invalid settings (3): ")
    assert all(f"{name}: {reason}" in message for name, reason in error.value.problems.items())


def test_an_invalid_secret_is_named_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_AUTH_TOKEN", "turso-very-secret")
    monkeypatch.setenv("PORT", "70000")
    with pytest.raises(SettingsError) as error:
        Settings(ANTHROPIC_API_KEY=b"\xff sk-ant-very-secret", GOOGLE_CLIENT_SECRET=12345678)
    assert set(error.value.problems) == {"PORT", "ANTHROPIC_API_KEY", "GOOGLE_CLIENT_SECRET"}
    shown = f"{error.value} {error.value!r} {error.value.problems}"
    assert "very-secret" not in shown and "12345678" not in shown
    assert error.value.problems["GOOGLE_CLIENT_SECRET"] == "must be a string"


def test_the_secret_fields() -> None:
    assert {
        "DATABASE_AUTH_TOKEN",
        "JWT_PRIVATE_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "GOOGLE_CLIENT_SECRET",
        "ANTHROPIC_API_KEY",
    } == SECRET_FIELDS
    assert Secret("a") == Secret("a") != Secret("b")
    # An empty one is shown as empty, as pydantic's SecretStr did: nothing to hide.
    assert (str(Secret("")), repr(Secret(""))) == ("", "Secret('')")


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (" 42", 42),
        ("\t42\n", 42),
        ("\xa042", 42),  # Unicode whitespace around the number
        ("+42", 42),
        ("0042", 42),
        ("1_000", 1000),  # `_` between digits
        ("42.0", 42),
        (" 1_000.000 ", 1000),  # a zero fraction
        ("42.", None),
        ("42.5", None),
        ("1__0", None),
        ("_1", None),
        ("10_", None),
        ("4e1", None),
        ("0x2a", None),
        ("٤٢", None),  # digits other than ASCII
        ("\u200b42", None),  # not whitespace
        ("42\x1c", None),  # str.isspace() says yes; the old parser said no
        ("inf", None),
        ("", None),
    ],
)
def test_integers_parse_as_the_pydantic_model_did(
    monkeypatch: pytest.MonkeyPatch, value: str, parsed: int | None
) -> None:
    """What the pydantic model (lax mode) accepted from the environment, and nothing else."""
    monkeypatch.setenv("CALENDAR_POLL_INTERVAL_SECONDS", value)
    if parsed is None:
        with pytest.raises(SettingsError, match="CALENDAR_POLL_INTERVAL_SECONDS: must be an integer"):
            Settings()
    else:
        assert Settings().CALENDAR_POLL_INTERVAL_SECONDS == parsed


def test_keyword_arguments_are_checked_too() -> None:
    s = Settings(PORT=9002.0, ALLOWED_REDIRECT_URIS=("https://a.example.com/cb",), TRACKER_DATA_DIR="/srv/t")
    assert (s.PORT, s.TRACKER_DATA_DIR) == (9002, Path("/srv/t"))
    assert s.ALLOWED_REDIRECT_URIS == ["https://a.example.com/cb"]
    with pytest.raises(SettingsError) as error:
        Settings(PORT=9002.5, HOST=1, CORS_ALLOW_ORIGINS=[1], GOOGLE_CLIENT_ID=None, NOT_A_SETTING=object())
    assert set(error.value.problems) == {"PORT", "HOST", "CORS_ALLOW_ORIGINS"}


def test_settings_and_the_calendar_poll_handler_load_no_pydantic() -> None:
    """Issue 9: pydantic was ~100 ms of calendar_poll's cold start, and Settings its only user there."""
    code = (
        "import sys, common.settings, calendar_poll.handler\n"
        "print(sorted(name for name in sys.modules if name.startswith(('pydantic', 'annotated_types'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
