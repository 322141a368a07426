"""Logs are JSON and never carry passwords, tokens or secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.observability import get_logger, redact
from tests.conftest import PASSWORD


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the service's JSON log handler writes, captured with the handler's own formatter."""
    logger = get_logger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def _lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_redact_masks_sensitive_keys_recursively() -> None:
    value = {
        "user": "u1",
        "password": "hunter2hunter2",
        "nested": {"refresh_token": "rt_x", "list": [{"Authorization": "Bearer x"}], "ok": 1},
    }
    assert redact(value) == {
        "user": "u1",
        "password": "[REDACTED]",
        "nested": {"refresh_token": "[REDACTED]", "list": [{"Authorization": "[REDACTED]"}], "ok": 1},
    }


def test_logger_redacts_extra_fields(log_output: io.StringIO) -> None:
    get_logger().info(
        "event", extra={"api_key": "sk-secret-1", "detail": {"client_secret": "gsecret"}, "user_id": "u1"}
    )
    out = log_output.getvalue()
    assert "sk-secret-1" not in out and "gsecret" not in out
    record = _lines(out)[-1]
    assert record["message"] == "event" and record["user_id"] == "u1"
    assert record["api_key"] == "[REDACTED]"


def test_account_flows_never_log_credentials(client: TestClient, log_output: io.StringIO) -> None:
    body = {"email": "log@example.com", "password": PASSWORD, "name": "Log"}
    tokens = client.post("/v1/auth/register", json=body).json()
    client.post("/v1/auth/login", json={"email": "log@example.com", "password": "wrong password!"})
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    client.get("/v1/me", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    out = log_output.getvalue()
    requests = [line for line in _lines(out) if line.get("message") == "request"]
    assert len(requests) == 4 and {r["status"] for r in requests} == {200, 201, 401}
    for secret in (PASSWORD, "wrong password!", tokens["access_token"], tokens["refresh_token"],
                   refreshed["access_token"], refreshed["refresh_token"]):  # fmt: skip
        assert secret not in out


def test_lines_carry_appended_keys_exceptions_and_the_trace_id(
    log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = get_logger()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8")
    logger.append_keys(request_id="req-1", refresh_token="rt_should_not_show")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    logger.append_keys(request_id=None, refresh_token=None)
    logger.info("after")
    failed, after = _lines(log_output.getvalue())[-2:]
    assert failed["level"] == "ERROR" and failed["message"] == "failed" and failed["service"]
    assert failed["request_id"] == "req-1" and failed["refresh_token"] == "[REDACTED]"
    assert failed["exception_name"] == "ValueError" and "boom" in failed["exception"]
    assert failed["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert "request_id" not in after and "exception" not in after
    assert "rt_should_not_show" not in log_output.getvalue()


def test_access_log_line_has_these_fields_in_this_order(log_output: io.StringIO) -> None:
    from auth.handler import lambda_handler
    from tests.events import LambdaContext, api_event

    context = LambdaContext()
    assert lambda_handler(api_event("health"), context)["statusCode"] == 200
    line = [line for line in _lines(log_output.getvalue()) if line.get("message") == "request"][-1]
    assert list(line) == [
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "request_id",
        "duration_ms",
        "method",
        "path",
        "status",
    ]
    assert line["level"] == "INFO" and re.fullmatch(r"__call__:\d+", line["location"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}[+-]\d{4}", line["timestamp"])
    assert line["request_id"] == context.aws_request_id
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/health", 200)
    assert isinstance(line["duration_ms"], float)


def test_redaction_holds_on_every_line_for_every_spelling(
    log_output: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):  # the first line decides for a key name, the next ones remember it
        for key in ("api_key", "Refresh_Token", "client-secret", "detail"):
            get_logger().info("event", extra={key: "s3cr3t-value", "nested": ({"Password": "pw-value"},)})
    out = log_output.getvalue()
    assert "s3cr3t-value" in out  # only under "detail", the one harmless name
    assert "pw-value" not in out and "pw-value" not in caplog.text
    lines = _lines(out)[-12:]
    for line in lines:
        [(key, value)] = [
            (k, v) for k, v in line.items() if k in {"api_key", "Refresh_Token", "client-secret", "detail"}
        ]
        assert value == ("s3cr3t-value" if key == "detail" else "[REDACTED]"), line
        assert line["nested"] == [{"Password": "[REDACTED]"}]
    for record in caplog.records:  # what propagates to other handlers is redacted too
        assert getattr(record, "api_key", "[REDACTED]") == "[REDACTED]"


def test_a_field_added_after_the_redacting_filter_is_still_written(log_output: io.StringIO) -> None:
    class AddsAField(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.cold_start = True
            return True

    [handler] = [h for h in get_logger().handlers if isinstance(h, logging.StreamHandler)]
    adds = AddsAField()
    handler.addFilter(adds)
    try:
        get_logger().info("event", extra={"user_id": "u1"})
    finally:
        handler.removeFilter(adds)
    line = _lines(log_output.getvalue())[-1]
    assert line["user_id"] == "u1" and line["cold_start"] is True
