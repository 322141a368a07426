"""Request and response models of the export function (API.md: Export)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from common.schemas import ApiModel, RequestModel

ExportFormat = Literal["json", "csv"]


class ExportRequest(RequestModel):
    format: ExportFormat = Field(
        description="`json`: one document; `csv`: a ZIP with one CSV file per collection"
    )


class Export(ApiModel):
    id: str
    format: ExportFormat
    url: str = Field(
        description="Fetches the file without a bearer token until `expires_at` (S3 presigned GET in AWS, "
        "an HMAC-signed /v1/exports/{id}/download link locally)"
    )
    expires_at: str
    size_bytes: int
    sha256: str = Field(description="SHA-256 of the file, hex")
