"""Lambda entry point of the prep function: an SQS consumer with partial batch failures.

A message whose prep is finished (or gone) is acknowledged; one that must wait (transient failure,
or another worker holds the prep) is reported as failed, with its visibility timeout set to the wait,
so SQS delivers it again then. Messages that keep failing end in the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from common.batch import SqsMessage, process_sqs_batch
from common.clock import utc_now
from common.db import get_database
from common.observability import get_logger
from common.queue import Job
from common.settings import get_settings
from prep.llm import get_prep_model
from prep.service import Outcome, process_prep

MAX_VISIBILITY_SECONDS = 12 * 60 * 60  # SQS's limit


def _defer(record: SqsMessage, seconds: int) -> None:
    queue_url = get_settings().PREP_QUEUE_URL
    if not queue_url:
        return
    from common.queue import sqs_client

    try:
        sqs_client().change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=max(1, min(seconds, MAX_VISIBILITY_SECONDS)),
        )
    except Exception as exc:  # the queue's own visibility timeout applies instead
        get_logger().warning("could not set the retry delay", extra={"error_type": type(exc).__name__})


def record_handler(record: SqsMessage) -> bool:
    """True when the message is finished with; False when it must wait (reported as failed, so SQS
    delivers it again when the visibility set here ends)."""
    job = Job.from_body(record.body)
    if job.kind != "prep" or not isinstance(job.payload.get("prep_id"), str):
        raise ValueError("not a prep job")
    result = process_prep(
        get_database(), get_prep_model(), user_id=job.user_id, prep_id=job.payload["prep_id"], now=utc_now()
    )
    if result.outcome is Outcome.DONE:
        return True
    _defer(record, int(result.delay.total_seconds()))
    get_logger().debug("prep deferred", extra={"outcome": result.outcome.value})
    return False


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    get_logger().append_keys(request_id=getattr(context, "aws_request_id", None))
    # Even when every record must wait, the answer is the list of failures, not an invocation error:
    # each record's own retry delay (its visibility) then applies, not a blanket redelivery.
    return process_sqs_batch(event, record_handler)
