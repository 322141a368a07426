"""Request and response models of the auth function."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from common.schemas import ApiModel, Email, RequestModel, ShortText

PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # argon2 hashes anything, but an unbounded input is a denial-of-service lever
REFRESH_TOKEN_MAX = 200

Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
RefreshToken = Annotated[str, StringConstraints(min_length=1, max_length=REFRESH_TOKEN_MAX)]


class RegisterRequest(RequestModel):
    email: Email
    password: Password
    name: ShortText


class LoginRequest(RequestModel):
    email: Email
    password: AnyPassword


class RefreshRequest(RequestModel):
    refresh_token: RefreshToken


class LogoutRequest(RequestModel):
    refresh_token: RefreshToken | None = None


class UpdateMeRequest(RequestModel):
    """PATCH semantics: an absent field is left as it is; `name` cannot be cleared."""

    name: ShortText | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("name cannot be cleared")
        return value


class CalendarStatus(ApiModel):
    connected: bool
    status: Literal["connected", "disconnected", "reauth_required"]
    last_synced_at: str | None
    interviews_found: int
    error: str | None = Field(
        default=None, description="Why the calendar is not connected (a denied or partial grant), if known"
    )


class User(ApiModel):
    id: str
    email: str
    name: str
    picture_url: str | None
    google_linked: bool
    calendar: CalendarStatus
    created_at: str
    updated_at: str


class TokenResponse(ApiModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name
    expires_in: int
    refresh_token: str
    user: User


class Health(ApiModel):
    status: Literal["ok"]
    version: str


class CalendarConnectRequest(RequestModel):
    redirect_uri: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AuthorizationUrl(ApiModel):
    authorization_url: str
