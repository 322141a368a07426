"""Who is calling: a verified access token whose session is still alive in the database.

The token is verified without the database (signature, claims). That its session is still alive
(not revoked by logout, refresh-token reuse or account deletion, not expired) is checked inside the
request's own units of work: `SessionBoundDatabase` puts a guard statement at the head of each of
them, so the check costs no round trip of its own (DESIGN: one round trip per unit of work).

- A write unit is `[INSERT INTO session_guard ..., *statements]` as one atomic batch: the guard's
  trigger aborts the transaction when the session is not live (migration 0007), so a dead session
  can never write, not even in a race with its own logout.
- A read unit is `[SELECT 1 FROM sessions ..., *statements]` as one read-only batch (a consistent
  snapshot); the rows are thrown away unless the guard found the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.clock import utc_now_iso
from common.db import Database, DatabaseError, Params, Result, Statement, is_read_only
from common.errors import UnauthorizedError
from common.tokens import TokenService

_LIVE_SESSION = (
    "SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?"
)
_GUARD_WRITE = "INSERT INTO session_guard (session_id, user_id, now) VALUES (?, ?, ?)"
SESSION_ENDED = "session_ended"  # the guard trigger's RAISE message


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    session_id: str


def verify_access_token(token: str, *, tokens: TokenService) -> Principal:
    """The caller a valid access token names; its session is checked by `SessionBoundDatabase`."""
    claims = tokens.verify(token)
    return Principal(user_id=claims.user_id, session_id=claims.session_id)


def _session_ended() -> UnauthorizedError:
    return UnauthorizedError("The session has ended; sign in again")


class SessionBoundDatabase:
    """The Database port for one request. Unbound, it passes units of work through; once `bind`
    has named the caller, every unit of work also proves the caller's session is live (or fails
    with 401 and changes nothing)."""

    __slots__ = ("_db", "principal", "verified")

    def __init__(self, db: Database) -> None:
        self._db = db
        self.principal: Principal | None = None
        self.verified = False  # a unit of work of this request has proven the session live

    def ensure_live(self) -> None:
        """Prove the session live now if no unit of work has yet (an answer about to be sent without
        one, e.g. a 422, must still be a 401 for a dead session); UnauthorizedError if it is not."""
        if self.principal is not None and not self.verified:
            self.batch([])

    def bind(self, principal: Principal) -> None:
        self.principal = principal

    def execute(self, sql: str, params: Params = ()) -> Result:
        if self.principal is None:
            return self._db.execute(sql, params)
        return self.batch([Statement(sql, params)])[0]

    def batch(self, statements: Sequence[Statement]) -> list[Result]:
        principal = self.principal
        if principal is None:
            return self._db.batch(statements)
        args = (principal.session_id, principal.user_id, utc_now_iso())
        if all(is_read_only(s.sql) for s in statements):
            guard, *results = self._db.batch([Statement(_LIVE_SESSION, args), *statements])
            if not guard.rows:
                raise _session_ended()
            self.verified = True
            return results
        try:
            results = self._db.batch([Statement(_GUARD_WRITE, args), *statements])[1:]
        except DatabaseError as exc:
            if SESSION_ENDED in str(exc):
                raise _session_ended() from None
            raise
        self.verified = True
        return results

    def purge_deleted(self) -> None:
        self._db.purge_deleted()

    def close(self) -> None:
        """The process-wide database outlives the request: nothing to close."""
