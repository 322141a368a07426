"""Lambda entry point of the auth function.

API Gateway routes /v1/openapi.json here, so this function serves the document of every function's
routes, generated from the composed local app by `make openapi` (a test keeps it current).
"""

from pathlib import Path

from auth.router import router
from common.web import create_app, make_handler

OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")

app = create_app(router, openapi_document=OPENAPI_DOCUMENT)
lambda_handler = make_handler(app)
