"""HTTP routes of the auth function: accounts, sessions, health, JWKS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse

import common
from auth import google_flows, service
from auth.google import get_google_client
from auth.schemas import (
    AuthorizationUrl,
    CalendarConnectRequest,
    CalendarStatus,
    Health,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UpdateMeRequest,
    User,
)
from common.clock import utc_now
from common.crypto import get_sealer
from common.db import get_database
from common.keys import derived_key
from common.queue import CALENDAR_SYNC_JOB, get_job_queue
from common.settings import get_settings
from common.storage import get_blob_store
from common.tokens import get_token_service
from common.web import CurrentPrincipal, Db, problem_responses

router = APIRouter()

_PROBLEMS = problem_responses(400, 401, 413, 415, 422)


def _policy() -> service.SessionPolicy:
    return service.SessionPolicy(
        tokens=get_token_service(),
        refresh_ttl_seconds=get_settings().REFRESH_TOKEN_TTL_SECONDS,
        email_key_secret=derived_key("login-failures"),
    )


@router.get(
    "/v1/health",
    response_model=Health,
    tags=["health"],
    responses={503: {"description": "The database is unreachable"}},
)
async def health() -> dict[str, Any]:
    """Liveness and database reachability."""
    service.check_database(get_database)
    return {"status": "ok", "version": common.__version__}


@router.get("/.well-known/jwks.json", tags=["health"])
async def jwks() -> JSONResponse:
    """Public keys that verify access tokens."""
    return JSONResponse(get_token_service().jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.post(
    "/v1/auth/register",
    status_code=201,
    response_model=TokenResponse,
    tags=["auth"],
    responses={**_PROBLEMS, **problem_responses(409, _409="Email already registered")},
)
async def register(body: RegisterRequest, db: Db) -> dict[str, Any]:
    """Create an account with email and password (10+ characters) and sign in."""
    # argon2 is deliberately slow: keep it off the event loop.
    return await run_in_threadpool(
        service.register, db, _policy(), email=body.email, password=body.password, name=body.name
    )


@router.post(
    "/v1/auth/login",
    response_model=TokenResponse,
    tags=["auth"],
    responses={**_PROBLEMS, **problem_responses(429, _429="Too many failed attempts; see Retry-After")},
)
async def login(body: LoginRequest, db: Db) -> dict[str, Any]:
    """Sign in with email and password."""
    return await run_in_threadpool(service.login, db, _policy(), email=body.email, password=body.password)


@router.post("/v1/auth/refresh", response_model=TokenResponse, tags=["auth"], responses=_PROBLEMS)
async def refresh(body: RefreshRequest, db: Db) -> dict[str, Any]:
    """Exchange a refresh token for a new token pair (the old refresh token is spent)."""
    return service.refresh(db, _policy(), refresh_token=body.refresh_token)


@router.post("/v1/auth/logout", status_code=204, tags=["auth"], responses=_PROBLEMS)
async def logout(principal: CurrentPrincipal, db: Db, body: LogoutRequest | None = None) -> Response:
    """End the current session (its access and refresh tokens stop working)."""
    service.logout(
        db,
        user_id=principal.user_id,
        session_id=principal.session_id,
        refresh_token=body.refresh_token if body else None,
    )
    return Response(status_code=204)


@router.get("/v1/me", response_model=User, tags=["account"], responses=_PROBLEMS)
async def get_me(principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """The signed-in user."""
    return service.get_me(db, user_id=principal.user_id)


@router.patch("/v1/me", response_model=User, tags=["account"], responses=_PROBLEMS)
async def update_me(body: UpdateMeRequest, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Update the signed-in user's name."""
    if body.name is None:
        return service.get_me(db, user_id=principal.user_id)
    return service.update_me(db, user_id=principal.user_id, name=body.name)


@router.delete("/v1/me", status_code=204, tags=["account"], responses=_PROBLEMS)
async def delete_me(principal: CurrentPrincipal, db: Db) -> Response:
    """Delete the account and all of its data, at once and for good (Google access is revoked first)."""
    await run_in_threadpool(
        google_flows.delete_account,
        db,
        _policy(),
        get_google_client(),
        get_sealer(),
        get_blob_store(),
        user_id=principal.user_id,
    )
    return Response(status_code=204)


# ---- Google sign-in and the calendar connection ----------------------------------------------------

BINDING_COOKIE = "tracker_oauth_binding"
_BINDING_PATH = "/v1/auth/google"  # sent to both callbacks, nowhere else
_GOOGLE_PROBLEMS = problem_responses(
    400, 503, _400="Invalid redirect_uri, state or OAuth answer", _503="Google is not configured"
)


def _callback_url(path: str) -> str:
    return get_settings().PUBLIC_BASE_URL + path


def _with_binding(response: Response, binding: str) -> Response:
    """Bind the flow to this browser: HttpOnly, SameSite=Lax, Secure except on http://localhost."""
    parts = urlsplit(get_settings().PUBLIC_BASE_URL)
    local_http = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=int(google_flows.STATE_TTL.total_seconds()),
        path=_BINDING_PATH,
        httponly=True,
        secure=not local_http,
        samesite="lax",
    )
    return response


@router.get(
    "/v1/auth/google/login",
    status_code=302,
    tags=["google"],
    responses={**_GOOGLE_PROBLEMS, 302: {"description": "To Google's consent page"}},
)
async def google_login(request: Request, db: Db, redirect_uri: str | None = None) -> Response:
    """Sign in with Google (OIDC code flow with state, nonce and PKCE S256). `redirect_uri` must be one
    of the registered frontend URLs exactly; the token response comes back in its URL fragment."""
    google = google_flows.require(get_google_client())
    target = google_flows.check_redirect_uri(redirect_uri, get_settings().ALLOWED_REDIRECT_URIS)
    start = await run_in_threadpool(
        google_flows.start_signin,
        db,
        google,
        get_sealer(),
        redirect_uri=target,
        callback_url=_callback_url("/v1/auth/google/callback"),
        binding=request.cookies.get(BINDING_COOKIE),
        now=utc_now(),
    )
    return _with_binding(RedirectResponse(start.authorization_url, status_code=302), start.binding)


@router.get(
    "/v1/auth/google/callback",
    status_code=302,
    tags=["google"],
    responses={
        **_GOOGLE_PROBLEMS,
        **problem_responses(409, _409="The email belongs to an account Google has not verified"),
        302: {"description": "To the frontend, with the token response (or error=) in the fragment"},
    },
)
async def google_callback(
    request: Request, db: Db, code: str | None = None, state: str | None = None, error: str | None = None
) -> Response:
    """Google's redirect after sign-in."""
    google = google_flows.require(get_google_client())
    location = await run_in_threadpool(
        google_flows.finish_signin,
        db,
        google,
        get_sealer(),
        _policy(),
        code=code,
        state=state,
        error=error,
        binding=request.cookies.get(BINDING_COOKIE),
        callback_url=_callback_url("/v1/auth/google/callback"),
        now=utc_now(),
    )
    return RedirectResponse(location, status_code=302, headers={"Referrer-Policy": "no-referrer"})


@router.post(
    "/v1/me/calendar/connect",
    response_model=AuthorizationUrl,
    tags=["calendar"],
    responses={**_PROBLEMS, **_GOOGLE_PROBLEMS},
)
async def calendar_connect(
    body: CalendarConnectRequest, request: Request, principal: CurrentPrincipal, db: Db
) -> Response:
    """Start connecting a Google Calendar (read-only events, offline access). Open the returned URL in
    the same browser: the flow is bound to it by a cookie set here."""
    google = google_flows.require(get_google_client())
    target = google_flows.check_redirect_uri(body.redirect_uri, get_settings().ALLOWED_REDIRECT_URIS)
    start = await run_in_threadpool(
        google_flows.start_calendar,
        db,
        google,
        get_sealer(),
        user_id=principal.user_id,
        redirect_uri=target,
        callback_url=_callback_url("/v1/auth/google/calendar/callback"),
        binding=request.cookies.get(BINDING_COOKIE),
        now=utc_now(),
    )
    return _with_binding(JSONResponse({"authorization_url": start.authorization_url}), start.binding)


@router.get(
    "/v1/auth/google/calendar/callback",
    status_code=302,
    tags=["calendar"],
    responses={
        **_GOOGLE_PROBLEMS,
        302: {"description": "To the frontend (error= in the fragment if not connected)"},
    },
)
async def calendar_callback(
    request: Request, db: Db, code: str | None = None, state: str | None = None, error: str | None = None
) -> Response:
    """Google's redirect after the calendar consent: the tokens are stored encrypted."""
    google = google_flows.require(get_google_client())
    location = await run_in_threadpool(
        google_flows.finish_calendar,
        db,
        google,
        get_sealer(),
        code=code,
        state=state,
        error=error,
        binding=request.cookies.get(BINDING_COOKIE),
        callback_url=_callback_url("/v1/auth/google/calendar/callback"),
        now=utc_now(),
    )
    return RedirectResponse(location, status_code=302, headers={"Referrer-Policy": "no-referrer"})


@router.get("/v1/me/calendar", response_model=CalendarStatus, tags=["calendar"], responses=_PROBLEMS)
async def calendar(principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """The calendar connection's status."""
    return google_flows.get_calendar_status(db, user_id=principal.user_id)


@router.post(
    "/v1/me/calendar/sync",
    status_code=202,
    response_model=CalendarStatus,
    tags=["calendar"],
    responses={**_PROBLEMS, **problem_responses(409, 503, _409="No calendar is connected")},
)
async def calendar_sync(principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Sync the calendar now (the same code path as the scheduled poll); answers at once with the
    current status while the sync runs."""
    google_flows.require(get_google_client())
    return google_flows.request_sync(
        db, get_job_queue(CALENDAR_SYNC_JOB), user_id=principal.user_id, now=utc_now()
    )


@router.delete("/v1/me/calendar", status_code=204, tags=["calendar"], responses=_PROBLEMS)
async def calendar_disconnect(principal: CurrentPrincipal, db: Db) -> Response:
    """Revoke access at Google (best effort) and delete the tokens and sync state."""
    await run_in_threadpool(
        google_flows.disconnect_calendar, db, get_google_client(), get_sealer(), user_id=principal.user_id
    )
    return Response(status_code=204)
