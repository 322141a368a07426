"""AWS mode (EXPORT_BUCKET set): exports are S3 objects (moto's server, the real boto3), fetched with a real
HTTP GET of the presigned URL; large ones are multipart uploads; account deletion deletes the user's
objects. moto checks neither presigned signatures nor expiry: the URL's parameters are checked here, and
the signing itself is botocore's.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from common.storage import PART_SIZE, S3BlobStore, s3_client
from tests.conftest import bearer, register, reset_caches
from tests.events import LambdaContext, api_event, bearer_headers, response_body, response_json
from tests.exports import csv_members, request_export
from tests.records import create_note, create_opportunity

REGION = "us-east-1"


@dataclass
class Bucket:
    client: Any
    name: str
    endpoint: str

    def keys(self, prefix: str = "exports/") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Bucket]:
    import boto3

    _aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    name = f"exports-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=name)
    monkeypatch.setenv("EXPORT_BUCKET", name)
    reset_caches()
    s3_client.cache_clear()
    yield Bucket(client, name, moto_endpoint)
    s3_client.cache_clear()


def fetch(url: str) -> bytes:
    """A real HTTP GET, no Authorization header: what a browser does with the URL."""
    assert url.startswith("http://127.0.0.1:"), url  # moto; never a real AWS endpoint from a test
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the moto server above
        assert response.status == 200
        return bytes(response.read())


def test_exports_are_encrypted_objects_under_the_users_prefix_with_presigned_urls(
    client: TestClient, bucket: Bucket, isolated_env: Path
) -> None:
    tokens = register(client)
    user_id = tokens["user"]["id"]
    headers = bearer(tokens)
    create_opportunity(client, headers, company="Acme S3", tags=["cloud"])
    create_note(client, headers, body="=1+1")
    for export_format, media in (("json", "application/json"), ("csv", "application/zip")):
        created = request_export(client, headers, export_format)
        url = urlsplit(created["url"])
        key = url.path.removeprefix(f"/{bucket.name}/")
        assert key.startswith(f"exports/{user_id}/{created['id']}-"), key
        assert len(key.rsplit("/", 1)[1]) > len(created["id"]) + 20  # an unguessable name
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        # EXPORT_URL_TTL_SECONDS, counted from the export's start (seconds pass on a loaded machine)
        assert 870 <= int(query["X-Amz-Expires"]) <= 900
        assert query["X-Amz-Signature"] and query["X-Amz-Credential"].startswith("testing/")

        body = fetch(created["url"])
        assert len(body) == created["size_bytes"]
        assert hashlib.sha256(body).hexdigest() == created["sha256"]
        head = bucket.client.head_object(Bucket=bucket.name, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ContentType"] == media
        assert head["ContentDisposition"].startswith('attachment; filename="interview-tracker-export-')
        if export_format == "json":
            document = json.loads(body)
            assert [o["company"] for o in document["opportunities"]] == ["Acme S3"]
        else:
            assert b"'=1+1" in csv_members(body)["notes.csv"]
        # No local file, and the local download route has nothing to serve in this mode.
        assert not (isolated_env / "exports").exists()
        local = f"/v1/exports/{created['id']}/download?expires=1&signature=x"
        assert client.get(local).status_code in (403, 404)
    assert len(bucket.keys(f"exports/{user_id}/")) == 2


def test_a_large_export_is_a_multipart_upload(client: TestClient, bucket: Bucket) -> None:
    tokens = register(client)
    headers = bearer(tokens)
    description = "d" * 99_000
    count = PART_SIZE // 99_000 + 10  # a bit over one part of JSON
    for number in range(count):
        create_opportunity(client, headers, company=f"Company {number}", job_description=description)
    created = request_export(client, headers, "json")
    assert created["size_bytes"] > PART_SIZE
    key = urlsplit(created["url"]).path.removeprefix(f"/{bucket.name}/")
    head = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]  # two parts
    assert head["ServerSideEncryption"] == "AES256"
    body = fetch(created["url"])
    assert hashlib.sha256(body).hexdigest() == created["sha256"]
    assert len(json.loads(body)["opportunities"]) == count
    assert not bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads")


def test_a_failed_upload_leaves_no_object_and_no_parts(bucket: Bucket) -> None:
    store = S3BlobStore(bucket.name)

    def failing() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * (PART_SIZE // 2 + 1)
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        store.put("user1/export-abc.json", failing(), content_type="application/json", filename="e.json")
    assert bucket.keys() == []
    assert not bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads")
    # A small one is a single PUT, encrypted too.
    store.put("user1/small.json", iter([b"{}", b"\n"]), content_type="application/json", filename="e.json")
    head = bucket.client.head_object(Bucket=bucket.name, Key="exports/user1/small.json")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == 3


@pytest.mark.parametrize(
    "key", ["../escape.json", "user1/../../x.json", "user1/sub/x.json", "/abs.json", "a"]
)
def test_keys_cannot_leave_the_users_prefix(bucket: Bucket, key: str) -> None:
    with pytest.raises(ValueError, match="storage key"):
        S3BlobStore(bucket.name).put(key, iter([b"x"]), content_type="text/plain", filename="x")


def test_account_deletion_deletes_the_users_objects_and_no_one_elses(
    client: TestClient, bucket: Bucket
) -> None:
    ada, bob = register(client), register(client, email="bob@example.com", name="Bob")
    for tokens in (ada, bob):
        request_export(client, bearer(tokens), "json")
        request_export(client, bearer(tokens), "csv")
    ada_prefix = f"exports/{ada['user']['id']}/"
    # More than one listing page (1,000 keys) of hers, to be sure every page is deleted.
    for number in range(1001):
        bucket.client.put_object(Bucket=bucket.name, Key=f"{ada_prefix}old-{number:04d}.json", Body=b"{}")
    bob_keys = bucket.keys(f"exports/{bob['user']['id']}/")
    assert len(bob_keys) == 2

    assert client.delete("/v1/me", headers=bearer(ada)).status_code == 204

    assert bucket.keys(ada_prefix) == []
    assert bucket.keys() == bob_keys


def test_without_a_custom_endpoint_urls_are_regional_and_virtual_hosted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The global endpoint redirects presigned GETs of buckets outside us-east-1. Offline: presigning needs
    no network."""
    from datetime import UTC, datetime, timedelta

    _aws_env(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    reset_caches()
    s3_client.cache_clear()
    try:
        url = S3BlobStore("tracker-exports").download_url(
            "user1/x.json", export_id="x", expires_at=datetime.now(UTC) + timedelta(minutes=15), filename="x"
        )
    finally:
        s3_client.cache_clear()
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "tracker-exports.s3.eu-west-1.amazonaws.com"
    assert parts.path == "/exports/user1/x.json"


# ---- the deployed handler ---------------------------------------------------------------------------


def test_the_export_lambda_with_an_api_gateway_event(bucket: Bucket) -> None:
    from auth.handler import lambda_handler as auth_handler
    from export.handler import lambda_handler as export_handler

    registered = auth_handler(api_event("register"), LambdaContext())
    assert registered["statusCode"] == 201, response_body(registered)
    token = response_json(registered)["access_token"]
    context = LambdaContext(function_name="interview-tracker-export", timeout_seconds=29.0)
    response = export_handler(api_event("export_create", headers=bearer_headers(token)), context)
    assert response["statusCode"] == 201, response_body(response)
    assert response["headers"]["content-type"] == "application/json"
    created = response_json(response)
    body = fetch(created["url"])
    assert hashlib.sha256(body).hexdigest() == created["sha256"]
    assert json.loads(body)["user"]["email"] == "ada@example.com"
    # The sample's placeholder token is refused.
    refused = export_handler(api_event("export_create"), context)
    assert refused["statusCode"] == 401


def test_the_export_lambda_does_not_serve_local_downloads(bucket: Bucket) -> None:
    from export.handler import lambda_handler as export_handler

    event = api_event("export_create", method="GET", path="/v1/exports/abc/download", body=None)
    response = export_handler(event, LambdaContext(function_name="interview-tracker-export"))
    assert response["statusCode"] == 404
    assert response["headers"]["content-type"] == "application/problem+json"
    assert json.loads(response["body"])["status"] == 404
