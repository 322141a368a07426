"""Lambda entry point of the records function."""

from common.web import create_app, make_handler
from records.router import router

app = create_app(router)
lambda_handler = make_handler(app)
