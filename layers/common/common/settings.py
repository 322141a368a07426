"""The one settings object: every environment variable of CONFIG.md, validated once, cached.

`Settings()` reads each field from the environment variable of exactly its name (case-sensitive, no
prefix, other variables ignored); keyword arguments win over the environment. A plain pydantic model:
pydantic-settings, which did the same, imported all its sources (cloud secret stores, CLI, dotenv) and cost
60-110 ms of every cold start.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

CommaList = list[str]  # from the environment: comma-separated, blanks dropped


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8000, ge=1, le=65535)
    TRACKER_DATA_DIR: Path = Path("./data")
    PUBLIC_BASE_URL: str = ""
    DATABASE_URL: str = ""
    DATABASE_AUTH_TOKEN: SecretStr | None = None
    JWT_PRIVATE_KEY: SecretStr | None = None
    # Extension: the public half alone (PEM), for functions that verify access tokens but never issue
    # them (records, export): they then hold no signing key. JWT_PRIVATE_KEY wins when both are set.
    JWT_PUBLIC_KEY: str | None = None
    JWT_ISSUER: str = ""
    JWT_AUDIENCE: str = "interview-tracker"
    ACCESS_TOKEN_TTL_SECONDS: int = Field(default=900, ge=60, le=86_400)
    REFRESH_TOKEN_TTL_SECONDS: int = Field(default=2_592_000, ge=300, le=31_536_000)
    TOKEN_ENCRYPTION_KEY: SecretStr | None = None
    ALLOWED_REDIRECT_URIS: CommaList = ["http://localhost:3000/auth/callback"]
    CORS_ALLOW_ORIGINS: CommaList = []
    GOOGLE_CLIENT_ID: str | None = None
    GOOGLE_CLIENT_SECRET: SecretStr | None = None
    GOOGLE_DISCOVERY_URL: str = "https://accounts.google.com/.well-known/openid-configuration"
    GOOGLE_CALENDAR_API_URL: str = "https://www.googleapis.com/"
    CALENDAR_POLL_INTERVAL_SECONDS: int = Field(default=900, ge=1)
    CALENDAR_LOOKAHEAD_DAYS: int = Field(default=30, ge=1, le=366)
    PREP_LEAD_DAYS: int = Field(default=7, ge=0, le=366)
    ANTHROPIC_API_KEY: SecretStr | None = None
    ANTHROPIC_BASE_URL: str | None = None
    PREP_MODEL: str = "claude-sonnet-4-6"
    PREP_RATE_LIMIT_PER_HOUR: int = Field(default=20, ge=1)
    EXPORT_URL_TTL_SECONDS: int = Field(default=900, ge=1, le=604_800)
    EXPORT_BUCKET: str | None = None
    PREP_QUEUE_URL: str | None = None
    # Beyond CONFIG.md (AWS only): the queue of per-user calendar syncs the scheduled poll fans out to.
    CALENDAR_SYNC_QUEUE_URL: str | None = None
    AWS_ENDPOINT_URL: str | None = None
    LOG_LEVEL: str = "INFO"

    def __init__(self, **values: Any) -> None:
        environ = {name: os.environ[name] for name in type(self).model_fields if name in os.environ}
        super().__init__(**{**environ, **values})

    _split = field_validator("ALLOWED_REDIRECT_URIS", "CORS_ALLOW_ORIGINS", mode="before")(_split_commas)

    @field_validator("LOG_LEVEL")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @model_validator(mode="after")
    def _derived_defaults(self) -> Settings:
        # Defaults that depend on other settings (CONFIG.md); frozen model, so set through __dict__.
        values = self.__dict__
        if not self.PUBLIC_BASE_URL:
            values["PUBLIC_BASE_URL"] = f"http://{self.HOST}:{self.PORT}"
        values["PUBLIC_BASE_URL"] = self.PUBLIC_BASE_URL.rstrip("/")
        if not self.DATABASE_URL:
            values["DATABASE_URL"] = f"file:{self.TRACKER_DATA_DIR / 'tracker.db'}"
        if not self.JWT_ISSUER:
            values["JWT_ISSUER"] = self.PUBLIC_BASE_URL
        if not self.CORS_ALLOW_ORIGINS:
            values["CORS_ALLOW_ORIGINS"] = sorted({_origin(uri) for uri in self.ALLOWED_REDIRECT_URIS})
        if "*" in self.CORS_ALLOW_ORIGINS:
            raise ValueError("CORS_ALLOW_ORIGINS must list exact origins, never '*'")
        return self

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


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
