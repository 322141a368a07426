"""SQS partial batch responses (Lambda's ReportBatchItemFailures) for the queue consumers (prep,
calendar_poll).

Each record is handled on its own. A record whose handler returns False (it must wait: SQS delivers it
again when its visibility timeout ends) or raises is listed in `batchItemFailures`; Lambda deletes the
others. An unexpected exception is logged with its traceback and never stops the other records. Even when
every record fails the answer is the list of failures, not an invocation error, so each record's own retry
delay (its visibility) applies rather than a redelivery of the whole batch.

Ours rather than Powertools' BatchProcessor: `aws_lambda_powertools.utilities.batch` imports every event
source's data classes and parser models (~280 ms of a cold start) for these few lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common.observability import get_logger


@dataclass(frozen=True, slots=True)
class SqsMessage:
    """The parts of an SQS event record the consumers use."""

    message_id: str
    receipt_handle: str
    body: str


def process_sqs_batch(event: Mapping[str, Any], handle: Callable[[SqsMessage], bool]) -> dict[str, Any]:
    """Run `handle` on every record of an SQS event; `{"batchItemFailures": [{"itemIdentifier":
    messageId}, ...]}` for those that returned False or raised. An event without records is refused."""
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise ValueError("not an SQS batch event: it has no Records")
    failures: list[dict[str, str]] = []
    for record in records:
        message_id = record.get("messageId") if isinstance(record, Mapping) else None
        try:
            done = handle(SqsMessage(record["messageId"], record["receiptHandle"], record["body"]))
        except Exception as exc:  # one record's failure must not fail the others
            get_logger().exception(
                "queue message failed", extra={"message_id": message_id, "error_type": type(exc).__name__}
            )
            done = False
        if not done:
            if not isinstance(message_id, str) or not message_id:
                # Nothing to name it by: fail the invocation, so Lambda retries the whole batch.
                raise ValueError("an SQS record that failed has no messageId")
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
