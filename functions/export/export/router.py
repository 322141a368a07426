"""HTTP routes of the export function.

`router` is everything `make run` serves. The Lambda function serves `api_router` only: in AWS the
export's URL is an S3 presigned GET, so the local download route is never deployed (an unmatched path
reaches the API's $default route and gets a problem+json 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from common.clock import utc_now
from common.settings import get_settings
from common.storage import get_blob_store, get_link_signer
from common.web import PROBLEM_JSON, CurrentPrincipal, Db, problem_responses
from export import service
from export.schemas import Export, ExportRequest

api_router = APIRouter()
router = APIRouter()


def _policy() -> service.ExportPolicy:
    return service.ExportPolicy(url_ttl_seconds=get_settings().EXPORT_URL_TTL_SECONDS)


@api_router.post(
    "/v1/exports",
    status_code=201,
    response_model=Export,
    tags=["export"],
    responses=problem_responses(
        400, 401, 413, 415, 422, 429, _429="Over the hourly export limit; see Retry-After"
    ),
)
async def create_export(body: ExportRequest, principal: CurrentPrincipal, db: Db) -> dict[str, Any]:
    """Export every record of yours (the user, profile, opportunities, interviews, contacts, notes, timeline,
    prep documents with their AI-processing records, calendar status) as one JSON document or a ZIP of
    CSV files, and get a URL that downloads it without a bearer token until `expires_at`. No password
    hash, token or key is ever part of an export. At most 10 exports an hour."""
    # Reading, writing and uploading a whole account takes a while: keep it off the event loop.
    return await run_in_threadpool(
        service.create_export,
        db,
        get_blob_store(),
        _policy(),
        user_id=principal.user_id,
        export_format=body.format,
        now=utc_now(),
    )


Link = Annotated[str | None, Query(max_length=64, description="Part of the signed link")]


@router.get(
    "/v1/exports/{id}/download",
    tags=["export"],
    response_class=FileResponse,
    responses={
        200: {
            "description": "The export file",
            "content": {"application/json": {}, "application/zip": {}},
        },
        403: {"description": "Altered or expired link", "content": {PROBLEM_JSON: {}}},
        **problem_responses(
            404, 422, _404="No such export (or it was deleted)", _422="`expires` or `signature` malformed"
        ),
    },
)
async def download_export(id: str, db: Db, expires: Link = None, signature: Link = None) -> FileResponse:
    """Local mode only: the file of an export, for the signed link POST /v1/exports returned (no bearer
    token). In AWS the export's URL is an S3 presigned GET instead."""
    download = service.open_download(
        db,
        get_blob_store(),
        get_link_signer(),
        export_id=id,
        expires=expires,
        signature=signature,
        now=utc_now(),
    )
    # A signed link must not leak through a Referer header from the downloaded page.
    return FileResponse(
        download.path,
        media_type=download.media_type,
        filename=download.filename,
        headers={"Referrer-Policy": "no-referrer"},
    )


router.include_router(api_router)
