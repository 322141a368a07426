"""The whole API in one ASGI app: every HTTP function's routes, as API Gateway would route them."""

from __future__ import annotations

from fastapi import FastAPI

from auth.router import router as auth_router
from common.web import create_app
from export.router import router as export_router
from records.router import router as records_router


def build_app() -> FastAPI:
    return create_app(auth_router, records_router, export_router)
