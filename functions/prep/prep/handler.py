"""Lambda entry point of the prep function: an SQS consumer with partial batch failures.

A message whose prep is finished (or gone) is acknowledged; one that must wait (transient failure,
or another worker holds the prep) is reported as failed, with its visibility timeout set to the wait,
so SQS delivers it again then. Messages that keep failing end in the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from common.clock import utc_now
from common.db import get_database
from common.observability import get_logger
from common.queue import Job
from common.settings import get_settings
from prep.llm import get_prep_model
from prep.service import Outcome, process_prep

# Even when every record must wait, answer with the list of failures rather than an invocation error:
# each record's own retry delay (its visibility) then applies, not a blanket redelivery.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
MAX_VISIBILITY_SECONDS = 12 * 60 * 60  # SQS's limit


class DeferredError(Exception):
    """The job must wait; raising it marks the record failed so SQS redelivers it."""


def _defer(record: SQSRecord, seconds: int) -> None:
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


def record_handler(record: SQSRecord) -> None:
    job = Job.from_body(record.body)
    if job.kind != "prep" or not isinstance(job.payload.get("prep_id"), str):
        raise ValueError("not a prep job")
    result = process_prep(
        get_database(), get_prep_model(), user_id=job.user_id, prep_id=job.payload["prep_id"], now=utc_now()
    )
    if result.outcome is not Outcome.DONE:
        _defer(record, int(result.delay.total_seconds()))
        raise DeferredError(result.outcome.value)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    get_logger().append_keys(request_id=getattr(context, "aws_request_id", None))
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
