"""Who is calling: a verified access token whose session is still alive in the database."""

from __future__ import annotations

from dataclasses import dataclass

from common.clock import utc_now_iso
from common.db import Database
from common.errors import UnauthorizedError
from common.tokens import TokenService

_LIVE_SESSION = (
    "SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?"
)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    session_id: str


def authenticate(token: str, *, tokens: TokenService, db: Database) -> Principal:
    """Verify the JWT, then that its session is neither revoked nor deleted (one indexed lookup)."""
    claims = tokens.verify(token)
    if not db.execute(_LIVE_SESSION, (claims.session_id, claims.user_id, utc_now_iso())).rows:
        raise UnauthorizedError("The session has ended; sign in again")
    return Principal(user_id=claims.user_id, session_id=claims.session_id)
