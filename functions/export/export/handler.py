"""Lambda entry point of the export function."""

from common.web import create_app, make_handler
from export.router import router

app = create_app(router)
lambda_handler = make_handler(app)
