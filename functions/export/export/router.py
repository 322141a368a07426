"""HTTP routes of this function (none yet: they arrive with the function's own issue)."""

from fastapi import APIRouter

router = APIRouter()
