"""Domain errors. Raised deep, mapped to problem+json once (common.web)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the API reports to the caller; carries its HTTP status and problem type."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, slug: str | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        if slug is not None:
            self.type_slug = slug


class BadRequestError(DomainError):
    """A request the API cannot act on that no field-level validation describes (e.g. a bad cursor)."""


class ValidationFailedError(DomainError):
    """422 found by the service (ownership of linked ids, cross-field rules), with the same
    `errors: [{loc, msg}]` list as request-model validation."""

    status = 422
    type_slug = "validation-error"
    title = "Validation failed"

    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.errors = [{"loc": list(loc), "msg": msg} for loc, msg in errors]
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in errors)[:1000])


class UnauthorizedError(DomainError):
    status = 401
    type_slug = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str = "Missing, invalid or expired credentials") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="interview-tracker"'})


class InvalidCredentialsError(DomainError):
    """Login failure: one body whether the email exists or not."""

    status = 401
    type_slug = "invalid-credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("The email or password is incorrect")


class NotFoundError(DomainError):
    status = 404
    type_slug = "not-found"
    title = "Not found"

    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"The {what} does not exist")


class ConflictError(DomainError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class RateLimitedError(DomainError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class ServiceUnavailableError(DomainError):
    status = 503
    type_slug = "service-unavailable"
    title = "Service unavailable"
