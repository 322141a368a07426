"""Lambda test doubles: API Gateway HTTP API (payload v2.0) events built from events/*.json, a context.

The sample files are the ones a user passes to `sam local invoke -e events/<name>.json AuthFunction`;
tests start from them so the samples stay runnable. events/*.json are API Gateway events; the other event
sources' samples live in subfolders (events/sqs/, events/schedule/). Placeholders in the samples
(`Bearer REPLACE_WITH_ACCESS_TOKEN`, fixed sample ids, `REPLACE_WITH_...` values) are swapped for real
ones with `with_values`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
# What the samples carry instead of a real access token: `authorization: Bearer REPLACE_WITH_ACCESS_TOKEN`.
PLACEHOLDER_TOKEN = "REPLACE_WITH_ACCESS_TOKEN"


class _Unset:
    pass


_UNSET: Any = _Unset()


@cache
def _load(name: str) -> dict[str, Any]:
    loaded = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def event_names() -> list[str]:
    """The API Gateway samples (events/*.json), by stem."""
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def sample_names() -> list[str]:
    """Every sample under events/, at any depth, as the name `load_sample` takes ("health", "sqs/prep")."""
    return sorted(p.relative_to(EVENTS_DIR).with_suffix("").as_posix() for p in EVENTS_DIR.rglob("*.json"))


def load_sample(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json exactly as committed (any event source)."""
    return copy.deepcopy(_load(name))


def with_values(event: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """A copy of a sample with every occurrence of each key (a placeholder or a sample id) replaced by its
    value, wherever the event carries it: path, pathParameters, query string (percent-encoded in
    rawQueryString), cookies, headers, body, SQS message bodies. `content-length` and SQS `md5OfBody`
    follow the bodies; base64-encoded bodies are not rewritten."""

    def replace(text: str, *, in_url: bool = False) -> str:
        for old, new in values.items():
            text = text.replace(old, quote(new, safe="") if in_url else new)
        return text

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, str):
            return replace(value, in_url=key == "rawQueryString")
        if isinstance(value, list):
            return [walk(item, key) for item in value]
        if isinstance(value, dict):
            if value.get("isBase64Encoded"):
                return {k: (v if k == "body" else walk(v, k)) for k, v in value.items()}
            return {k: walk(v, k) for k, v in value.items()}
        return value

    result: dict[str, Any] = walk(event)
    headers = result.get("headers")
    body = result.get("body")
    text_body = isinstance(body, str) and not result.get("isBase64Encoded")
    if isinstance(headers, dict) and "content-length" in headers and text_body:
        headers["content-length"] = str(len(str(body).encode()))
    for record in result.get("Records", []):
        if isinstance(record, dict) and "md5OfBody" in record and isinstance(record.get("body"), str):
            record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324 (SQS's own)
    return result


def api_event(
    name: str,
    *,
    method: str | None = None,
    path: str | None = None,
    query: str | None = None,
    headers: dict[str, str | None] | None = None,
    body: Any = _UNSET,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A fresh copy of events/<name>.json with overrides.

    body: a dict or list is sent as JSON, str and bytes as they are, None removes the body; left out,
    the file's body is kept. base64_body sends it base64-encoded (`isBase64Encoded`), as API Gateway
    does for binary media. headers: merged into the file's (names lowercased, as HTTP APIs deliver
    them); a None value removes that header. `content-length` follows the body unless given here.
    """
    event = copy.deepcopy(_load(name))
    context = event["requestContext"]
    context["requestId"] = uuid.uuid4().hex[:16]
    if method is not None or path is not None:
        method = (method or context["http"]["method"]).upper()
        path = path or event["rawPath"]
        context["http"].update(method=method, path=path)
        event["rawPath"] = path
        event["routeKey"] = context["routeKey"] = f"{method} {path}"
    if query is not None:
        event["rawQueryString"] = query
        pairs = [part.partition("=") for part in query.split("&") if part]
        event["queryStringParameters"] = {key: value for key, _, value in pairs}
    event_headers: dict[str, str] = event.setdefault("headers", {})

    if not isinstance(body, _Unset) or base64_body:
        raw = _file_body(event) if isinstance(body, _Unset) else _encode(body)
        event.pop("body", None)
        event["isBase64Encoded"] = False
        event_headers.pop("content-length", None)
        if raw is not None:
            event_headers["content-length"] = str(len(raw))
            if base64_body:
                event["body"] = base64.b64encode(raw).decode()
                event["isBase64Encoded"] = True
            else:
                event["body"] = raw.decode()
            if isinstance(body, dict | list):
                event_headers.setdefault("content-type", "application/json")

    for key, value in (headers or {}).items():
        if value is None:
            event_headers.pop(key.lower(), None)
        else:
            event_headers[key.lower()] = value
    return event


def _file_body(event: dict[str, Any]) -> bytes | None:
    text = event.get("body")
    if text is None:
        return None
    return base64.b64decode(text) if event.get("isBase64Encoded") else str(text).encode()


def _encode(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def bearer_headers(access_token: str) -> dict[str, str | None]:
    return {"authorization": f"Bearer {access_token}"}


@dataclass
class LambdaContext:
    """The attributes and method of the Python runtime's context object that code may touch."""

    function_name: str = "interview-tracker-auth"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    timeout_seconds: float = 15.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/interview-tracker-auth"
    log_stream_name: str = "2025/11/26/[$LATEST]0123456789abcdef0123456789abcdef"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def response_body(response: dict[str, Any]) -> bytes:
    """The body of a Lambda proxy response, base64-decoded when the handler encoded it."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response_body(response))
