"""SQS partial batch responses (common.batch): each record on its own, failures by messageId, an
unexpected exception logged and reported without stopping the others, never an invocation error for
records that merely failed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from common.batch import SqsMessage, process_sqs_batch
from common.observability import get_logger


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """What reaches the service's logger (after its redaction filter)."""
    handler = _Collect()
    get_logger().addHandler(handler)
    yield handler.records
    get_logger().removeHandler(handler)


def record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def handler(seen: list[SqsMessage]) -> Any:
    """ok -> done, wait -> must wait (False), anything else -> raises."""

    def handle(message: SqsMessage) -> bool:
        seen.append(message)
        if message.body == "ok":
            return True
        if message.body == "wait":
            return False
        raise RuntimeError(f"cannot handle {message.body}")

    return handle


def test_every_record_is_handled_and_only_failed_ones_are_reported(logged: list[logging.LogRecord]) -> None:
    seen: list[SqsMessage] = []
    event = {"Records": [record("m1", "ok"), record("m2", "boom"), record("m3", "wait"), record("m4", "ok")]}
    result = process_sqs_batch(event, handler(seen))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert seen == [
        SqsMessage("m1", "handle-m1", "ok"),
        SqsMessage("m2", "handle-m2", "boom"),
        SqsMessage("m3", "handle-m3", "wait"),
        SqsMessage("m4", "handle-m4", "ok"),
    ]
    # The unexpected exception is logged with its traceback; a record that must wait is not an error.
    errors = [r for r in logged if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert errors[0].message_id == "m2" and errors[0].error_type == "RuntimeError"  # type: ignore[attr-defined]
    assert errors[0].exc_info is not None and str(errors[0].exc_info[1]) == "cannot handle boom"


def test_all_succeeded_is_an_empty_list() -> None:
    assert process_sqs_batch({"Records": [record("m1", "ok")]}, handler([])) == {"batchItemFailures": []}


def test_a_batch_where_every_record_fails_lists_them_all_rather_than_raising() -> None:
    event = {"Records": [record("m1", "boom"), record("m2", "wait")]}
    result = process_sqs_batch(event, handler([]))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_a_malformed_record_fails_alone() -> None:
    broken = {"messageId": "m2", "receiptHandle": "h"}  # no body
    result = process_sqs_batch({"Records": [record("m1", "ok"), broken, record("m3", "ok")]}, handler([]))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}


def test_a_failed_record_without_a_message_id_fails_the_invocation() -> None:
    with pytest.raises(ValueError, match="no messageId"):
        process_sqs_batch({"Records": [record("m1", "ok"), {"body": "boom"}]}, handler([]))


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "m1"}, {"records": [record("m1", "ok")]}])
def test_an_event_without_records_is_refused(event: dict[str, Any]) -> None:
    seen: list[SqsMessage] = []
    with pytest.raises(ValueError, match="not an SQS batch event"):
        process_sqs_batch(event, handler(seen))
    assert seen == []
