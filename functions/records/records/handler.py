"""Lambda entry point of the records function."""

from records.router import router
from common.web import create_app, make_handler

app = create_app(router)
lambda_handler = make_handler(app)
