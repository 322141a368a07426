"""AWS failing under the app (issue 10, fault injection): S3 and SQS answer errors or drop connections at
the HTTP level (tests/faults.py's proxy in front of moto's server; the real boto3 retries as it would).

- S3 put failing during an export: a clear 503 problem, no export record, no object and no orphaned
  multipart parts; the next export works.
- SQS send failing when a prep is requested: a bounded number of attempts, then a clean 503 and a prep
  that is `failed` (visible), never `queued` with no message; a send that failed once is retried inside
  the request; a send whose answer was lost becomes a duplicate message, which makes one model call.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.db import get_database
from common.storage import PART_SIZE, s3_client
from tests.conftest import bearer, register, reset_caches
from tests.fakes.anthropic_server import FakeAnthropic
from tests.faults import FaultProxy, HttpFault, fault_proxy, s3_error
from tests.integration.test_export_s3 import Bucket, _aws_env, moto_endpoint  # noqa: F401 (a fixture)
from tests.integration.test_prep_requests import get_prep, interview, post_prep, put_profile
from tests.integration.test_prep_sqs import Queue, event, invoke, receive, record
from tests.problems import assert_problem
from tests.records import create_interview, create_opportunity


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:  # noqa: F811
    with fault_proxy(moto_endpoint) as running:
        yield running


@pytest.fixture
def bucket(
    moto_endpoint: str,  # noqa: F811
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Bucket]:
    """An export bucket on moto; the app reaches S3 through the fault proxy."""
    import boto3

    _aws_env(monkeypatch, tmp_path)
    name = f"exports-{uuid.uuid4().hex[:12]}"
    direct = boto3.client("s3", endpoint_url=moto_endpoint)
    direct.create_bucket(Bucket=name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    monkeypatch.setenv("EXPORT_BUCKET", name)
    reset_caches()
    s3_client.cache_clear()
    yield Bucket(direct, name, moto_endpoint)
    s3_client.cache_clear()


def s3_request(action: str, bucket: Bucket) -> Any:
    """A matcher for one S3 operation on the bucket's export keys."""

    def match(method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        if not path.startswith(f"/{bucket.name}/exports/"):
            return False
        query = path.partition("?")[2]
        return {
            "PutObject": method == "PUT" and "uploadId" not in query,
            "UploadPart": method == "PUT" and "partNumber=" in query,
            "CompleteMultipartUpload": method == "POST" and "uploadId=" in query,
        }[action]

    return match


def assert_nothing_stored(bucket: Bucket) -> None:
    assert bucket.keys() == []
    assert not bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads")
    assert get_database().execute("SELECT count(*) FROM exports").scalar() == 0


def assert_storage_problem(response: Any) -> None:
    body = assert_problem(response, 503)
    assert "export" in body["detail"].lower() and "try again" in body["detail"].lower(), body
    for leak in ("InternalError", "botocore", "exports/", "Traceback", "uploadId"):
        assert leak not in response.text, leak


@pytest.mark.parametrize(
    "fault",
    [
        HttpFault(match=lambda *_: False, status=500, body=s3_error(), times=100),
        HttpFault(
            match=lambda *_: False, status=503, body=s3_error("SlowDown", "Reduce your rate"), times=100
        ),
        HttpFault(match=lambda *_: False, status=None, times=100),
    ],
    ids=["500", "503-slowdown", "connection-dropped"],
)
def test_a_failing_put_is_a_clear_503_with_no_record_and_no_object(
    client: TestClient, bucket: Bucket, proxy: FaultProxy, fault: HttpFault
) -> None:
    headers = bearer(register(client))
    create_opportunity(client, headers, company="Initech")
    fault.match = s3_request("PutObject", bucket)
    proxy.fail(fault)
    response = client.post("/v1/exports", json={"format": "json"}, headers=headers)
    assert_storage_problem(response)
    attempts = len(proxy.injected())
    assert 1 <= attempts <= 5, attempts  # botocore's bounded retries, not a loop
    assert_nothing_stored(bucket)

    proxy.clear()
    response = client.post("/v1/exports", json={"format": "json"}, headers=headers)
    assert response.status_code == 201, response.text
    assert len(bucket.keys()) == 1


def test_a_put_that_fails_once_is_retried_and_the_export_works(
    client: TestClient, bucket: Bucket, proxy: FaultProxy
) -> None:
    headers = bearer(register(client))
    proxy.fail(HttpFault(match=s3_request("PutObject", bucket), status=500, body=s3_error()))
    response = client.post("/v1/exports", json={"format": "csv"}, headers=headers)
    assert response.status_code == 201, response.text
    assert len(proxy.injected()) == 1
    assert len(bucket.keys()) == 1
    assert get_database().execute("SELECT count(*) FROM exports").scalar() == 1


@pytest.mark.parametrize("action", ["UploadPart", "CompleteMultipartUpload"])
def test_a_multipart_upload_failing_part_way_leaves_no_parts(
    client: TestClient, bucket: Bucket, proxy: FaultProxy, action: str
) -> None:
    headers = bearer(register(client))
    description = "d" * 99_000
    for number in range(PART_SIZE // 99_000 + 10):  # a bit over one part of JSON
        create_opportunity(client, headers, company=f"Company {number}", job_description=description)
    proxy.fail(HttpFault(match=s3_request(action, bucket), status=500, body=s3_error(), times=100))
    response = client.post("/v1/exports", json={"format": "json"}, headers=headers)
    assert_storage_problem(response)
    assert proxy.injected(), "the fault never hit"
    assert_nothing_stored(bucket)  # aborted: no object, no orphaned parts


# ---- SQS ------------------------------------------------------------------------------------------


@pytest.fixture
def prep_queue(
    moto_endpoint: str,  # noqa: F811
    proxy: FaultProxy,
    fake_anthropic: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Queue]:
    """The prep queue on moto; `records` reaches SQS through the fault proxy."""
    import boto3

    from common.queue import sqs_client

    _aws_env(monkeypatch, tmp_path)
    direct = boto3.client("sqs", endpoint_url=moto_endpoint)
    url = direct.create_queue(QueueName=f"prep-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = direct.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    monkeypatch.setenv("PREP_QUEUE_URL", url)
    reset_caches()
    sqs_client.cache_clear()
    yield Queue(direct, url, arn)
    sqs_client.cache_clear()


def send_message(method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
    # Either of SQS's wire protocols: JSON (X-Amz-Target) or query (Action=SendMessage).
    return headers.get("x-amz-target", "").endswith(".SendMessage") or b"Action=SendMessage&" in body


@pytest.fixture
def world(client: TestClient, prep_queue: Queue) -> dict[str, Any]:
    headers = bearer(register(client))
    put_profile(client, headers, headline="Backend engineer", resume_text="Ten years of Python")
    opp = create_opportunity(client, headers, company="Acme", role="Engineer", job_description="Build APIs")
    return {
        "headers": headers,
        "interview": create_interview(client, headers, opp["id"], kind="technical")["id"],
    }


@pytest.mark.parametrize("status", [500, None], ids=["500", "connection-dropped"])
def test_sqs_down_fails_the_request_cleanly_and_leaves_no_prep_queued(
    client: TestClient, prep_queue: Queue, proxy: FaultProxy, world: dict[str, Any], status: int | None
) -> None:
    headers, interview_id = world["headers"], world["interview"]
    body = b'{"__type":"InternalError","message":"boom"}' if status else b""
    proxy.fail(
        HttpFault(match=send_message, status=status, body=body, content_type="application/json", times=100)
    )
    response = client.post(f"/v1/interviews/{interview_id}/prep", headers=headers)
    problem = assert_problem(response, 503)
    assert "queue" in problem["detail"].lower()
    assert prep_queue.url not in response.text
    attempts = len(proxy.injected())
    assert 1 <= attempts <= 5, attempts  # botocore's bounded retries
    prep = get_prep(client, headers, interview_id)
    assert prep["status"] == "failed" and prep["error"], prep  # visible, not stuck in `queued`
    assert interview(client, headers, interview_id)["prep_status"] == "failed"
    assert get_database().execute("SELECT count(*) FROM preps WHERE status = 'queued'").scalar() == 0
    assert receive(prep_queue, wait=0) == []

    proxy.clear()
    again = post_prep(client, headers, interview_id)
    assert again["status"] == "queued" and again["id"] != prep["id"]
    [message] = receive(prep_queue)
    assert json.loads(message["Body"])["prep_id"] == again["id"]


def test_a_send_that_fails_once_is_retried_within_the_request(
    client: TestClient, prep_queue: Queue, proxy: FaultProxy, world: dict[str, Any]
) -> None:
    headers, interview_id = world["headers"], world["interview"]
    proxy.fail(HttpFault(match=send_message, status=500, body=b"{}", content_type="application/json"))
    prep = post_prep(client, headers, interview_id)
    assert prep["status"] == "queued"
    assert len(proxy.injected()) == 1
    [message] = receive(prep_queue)
    assert json.loads(message["Body"])["prep_id"] == prep["id"]


def test_a_send_whose_answer_was_lost_makes_one_model_call_for_its_duplicate(
    client: TestClient,
    prep_queue: Queue,
    proxy: FaultProxy,
    world: dict[str, Any],
    fake_anthropic: FakeAnthropic,
) -> None:
    headers, interview_id = world["headers"], world["interview"]
    proxy.fail(HttpFault(match=send_message, after_forward=True))
    prep = post_prep(client, headers, interview_id)
    assert prep["status"] == "queued"
    messages = receive(prep_queue)
    assert len(messages) == 2, messages  # SQS got it, the answer was lost, botocore sent it again
    assert {json.loads(m["Body"])["prep_id"] for m in messages} == {prep["id"]}
    # Both copies in one batch, then the first again (at-least-once): one model call in all.
    records = [record(prep_queue, m) for m in messages]
    assert invoke(event(*records)) == {"batchItemFailures": []}
    assert invoke(event(records[0])) == {"batchItemFailures": []}
    assert len(fake_anthropic.message_requests) == 1
    assert get_prep(client, headers, interview_id)["status"] == "ready"
    kinds = [a["kind"] for a in client.get("/v1/activity", headers=headers).json()["items"]]
    assert kinds.count("prep_ready") == 1
