"""Export file storage: the BlobStore port and its two adapters, chosen once from settings.

- S3 (`EXPORT_BUCKET` set): objects under `exports/<user_id>/`, server-side encrypted, written with a
  multipart upload once they outgrow one part, downloaded through presigned GET URLs. boto3 is imported
  only here, on first use, so a function that never touches S3 never loads it.
- Local (default): files under `TRACKER_DATA_DIR/exports/<user_id>/`, owner-only (0600 in a 0700 dir),
  downloaded through `/v1/exports/{id}/download?expires=&signature=` links signed with an HMAC key derived
  from TOKEN_ENCRYPTION_KEY (`LinkSigner`).

A key is `<user_id>/<name>`: everything of one user lies under their own prefix, so account deletion
removes it all with one call (`erase_user_exports`), whatever the database says.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from common.errors import ServiceUnavailableError
from common.observability import get_logger

S3_PREFIX = "exports/"
# S3 parts must be at least 5 MiB (except the last); one part is all an upload holds in memory.
PART_SIZE = 8 * 1024 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def user_prefix(user_id: str) -> str:
    """The prefix of every key of one user."""
    _check_segment(user_id)
    return f"{user_id}/"


def new_key(user_id: str, name: str, extension: str) -> str:
    """A key under the user's prefix whose last part cannot be guessed (128 random bits)."""
    key = f"{user_prefix(user_id)}{name}-{secrets.token_urlsafe(16)}.{extension}"
    _check_key(key)
    return key


def _check_segment(segment: str) -> None:
    if not _SEGMENT.match(segment) or ".." in segment:
        raise ValueError(f"not a storage key segment: {segment!r}")


def _check_key(key: str) -> None:
    """Two plain segments, so a key can never climb out of the store's root."""
    parts = key.split("/")
    if len(parts) != 2:
        raise ValueError(f"not a storage key: {key!r}")
    for part in parts:
        _check_segment(part)


class BlobStore(Protocol):
    def put(self, key: str, chunks: Iterable[bytes], *, content_type: str, filename: str) -> None:
        """Store the stream under `key`, reading it once; nothing is stored if it fails midway."""
        ...

    def download_url(self, key: str, *, export_id: str, expires_at: datetime, filename: str) -> str:
        """A URL that fetches the object without a bearer token until `expires_at`."""
        ...

    def local_file(self, key: str) -> Path | None:
        """The file behind a key when this store keeps files on this machine (None in S3)."""
        ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under the prefix (one user's)."""
        ...

    def prune(self, prefix: str, *, older_than: datetime) -> None:
        """Delete the prefix's objects written before `older_than` (S3: the bucket's lifecycle does it)."""
        ...


def erase_user_exports(store: BlobStore, user_id: str) -> None:
    """Account deletion: every export file or object of the user, gone."""
    store.delete_prefix(user_prefix(user_id))


# ---- local files -------------------------------------------------------------------------------


class LinkSigner:
    """HMAC-SHA256 over (export id, expiry): a local download link that nobody else can mint or alter."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def signature(self, export_id: str, expires: int) -> str:
        message = f"export-download\x00{export_id}\x00{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, export_id: str, expires: str | None, signature: str | None) -> int | None:
        """The link's expiry (unix seconds) when its signature is right; None otherwise."""
        # Canonical digits only: one expiry has exactly one spelling, so no altered link verifies.
        if expires is None or signature is None or not re.fullmatch(r"[1-9]\d{0,11}", expires):
            return None
        expected = self.signature(export_id, int(expires))
        # Constant time, compared as text: every character of the signature must match.
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return None
        return int(expires)


class LocalBlobStore:
    def __init__(self, root: Path, *, base_url: str, signer: LinkSigner) -> None:
        self.root = root
        self.base_url = base_url
        self.signer = signer

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def put(self, key: str, chunks: Iterable[bytes], *, content_type: str, filename: str) -> None:
        path = self._path(key)
        self.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for directory in (self.root, path.parent):
            directory.mkdir(mode=0o700, exist_ok=True)
        # Written beside its final name and renamed into place: a reader never sees half a file.
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def download_url(self, key: str, *, export_id: str, expires_at: datetime, filename: str) -> str:
        expires = int(expires_at.timestamp())
        query = urlencode({"expires": expires, "signature": self.signer.signature(export_id, expires)})
        return f"{self.base_url}/v1/exports/{quote(export_id, safe='')}/download?{query}"

    def local_file(self, key: str) -> Path | None:
        return self._path(key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        _check_segment(prefix.rstrip("/"))
        directory = self.root / prefix.rstrip("/")
        if directory.exists():
            shutil.rmtree(directory)

    def prune(self, prefix: str, *, older_than: datetime) -> None:
        _check_segment(prefix.rstrip("/"))
        directory = self.root / prefix.rstrip("/")
        if not directory.is_dir():
            return
        cutoff = older_than.timestamp()
        for path in directory.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


# ---- S3 ----------------------------------------------------------------------------------------


class S3BlobStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else s3_client()

    def _key(self, key: str) -> str:
        _check_key(key)
        return S3_PREFIX + key

    def put(self, key: str, chunks: Iterable[bytes], *, content_type: str, filename: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._put(key, chunks, content_type=content_type, filename=filename)
        except (BotoCoreError, ClientError) as exc:
            # botocore's own retries are spent: say so plainly (503) instead of an unexpected 500.
            code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
            get_logger().warning(
                "export upload failed", extra={"error_type": type(exc).__name__, "code": code}
            )
            raise ServiceUnavailableError(
                "Export storage is unavailable; try again shortly", headers={"Retry-After": "10"}
            ) from None

    def _put(self, key: str, chunks: Iterable[bytes], *, content_type: str, filename: str) -> None:
        target = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "ContentType": content_type,
            "ContentDisposition": _attachment(filename),
            "ServerSideEncryption": "AES256",
        }
        buffer = bytearray()
        stream = iter(chunks)
        for chunk in stream:
            buffer += chunk
            if len(buffer) > PART_SIZE:
                self._multipart(target, buffer, stream)
                return
        self.client.put_object(Body=bytes(buffer), **target)

    def _multipart(self, target: dict[str, str], buffer: bytearray, stream: Iterator[bytes]) -> None:
        """Upload part by part (each PART_SIZE, the last smaller); abort on any failure, so no
        half-written object or orphaned parts remain."""
        client = self.client
        upload_id = client.create_multipart_upload(**target)["UploadId"]
        where = {"Bucket": target["Bucket"], "Key": target["Key"], "UploadId": upload_id}
        parts: list[dict[str, Any]] = []

        def send(data: bytes) -> None:
            number = len(parts) + 1
            etag = client.upload_part(Body=data, PartNumber=number, **where)["ETag"]
            parts.append({"ETag": etag, "PartNumber": number})

        try:
            while True:
                while len(buffer) >= PART_SIZE:
                    send(bytes(buffer[:PART_SIZE]))
                    del buffer[:PART_SIZE]
                chunk = next(stream, None)
                if chunk is None:
                    break
                buffer += chunk
            if buffer or not parts:
                send(bytes(buffer))
            client.complete_multipart_upload(MultipartUpload={"Parts": parts}, **where)
        except BaseException:
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(**where)
            raise

    def download_url(self, key: str, *, export_id: str, expires_at: datetime, filename: str) -> str:
        seconds = max(1, int((expires_at - datetime.now(UTC)).total_seconds()))
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=seconds
        )
        return url

    def local_file(self, key: str) -> Path | None:
        return None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        _check_segment(prefix.rstrip("/"))
        client = self.client
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=S3_PREFIX + prefix
        )
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:  # a listing page holds at most 1,000 keys, as many as one DeleteObjects takes
                answer = client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                if answer.get("Errors"):
                    raise RuntimeError(f"{len(answer['Errors'])} export objects could not be deleted")

    def prune(self, prefix: str, *, older_than: datetime) -> None:
        """Nothing to do: the bucket's lifecycle rule expires exports after a day."""


def _attachment(filename: str) -> str:
    return f'attachment; filename="{filename}"'


@lru_cache(maxsize=1)
def s3_client() -> Any:
    import boto3  # only on the S3 path: keeps boto3 out of every cold start that never exports
    from botocore.config import Config

    from common.settings import get_settings

    # Virtual-hosted, regional URLs (bucket.s3.<region>.amazonaws.com): the global endpoint redirects
    # presigned GETs for buckets outside us-east-1. A custom endpoint (moto in tests) keeps the default.
    addressing = {} if get_settings().AWS_ENDPOINT_URL else {"addressing_style": "virtual"}
    config = Config(signature_version="s3v4", s3=addressing, retries={"mode": "standard"})
    return boto3.client("s3", config=config)


def get_link_signer() -> LinkSigner:
    from common.keys import derived_key

    return LinkSigner(derived_key("export-download-links"))


def get_blob_store() -> BlobStore:
    """S3 when EXPORT_BUCKET is set, else files in the data dir (cheap to build: not cached, so it follows
    the settings)."""
    from common.settings import get_settings

    settings = get_settings()
    if settings.EXPORT_BUCKET:
        return S3BlobStore(settings.EXPORT_BUCKET)
    return LocalBlobStore(
        settings.TRACKER_DATA_DIR / "exports", base_url=settings.PUBLIC_BASE_URL, signer=get_link_signer()
    )
