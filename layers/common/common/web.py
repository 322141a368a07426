"""HTTP glue shared by the HTTP functions: app factory, problem+json errors, guards, Lambda handler."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import common
from common.cursors import PageRequest, get_cursor_codec
from common.db import Database, DatabaseBusyError, get_database
from common.errors import DomainError, UnauthorizedError, ValidationFailedError
from common.observability import get_logger
from common.security import Principal, SessionBoundDatabase, verify_access_token
from common.settings import get_settings
from common.tokens import get_token_service

MAX_BODY_BYTES = 1024 * 1024
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://interviewtracker.app/problems/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def problem_body(status: int, title: str, detail: str, slug: str, **extra: Any) -> dict[str, Any]:
    return {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail, **extra}


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = problem_body(status, title or phrase, detail, slug or phrase.lower().replace(" ", "-"), **extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


# ---- error mapping: the one place where exceptions become HTTP responses -----------------------


def _session_ended(request: Request) -> JSONResponse | None:
    """The 401 to send instead of an error answer when the caller's session is dead.

    The session check rides in the request's units of work (common.security); an answer produced
    before any of them ran (a 422 on the body, a 503 for an unconfigured provider) checks it here, so a
    dead session always gets 401, whatever else is wrong with its request."""
    db = getattr(request.state, "session_db", None)
    if not isinstance(db, SessionBoundDatabase):
        return None
    try:
        db.ensure_live()
    except UnauthorizedError as exc:
        return _problem_of(exc)
    return None


def _problem_of(exc: DomainError) -> JSONResponse:
    extra = {"errors": exc.errors} if isinstance(exc, ValidationFailedError) else {}
    return problem_response(
        exc.status, exc.detail, title=exc.title, slug=exc.type_slug, headers=exc.headers, **extra
    )


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if not isinstance(exc, UnauthorizedError) and (ended := _session_ended(request)) is not None:
        return ended
    return _problem_of(exc)


def _loc(loc: Iterable[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if (ended := _session_ended(request)) is not None:
        return ended
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem_response(400, "The request body is not valid JSON", slug="malformed-json")
    items = [{"loc": _loc(err.get("loc", ())), "msg": str(err.get("msg", "invalid"))} for err in errors]
    detail = "; ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in items)[:1000]
    return problem_response(422, detail, title="Validation failed", slug="validation-error", errors=items)


_ROUTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 lists only the first matching
    route's methods (GET, but not POST, on a list path); RFC 9110 15.5.6 asks for all of them."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _ROUTED_METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if (ended := _session_ended(request)) is not None:
        return ended
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 404:
        detail = "No such resource"
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(status, detail, headers=headers)


async def _busy_error(_: Request, exc: Exception) -> JSONResponse:
    get_logger().warning("database busy", extra={"error": type(exc).__name__})
    return problem_response(
        503, "The service is busy; try again shortly", headers={"Retry-After": "1"}, slug="busy"
    )


# ---- request guard: body size and type, security headers, access log ---------------------------


class _RefusedError(Exception):
    """A request the guard answers itself, before the app sees it."""

    def __init__(self, status: int, detail: str, slug: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.slug = status, detail, slug


async def _send_problem(send: Send, status: int, detail: str, slug: str) -> None:
    body = json.dumps(problem_body(status, HTTPStatus(status).phrase, detail, slug)).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_TOO_LARGE = f"Request bodies are limited to {MAX_BODY_BYTES} bytes"


class CorsPolicy(CORSMiddleware):
    """Starlette's CORS rules, applied by the request guard in its own `send` wrapper instead of as a
    middleware of their own (one ASGI wrapper less on every response: ~15-20 us). A preflight is answered by
    Starlette's code, a refused one as problem+json like every other error; a response of the app gets
    the headers Starlette's `CORSMiddleware.send` would give it, the same values in the same places."""

    def __init__(self, **options: Any) -> None:
        super().__init__(_not_an_app, **options)
        self._simple = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.simple_headers.items()
        ]

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        detail = bytes(response.body).decode() or "Disallowed CORS request"
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}
        return problem_response(400, detail, slug="cors-refused", headers=headers)

    def add_headers(self, raw: list[tuple[bytes, bytes]], origin: bytes | None) -> None:
        """What `CORSMiddleware.send` does to a response's headers, on the raw list, in place."""
        if origin is None:
            _set_header(raw, b"vary", _joined_vary(raw))
            return
        for key, value in self._simple:
            _set_header(raw, key, value)
        if self.allow_all_origins and self.allow_credentials:
            explicit = True
        else:
            explicit = not self.allow_all_origins and self.is_allowed_origin(origin.decode("latin-1"))
        if explicit:
            _set_header(raw, b"access-control-allow-origin", origin)
        _set_header(raw, b"vary", _joined_vary(raw))


async def _not_an_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("CorsPolicy is not in the middleware stack; RequestGuard applies it")


def _set_header(raw: list[tuple[bytes, bytes]], key: bytes, value: bytes) -> None:
    """`MutableHeaders.__setitem__`: the first `key` takes the value, any later ones go."""
    found = [i for i, (name, _) in enumerate(raw) if name == key]
    for i in reversed(found[1:]):
        del raw[i]
    if found:
        raw[found[0]] = (key, value)
    else:
        raw.append((key, value))


def _joined_vary(raw: list[tuple[bytes, bytes]]) -> bytes:
    return b", ".join([*(value for name, value in raw if name == b"vary"), b"Origin"])


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class RequestGuard:
    """Pure ASGI middleware: 413 over 1 MiB, 415 for non-JSON bodies, CORS (`CorsPolicy`), a
    problem+json 500 for any unhandled error, security headers on every response, one access-log line
    per request."""

    def __init__(self, app: ASGIApp, *, hsts: bool, cors: CorsPolicy) -> None:
        self.app = app
        self.hsts = hsts
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500, "started": 0}
        raw_headers = scope["headers"]
        headers = dict(raw_headers)  # the last of repeated headers, as before
        # HSTS when the public URL is https, or this request came over https (API Gateway passes the
        # scheme on as X-Forwarded-Proto, Mangum as the scope's scheme). Browsers ignore HSTS received
        # over plain http (RFC 6797 8.1), so a client-sent header gains an attacker nothing.
        forwarded = headers.get(b"x-forwarded-proto", b"").split(b",")[0].strip().lower()
        hsts = self.hsts or scope.get("scheme") == "https" or forwarded == b"https"
        # CORS reads the first Origin header, as Starlette's Headers.get does.
        origin = next((v for k, v in raw_headers if k == b"origin"), None) if b"origin" in headers else None
        cors = self.cors

        async def send_secured(message: Message) -> None:
            """Preflights (they carry their own CORS headers): the security headers."""
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                message["headers"] = self._secured(list(message.get("headers", [])), hsts)
            await send(message)

        async def send_with_headers(message: Message) -> None:
            """The app's answers: CORS, then the security headers."""
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                raw = list(message.get("headers", []))
                cors.add_headers(raw, origin)
                message["headers"] = self._secured(raw, hsts)
            await send(message)

        try:
            length = headers.get(b"content-length")
            declared = None if length is None else length.decode("latin-1")
            if declared is not None and not declared.isdigit():
                raise _RefusedError(400, "Content-Length must be a number of bytes", "bad-content-length")
            if declared is not None and int(declared) > MAX_BODY_BYTES:
                raise _RefusedError(413, _TOO_LARGE, "too-large")
            if scope["method"] in _BODY_METHODS or declared not in (None, "0"):
                media = headers.get(b"content-type", b"").decode("latin-1")
                receive = await self._buffer_body(media, receive)
            if (
                origin is not None
                and scope["method"] == "OPTIONS"
                and b"access-control-request-method" in headers
            ):
                await cors.preflight_response(Headers(scope=scope))(scope, receive, send_secured)
            else:
                await self.app(scope, receive, send_with_headers)
        except _RefusedError as refused:
            # With CORS like any answer, so a browser page on an allowed origin can read why (413, 415).
            await _send_problem(send_with_headers, refused.status, refused.detail, refused.slug)
        except Exception as exc:
            # Here rather than in an app exception handler: Starlette runs those outside every
            # middleware, so a 500 would miss the security headers and the access log's status.
            get_logger().exception(
                "unhandled error", extra={"path": scope["path"], "error_type": type(exc).__name__}
            )
            if status_holder["started"]:
                raise
            await _send_problem(send_with_headers, 500, "An unexpected error occurred", "internal-error")
        finally:
            logger = get_logger()
            if logger.isEnabledFor(logging.INFO):  # the line's fields are not even gathered otherwise
                logger.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_holder["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )

    @staticmethod
    def _secured(raw: list[tuple[bytes, bytes]], hsts: bool) -> list[tuple[bytes, bytes]]:
        present = {k.lower() for k, _ in raw}
        raw.append(_NOSNIFF)
        if b"cache-control" not in present:
            raw.append(_NO_STORE)
        if hsts:
            raw.append(_HSTS)
        return raw

    @staticmethod
    async def _buffer_body(content_type: str, receive: Receive) -> Receive:
        """Read the whole body (at most 1 MiB) and check its media type; replay it to the app."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _RefusedError(413, _TOO_LARGE, "too-large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            media = content_type.split(";")[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                raise _RefusedError(415, "Send the request body as application/json", "unsupported-media")
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


# ---- OpenAPI documentation of problem responses --------------------------------------------------

_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, or a cursor that was altered or belongs to another list)",
    401: "Missing, invalid or expired credentials",
    404: "No such resource among yours",
    409: "Conflict",
    413: "Body over 1 MiB",
    415: "Body is not JSON",
    422: "Validation failed; `errors` lists each field",
    429: "Too many requests; see Retry-After",
    503: "Temporarily unavailable; see Retry-After",
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for problem+json errors (descriptions override by `_<status>=`)."""
    return {
        status: {
            "description": descriptions.get(f"_{status}", _PROBLEM_DESCRIPTIONS[status]),
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }


# ---- dependencies ------------------------------------------------------------------------------
# Each dependency FastAPI solves costs it tens of microseconds a request, so the caller and the
# request's database are two (not four: bearer, database, principal, and the database again), sharing
# the database through the request's state.


def _request_database(request: Request) -> SessionBoundDatabase:
    """The request's database port, made on first use. One per request: `current_principal` binds it
    to the caller, so on an authenticated route every unit of work also checks the session, in the same
    round trip (common.security); an error answered before any unit of work finds it in the request's
    state to check the session itself (_session_ended)."""
    # The dict that `request.state` wraps (Starlette makes it the same way), read directly: a miss on
    # `request.state` is an AttributeError raised and caught, on every request.
    state: dict[str, Any] = request.scope.setdefault("state", {})
    db: SessionBoundDatabase | None = state.get("session_db")
    if db is None:
        db = state["session_db"] = SessionBoundDatabase(get_database())
    return db


async def db_dependency(request: Request) -> SessionBoundDatabase:
    # async: a plain `def` dependency would cost a thread-pool hop on every request.
    return _request_database(request)


class _BearerPrincipal(HTTPBearer):
    """The caller named by a valid `Authorization: Bearer` access token, with the request's database
    bound to their session. A FastAPI security scheme itself, so the OpenAPI document declares
    BearerAuth on every route that takes it, without a separate HTTPBearer dependency to solve."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("Send an access token: Authorization: Bearer <token>")
        principal = verify_access_token(token, tokens=get_token_service())
        _request_database(request).bind(principal)
        return principal


current_principal = _BearerPrincipal(
    auto_error=False, scheme_name="BearerAuth", description="Access token (JWT)"
)


async def page_request(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor, codec=get_cursor_codec())


Db = Annotated[Database, Depends(db_dependency)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Page = Annotated[PageRequest, Depends(page_request)]


# ---- app factory and Lambda handler ------------------------------------------------------------


def create_app(
    *routers: APIRouter, title: str = "Interview Tracker API", openapi_document: Path | None = None
) -> FastAPI:
    """The app of an HTTP function. `openapi_document` serves a prebuilt document of every route
    (`make openapi`) instead of this function's own routes only."""
    settings = get_settings()
    app = FastAPI(
        title=title,
        version=common.__version__,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    for router in routers:
        # The routers' routes themselves, not `app.include_router(router)`: FastAPI >= 0.165 keeps an
        # included router as one entry of the app's routes and matches a request twice (once to pick the
        # router, again inside it), with scope bookkeeping around every route it tries: ~50 us of every
        # request with records' 27 routes, and each route's handler built again on the first request.
        # Nothing is lost: the routers are included without a prefix, dependencies, tags or responses.
        app.router.routes.extend(router.routes)
    if openapi_document is not None:
        document = openapi_document

        def bundled_openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                app.openapi_schema = json.loads(document.read_text())
            return app.openapi_schema

        app.openapi = bundled_openapi  # type: ignore[method-assign]
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DatabaseBusyError, _busy_error)
    cors = CorsPolicy(
        allow_origins=settings.CORS_ALLOW_ORIGINS,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        # Exact origins only (never *): lets a frontend on another origin of the same site keep the
        # HttpOnly cookie that binds a calendar connection to its browser (fetch with credentials).
        allow_credentials=True,
        expose_headers=["Retry-After", "WWW-Authenticate"],
        max_age=600,
    )
    app.add_middleware(RequestGuard, hsts=settings.serves_https, cors=cors)
    return app


def make_handler(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point for an HTTP function (API Gateway HTTP API, payload v2.0)."""
    from mangum import Mangum

    # problem+json is text: without it Mangum would base64-encode every error body.
    asgi = Mangum(app, lifespan="off", text_mime_types=["text/", "application/json", PROBLEM_JSON])

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        get_logger().append_keys(request_id=getattr(context, "aws_request_id", None))
        return asgi(event, context)

    return lambda_handler
