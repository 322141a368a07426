"""HTTP routes of the auth function: accounts, sessions, health, JWKS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

import common
from auth import service
from auth.schemas import (
    Health,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UpdateMeRequest,
    User,
)
from common.db import get_database
from common.keys import derived_key
from common.settings import get_settings
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
    """Delete the account and all of its data, at once and for good."""
    service.delete_me(db, _policy(), user_id=principal.user_id)
    return Response(status_code=204)
