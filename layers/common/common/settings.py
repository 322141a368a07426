"""The one settings object: every environment variable of CONFIG.md, validated once, cached.

`Settings()` reads each field from the environment variable of exactly its name (case-sensitive, no
prefix, other variables ignored); keyword arguments win over the environment. Standard library only: the
pydantic model this was cost ~100 ms of every cold start (pydantic itself, its plugin loader's
importlib.metadata, and building the schema), more than all the rest of calendar_poll's own code.

Parsing is what the pydantic model's lax mode did with the same input (tests/unit/test_settings.py pins it):
an int from a string allows surrounding whitespace, a sign, `_` between digits and a `.0…` tail, nothing
else; a comma list drops blank items; a secret is a `Secret`, shown masked. Every bad variable is reported
in one `SettingsError`, by name, never with a secret's value.
"""

import os
import re
from dataclasses import MISSING, Field, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, get_args, get_origin
from urllib.parse import urlsplit

CommaList = list[str]  # from the environment: comma-separated, blanks dropped
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Secret:
    """A secret string: its value only through `get_secret_value()`, never in repr, str or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret('{self}')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)


class SettingsError(ValueError):
    """Invalid configuration: `problems` maps each bad variable's name to why (never a secret's value)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        listed = "; ".join(f"{name}: {reason}" for name, reason in problems.items())
        super().__init__(f"invalid settings ({len(problems)}): {listed}")


@dataclass(frozen=True, init=False)
class Settings:
    HOST: str = "127.0.0.1"
    PORT: int = field(default=8000, metadata={"ge": 1, "le": 65535})
    TRACKER_DATA_DIR: Path = Path("./data")
    PUBLIC_BASE_URL: str = ""
    DATABASE_URL: str = ""
    DATABASE_AUTH_TOKEN: Secret | None = None
    JWT_PRIVATE_KEY: Secret | None = None
    # Extension: the public half alone (PEM), for functions that verify access tokens but never issue
    # them (records, export): they then hold no signing key. JWT_PRIVATE_KEY wins when both are set.
    JWT_PUBLIC_KEY: str | None = None
    JWT_ISSUER: str = ""
    JWT_AUDIENCE: str = "interview-tracker"
    ACCESS_TOKEN_TTL_SECONDS: int = field(default=900, metadata={"ge": 60, "le": 86_400})
    REFRESH_TOKEN_TTL_SECONDS: int = field(default=2_592_000, metadata={"ge": 300, "le": 31_536_000})
    TOKEN_ENCRYPTION_KEY: Secret | None = None
    ALLOWED_REDIRECT_URIS: CommaList = field(default_factory=lambda: ["http://localhost:3000/auth/callback"])
    CORS_ALLOW_ORIGINS: CommaList = field(default_factory=list)
    GOOGLE_CLIENT_ID: str | None = None
    GOOGLE_CLIENT_SECRET: Secret | None = None
    GOOGLE_DISCOVERY_URL: str = "https://accounts.google.com/.well-known/openid-configuration"
    GOOGLE_CALENDAR_API_URL: str = "https://www.googleapis.com/"
    CALENDAR_POLL_INTERVAL_SECONDS: int = field(default=900, metadata={"ge": 1})
    CALENDAR_LOOKAHEAD_DAYS: int = field(default=30, metadata={"ge": 1, "le": 366})
    PREP_LEAD_DAYS: int = field(default=7, metadata={"ge": 0, "le": 366})
    ANTHROPIC_API_KEY: Secret | None = None
    ANTHROPIC_BASE_URL: str | None = None
    PREP_MODEL: str = "claude-sonnet-4-6"
    PREP_RATE_LIMIT_PER_HOUR: int = field(default=20, metadata={"ge": 1})
    EXPORT_URL_TTL_SECONDS: int = field(default=900, metadata={"ge": 1, "le": 604_800})
    EXPORT_BUCKET: str | None = None
    PREP_QUEUE_URL: str | None = None
    # Beyond CONFIG.md (AWS only): the queue of per-user calendar syncs the scheduled poll fans out to.
    CALENDAR_SYNC_QUEUE_URL: str | None = None
    AWS_ENDPOINT_URL: str | None = None
    LOG_LEVEL: str = "INFO"

    def __init__(self, **values: Any) -> None:
        given = {name: os.environ[name] for name in _FIELDS if name in os.environ}
        given.update((name, value) for name, value in values.items() if name in _FIELDS)  # others ignored
        problems: dict[str, str] = {}
        for name, spec in _FIELDS.items():
            raw = given[name] if name in given else _default(spec)
            try:
                object.__setattr__(self, name, _parse(name, spec, raw))
            except ValueError as exc:
                shown = "" if name in SECRET_FIELDS else f" (got {_shown(raw)})"
                problems[name] = f"{exc}{shown}"
        if problems:
            raise SettingsError(problems)
        self._derive_defaults()

    def _derive_defaults(self) -> None:
        """Defaults that depend on other settings (CONFIG.md); frozen, so set through object.__setattr__."""

        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if not self.PUBLIC_BASE_URL:
            put("PUBLIC_BASE_URL", f"http://{self.HOST}:{self.PORT}")
        put("PUBLIC_BASE_URL", self.PUBLIC_BASE_URL.rstrip("/"))
        if not self.DATABASE_URL:
            put("DATABASE_URL", f"file:{self.TRACKER_DATA_DIR / 'tracker.db'}")
        if not self.JWT_ISSUER:
            put("JWT_ISSUER", self.PUBLIC_BASE_URL)
        if not self.CORS_ALLOW_ORIGINS:
            put("CORS_ALLOW_ORIGINS", sorted({_origin(uri) for uri in self.ALLOWED_REDIRECT_URIS}))
        if "*" in self.CORS_ALLOW_ORIGINS:
            raise SettingsError({"CORS_ALLOW_ORIGINS": "must list exact origins, never '*'"})

    @property
    def serves_https(self) -> bool:
        return self.PUBLIC_BASE_URL.startswith("https://")

    @property
    def ai_configured(self) -> bool:
        """Prep can be generated (prep requests answer 503 otherwise): this process holds an Anthropic
        API key, or it hands jobs to a queue whose consumer does (AWS: only the prep function gets
        the key; records just sends to PREP_QUEUE_URL)."""
        if self.PREP_QUEUE_URL:
            return True
        return self.ANTHROPIC_API_KEY is not None and bool(self.ANTHROPIC_API_KEY.get_secret_value())


# ---- parsing ---------------------------------------------------------------------------------------


_FIELDS: dict[str, Field[Any]] = {spec.name: spec for spec in fields(Settings)}


def _base_type(spec: Field[Any]) -> tuple[Any, bool]:
    """(the field's type without None, whether None is allowed)."""
    if isinstance(spec.type, UnionType):
        (base,) = (arg for arg in get_args(spec.type) if arg is not NoneType)
        return base, True
    return spec.type, False


SECRET_FIELDS = frozenset(name for name, spec in _FIELDS.items() if _base_type(spec)[0] is Secret)
# What pydantic-core strips around a number: Unicode White_Space (Rust's char::is_whitespace), which is
# str.isspace() less the four information separators U+001C..U+001F.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE += "".join(map(chr, range(0x2000, 0x200B)))  # U+2000..U+200A
_INTEGER = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0+)?", re.ASCII)


def _default(spec: Field[Any]) -> Any:
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return spec.default


def _parse(name: str, spec: Field[Any], raw: Any) -> Any:
    base, optional = _base_type(spec)
    if raw is None and optional:
        return None
    if base is int:
        return _bounded(_to_int(raw), spec.metadata.get("ge"), spec.metadata.get("le"))
    if base is Path:
        if isinstance(raw, str | os.PathLike):
            return Path(raw)
        raise ValueError("must be a path")
    if base is Secret:
        return raw if isinstance(raw, Secret) else Secret(_to_str(raw))
    if get_origin(base) is list:
        if isinstance(raw, str):
            return [item.strip() for item in raw.split(",") if item.strip()]
        if isinstance(raw, list | tuple | set | frozenset):
            return [_to_str(item) for item in raw]
        raise ValueError("must be a comma-separated list")
    assert base is str, f"{name}: no parser for {base!r}"
    value = _to_str(raw)
    if name == "LOG_LEVEL":
        value = value.upper()
        if value not in LOG_LEVELS:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return value


def _to_str(raw: object) -> str:
    if isinstance(raw, str):
        return str(raw)
    if isinstance(raw, bytes | bytearray):
        try:
            return bytes(raw).decode()
        except UnicodeDecodeError:
            raise ValueError("must be valid UTF-8 text") from None
    raise ValueError("must be a string")


def _to_int(raw: object) -> int:
    if isinstance(raw, int):
        return int(raw)  # a bool too: True is 1
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError("must be a whole number")
        if abs(raw) >= 2.0**63:  # pydantic-core converted floats through a 64-bit int
            raise ValueError("must be a 64-bit integer")
        return int(raw)
    if not isinstance(raw, str | bytes):  # a bytearray is no number (pydantic's rule, kept)
        raise ValueError("must be an integer")
    text = _to_str(raw).strip(_WHITESPACE)
    if not _INTEGER.fullmatch(text):
        raise ValueError("must be an integer")
    try:
        return int(text.partition(".")[0])
    except ValueError:  # more digits than int() converts (4300)
        raise ValueError("must be an integer of at most 4300 digits") from None


def _bounded(value: int, ge: int | None, le: int | None) -> int:
    if ge is not None and value < ge:
        raise ValueError(f"must be at least {ge}")
    if le is not None and value > le:
        raise ValueError(f"must be at most {le}")
    return value


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
