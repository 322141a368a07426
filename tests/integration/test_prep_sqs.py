"""AWS mode (PREP_QUEUE_URL set): `records` publishes the prep job to SQS (moto's server, the real boto3)
and `prep.handler.lambda_handler` consumes it from real SQS event shapes built from the received messages
(issue 4: Powertools BatchProcessor with partial batch failures; one model call per job under duplicate
delivery; a deferred job is reported failed and its visibility set to the wait).

events/sqs/prep.json is the sample for `sam local invoke -e events/sqs/prep.json PrepFunction`; it lives in
a subfolder because events/*.json are API Gateway events (tests/events.py globs only that level).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.clock import to_iso, utc_now
from common.db import get_database
from tests.conftest import reset_caches
from tests.events import EVENTS_DIR, LambdaContext
from tests.fakes.anthropic_server import DEFAULT_PREP, FakeAnthropic, Reply
from tests.integration.test_prep_requests import (
    count,
    get_prep,
    interview,
    post_prep,
    put_profile,
    user_id,
)
from tests.problems import assert_problem
from tests.records import auth_headers, create_interview, create_opportunity, list_all

SAMPLE_EVENT = EVENTS_DIR / "sqs" / "prep.json"
REGION = "us-east-1"


@dataclass
class Queue:
    client: Any
    url: str
    arn: str


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def queue(
    moto_endpoint: str, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Queue]:
    import boto3

    from common.queue import sqs_client

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sqs")
    url = client.create_queue(QueueName=f"prep-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("PREP_QUEUE_URL", url)
    reset_caches()
    sqs_client.cache_clear()
    yield Queue(client, url, arn)
    sqs_client.cache_clear()


@pytest.fixture
def headers(queue: Queue, client: TestClient) -> dict[str, str]:
    headers = auth_headers(client, "ada@example.com")
    put_profile(client, headers, headline="Backend engineer", resume_text="Ten years of Python")
    return headers


def new_interview(client: TestClient, headers: dict[str, str]) -> str:
    opp = create_opportunity(client, headers, company="Acme", role="Engineer", job_description="Build APIs")
    return str(create_interview(client, headers, opp["id"], kind="technical")["id"])


def receive(queue: Queue, *, wait: int = 1, visibility: int | None = None) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "QueueUrl": queue.url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": wait,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility is not None:
        kwargs["VisibilityTimeout"] = visibility
    return list(queue.client.receive_message(**kwargs).get("Messages", []))


def in_flight(queue: Queue) -> tuple[int, int]:
    """(visible, not visible) messages of the queue."""
    attributes = queue.client.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute as Lambda's event spells it."""
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value["DataType"],
    }


def record(queue: Queue, message: dict[str, Any]) -> dict[str, Any]:
    """The Lambda SQS event record for one received message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": REGION,
    }


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def synthetic(queue: Queue, body: str) -> dict[str, Any]:
    """A record for a body that was never sent (a poison message)."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4().hex}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's own checksum)
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": REGION,
    }


def invoke(payload: dict[str, Any]) -> dict[str, Any]:
    from prep.handler import lambda_handler

    result = lambda_handler(copy.deepcopy(payload), LambdaContext(function_name="interview-tracker-prep"))
    assert isinstance(result, dict) and set(result) == {"batchItemFailures"}, result
    return result


def failures(result: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


def request_and_receive(client: TestClient, headers: dict[str, str], queue: Queue, interview_id: str) -> Any:
    prep = post_prep(client, headers, interview_id)
    messages = receive(queue)
    assert len(messages) == 1, messages
    return prep, messages[0]


# ---- publishing --------------------------------------------------------------------------------


def test_a_request_publishes_one_message_and_the_handler_makes_the_prep_ready(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    interview_id = new_interview(client, headers)
    prep, message = request_and_receive(client, headers, queue, interview_id)
    assert prep["status"] == "queued"
    assert json.loads(message["Body"]) == {
        "kind": "prep",
        "user_id": user_id(client, headers),
        "prep_id": prep["id"],
    }
    assert count("jobs") == 0  # SQS is the queue: no local job row
    assert interview(client, headers, interview_id)["prep_status"] == "queued"

    # An idempotent repeat publishes nothing.
    assert post_prep(client, headers, interview_id)["id"] == prep["id"]
    assert receive(queue, wait=0) == []
    assert in_flight(queue) == (0, 1)

    assert invoke(event(record(queue, message))) == {"batchItemFailures": []}
    ready = get_prep(client, headers, interview_id)
    assert ready["status"] == "ready" and ready["error"] is None
    assert ready["content"] == DEFAULT_PREP
    assert ready["ai_processing"]["requests"] == 1
    assert interview(client, headers, interview_id)["prep_status"] == "ready"
    assert len(fake_anthropic.message_requests) == 1
    assert count("jobs") == 0


# ---- duplicates ----------------------------------------------------------------------------------


def test_duplicate_delivery_makes_one_model_call(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    interview_id = new_interview(client, headers)
    _, message = request_and_receive(client, headers, queue, interview_id)
    first = record(queue, message)
    redelivered = {**first, "receiptHandle": first["receiptHandle"] + "-again"}
    redelivered["attributes"] = {**first["attributes"], "ApproximateReceiveCount": "2"}

    assert invoke(event(first, redelivered)) == {"batchItemFailures": []}
    assert invoke(event(first)) == {"batchItemFailures": []}  # and again in a later invocation
    assert len(fake_anthropic.message_requests) == 1
    assert get_prep(client, headers, interview_id)["status"] == "ready"
    assert interview(client, headers, interview_id)["prep_status"] == "ready"
    assert len(list_all(client, headers, "/v1/activity", kind="prep_ready")) == 1


# ---- deferrals -----------------------------------------------------------------------------------


def test_a_transient_failure_is_reported_and_the_message_waits_for_its_retry(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    interview_id = new_interview(client, headers)
    post_prep(client, headers, interview_id)
    # Received with visibility 0: visible again at once unless the handler sets the retry delay.
    [message] = receive(queue, visibility=0)
    fake_anthropic.script(Reply.overloaded(headers={"x-should-retry": "false"}))

    result = invoke(event(record(queue, message)))
    assert failures(result) == [message["MessageId"]]
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "queued" and prep["error"], prep
    assert interview(client, headers, interview_id)["prep_status"] == "queued"
    assert len(fake_anthropic.message_requests) == 1
    assert receive(queue, wait=0) == []  # hidden for the backoff
    assert in_flight(queue) == (0, 1)

    # Delivered again later: done.
    assert invoke(event(record(queue, message))) == {"batchItemFailures": []}
    assert get_prep(client, headers, interview_id)["status"] == "ready"
    assert len(fake_anthropic.message_requests) == 2


def test_a_deferred_record_fails_alone_in_a_mixed_batch(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    first_interview, second_interview = new_interview(client, headers), new_interview(client, headers)
    post_prep(client, headers, first_interview)
    post_prep(client, headers, second_interview)
    messages = receive(queue, visibility=0)
    assert len(messages) == 2
    by_prep = {json.loads(m["Body"])["prep_id"]: m for m in messages}
    first_prep = get_prep(client, headers, first_interview)["id"]
    records = [record(queue, by_prep[first_prep])] + [
        record(queue, m) for prep_id, m in by_prep.items() if prep_id != first_prep
    ]
    fake_anthropic.script(Reply.rate_limited(retry_after=300), Reply.ok())  # records run in order

    result = invoke(event(*records))
    assert failures(result) == [records[0]["messageId"]]
    assert get_prep(client, headers, first_interview)["status"] == "queued"
    assert get_prep(client, headers, second_interview)["status"] == "ready"
    assert len(fake_anthropic.message_requests) == 2
    # The deferred message is hidden for the provider's retry-after; the other one is not deferred.
    visible = receive(queue, wait=0)
    assert [m["MessageId"] for m in visible] == [records[1]["messageId"]]


def test_a_prep_held_by_another_worker_is_deferred_without_a_model_call(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    from prep import repository
    from prep.service import LEASE

    held_interview, free_interview = new_interview(client, headers), new_interview(client, headers)
    held = post_prep(client, headers, held_interview)
    post_prep(client, headers, free_interview)
    messages = receive(queue, visibility=0)
    now = utc_now()
    repository.claim(
        get_database(),
        user_id=user_id(client, headers),
        prep_id=held["id"],
        token="another-worker",
        now=to_iso(now),
        lease_until=to_iso(now + LEASE),
    )
    records = [record(queue, m) for m in messages]
    held_id = next(r["messageId"] for r in records if json.loads(r["body"])["prep_id"] == held["id"])

    result = invoke(event(*records))
    assert failures(result) == [held_id]
    assert len(fake_anthropic.message_requests) == 1  # only the free one
    assert get_prep(client, headers, held_interview)["status"] == "generating"
    assert get_prep(client, headers, free_interview)["status"] == "ready"
    # The held one is hidden until the other worker's lease ends; the finished one is not deferred.
    free_id = next(r["messageId"] for r in records if r["messageId"] != held_id)
    assert [m["MessageId"] for m in receive(queue, wait=0)] == [free_id]


# ---- poison messages ---------------------------------------------------------------------------


def test_a_malformed_body_fails_only_its_own_record(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    interview_id = new_interview(client, headers)
    _, message = request_and_receive(client, headers, queue, interview_id)
    uid = user_id(client, headers)
    poison = [
        synthetic(queue, "not json"),
        synthetic(queue, "[1, 2]"),
        synthetic(queue, json.dumps({"kind": "prep", "prep_id": "x"})),  # no user
        synthetic(queue, json.dumps({"kind": "export", "user_id": uid, "prep_id": "x"})),
        synthetic(queue, json.dumps({"kind": "prep", "user_id": uid})),  # no prep id
    ]
    good = record(queue, message)
    result = invoke(event(poison[0], poison[1], good, *poison[2:]))
    assert sorted(failures(result)) == sorted(r["messageId"] for r in poison)
    assert get_prep(client, headers, interview_id)["status"] == "ready"
    assert len(fake_anthropic.message_requests) == 1


# ---- the sample event --------------------------------------------------------------------------


def test_the_sample_event_is_a_valid_sqs_event_the_handler_accepts(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    sample = json.loads(SAMPLE_EVENT.read_text())
    [item] = sample["Records"]
    assert item["eventSource"] == "aws:sqs"
    assert item["eventSourceARN"].startswith("arn:aws:sqs:")
    assert item["awsRegion"] == item["eventSourceARN"].split(":")[3]
    assert set(item) == set(synthetic(queue, "{}"))
    assert item["md5OfBody"] == hashlib.md5(item["body"].encode()).hexdigest()  # noqa: S324
    body = json.loads(item["body"])
    assert set(body) == {"kind", "user_id", "prep_id"} and body["kind"] == "prep"

    # As it is: a prep that does not exist (deleted with its interview) is acknowledged.
    assert invoke(sample) == {"batchItemFailures": []}
    assert fake_anthropic.message_requests == []

    # With a real job's body: generated.
    interview_id = new_interview(client, headers)
    _, message = request_and_receive(client, headers, queue, interview_id)
    item = {**item, "body": message["Body"], "md5OfBody": message["MD5OfBody"]}
    assert invoke({"Records": [item]}) == {"batchItemFailures": []}
    assert get_prep(client, headers, interview_id)["status"] == "ready"


# ---- the queue being down ----------------------------------------------------------------------


def test_an_unreachable_queue_is_503_and_the_prep_does_not_stay_queued(
    client: TestClient,
    headers: dict[str, str],
    queue: Queue,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from common.queue import sqs_client

    interview_id = new_interview(client, headers)
    monkeypatch.setenv("PREP_QUEUE_URL", f"{moto_endpoint}/123456789012/no-such-queue")
    reset_caches()
    sqs_client.cache_clear()
    response = client.post(f"/v1/interviews/{interview_id}/prep", headers=headers)
    body = assert_problem(response, 503)
    assert "queue" in body["detail"].lower()
    assert "no-such-queue" not in response.text and "123456789012" not in response.text
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "failed" and prep["error"], prep  # visible, not silently stuck
    assert interview(client, headers, interview_id)["prep_status"] == "failed"

    # With the queue back, asking again queues a new version and publishes it.
    monkeypatch.setenv("PREP_QUEUE_URL", queue.url)
    reset_caches()
    sqs_client.cache_clear()
    again = post_prep(client, headers, interview_id)
    assert again["id"] != prep["id"] and again["status"] == "queued"
    [message] = receive(queue)
    assert json.loads(message["Body"])["prep_id"] == again["id"]


def test_a_prep_whose_message_was_lost_is_sent_again_when_asked_for(
    client: TestClient, headers: dict[str, str], queue: Queue, fake_anthropic: FakeAnthropic
) -> None:
    """The process died between the commit and the send: the prep is queued with no message. Asked for
    again after a while, it is sent again (a duplicate would be harmless)."""
    interview_id = new_interview(client, headers)
    prep, _lost = request_and_receive(client, headers, queue, interview_id)  # received and never handled
    # Age the prep past the point where a working queue would long have delivered it.
    get_database().execute(
        "UPDATE preps SET updated_at = '2020-01-01T00:00:00.000000Z' WHERE id = ?", (prep["id"],)
    )
    assert post_prep(client, headers, interview_id)["id"] == prep["id"]
    resent = receive(queue)
    assert len(resent) == 1 and json.loads(resent[0]["Body"])["prep_id"] == prep["id"]
    # A fresh queued prep is not resent.
    assert post_prep(client, headers, interview_id)["id"] == prep["id"]
    assert receive(queue, wait=0) == []
    assert invoke(event(record(queue, resent[0]))) == {"batchItemFailures": []}
    assert get_prep(client, headers, interview_id)["status"] == "ready"
