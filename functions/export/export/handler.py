"""Lambda entry point of the export function (its API routes; downloads come from S3 presigned URLs)."""

from common.web import create_app, make_handler
from export.router import api_router

app = create_app(api_router)
lambda_handler = make_handler(app)
