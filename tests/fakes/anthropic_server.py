"""A fake Anthropic Messages API on loopback, for driving the real `anthropic` SDK in tests.

Standard library only. Start one with `start_fake_anthropic()` (or `FakeAnthropic()` as a context
manager) and point the SDK at it: `anthropic.Anthropic(api_key=..., base_url=fake.base_url)`, or
`ANTHROPIC_BASE_URL=fake.base_url`.

Wire facts this fake follows (anthropic SDK 2.14):
- base_url gets a trailing "/" and the SDK appends "v1/messages" to it, so `base_url` must NOT end
  in "/v1" (that would give "/v1/v1/messages", a 404 here as on the real API).
- The key travels as `Authorization: Bearer <key>` (SDK 2.x); `x-api-key: <key>` is accepted too.
- Every request carries `anthropic-version` and `x-stainless-retry-count` (0 on the first attempt).
- The SDK retries 408, 409, 429 and every 5xx (529 included), plus connection errors and timeouts,
  `max_retries` times (default 2), unless the response says `x-should-retry: true|false`, which wins.
  Its wait is `retry-after-ms` (milliseconds) if present and numeric, else `retry-after` (seconds,
  floats allowed, or an HTTP date); a value <= 0 falls back to exponential backoff from 0.5 s (x0.75..1
  jitter, capped at 8 s). A positive `retry-after` is honoured with NO upper bound (so a retried
  spend-limit 429 with `retry-after: 600` sleeps ten minutes).
- Errors are `{"type": "error", "error": {"type", "message", "details"?}, "request_id"}` with a
  `request-id` header; the SDK maps (status, error.details.error_code) to an exception class, e.g.
  429 + "enforced_spend_limit_reached" -> `EnforcedSpendLimitReachedError` (a `RateLimitError`).

Scripted replies (`fake.script(Reply.overloaded(), Reply.ok())`) are consumed one per request, in
order; with the script empty every valid request gets `Reply.ok()`. Requests the real API would reject
(no key, no `anthropic-version`, a body without model/max_tokens/messages, ...) are rejected before
the script is consulted and do not consume a scripted reply. An answer longer than the request's
`max_tokens` comes back cut, with `stop_reason: "max_tokens"` (see `FakeAnthropic(enforce_max_tokens=)`).
`stream=true` is not implemented (400).
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.fakes._http import FakeHandler, LoopbackFake

__all__ = [
    "DEFAULT_MALFORMED_PREP",
    "DEFAULT_PREP",
    "SPEND_LIMIT_MESSAGE",
    "FakeAnthropic",
    "Reply",
    "start_fake_anthropic",
]

SPEND_LIMIT_MESSAGE = "This request would exceed your account's monthly spend limit. Please try again later."
MAX_CACHE_BREAKPOINTS = 4

# A valid PrepContent (API.md): every field present, with the right types.
DEFAULT_PREP: dict[str, Any] = {
    "summary": "Acme is hiring a backend engineer to scale its payments platform; lead with reliability.",
    "company_insights": [
        "Acme processes card payments for small merchants in Europe.",
        "The engineering blog stresses on-call ownership and incident reviews.",
    ],
    "role_fit": [
        {
            "requirement": "Python services at scale",
            "evidence": "Ran the order service (Python, 2k req/s) for three years.",
        },
        {
            "requirement": "Operational ownership",
            "evidence": "Led the on-call rotation and cut pages by half.",
        },
    ],
    "likely_questions": [
        {
            "question": "Tell me about an outage you led the response to.",
            "category": "behavioral",
            "why": "The role owns production services end to end.",
            "answer_outline": "Context, detection, mitigation, root cause, what changed afterwards.",
        },
        {
            "question": "How would you design idempotent payment capture?",
            "category": "technical",
            "why": "Duplicate captures are the costliest bug in payments.",
            "answer_outline": "Idempotency keys, state machine, retries with backoff, reconciliation.",
        },
    ],
    "stories": [
        {
            "title": "Halving on-call pages",
            "situation": "The team got 40 pages a week, most of them noise.",
            "task": "Make on-call sustainable without hiding real incidents.",
            "action": "Classified every alert, deleted or tuned half, added SLO-based paging.",
            "result": "Pages fell to 18 a week; no missed incident in six months.",
        }
    ],
    "questions_to_ask": [
        "What does on-call look like for this team?",
        "How do you decide between building and buying payment infrastructure?",
    ],
    "debrief_followups": [
        "Send the interviewer the incident write-up template you mentioned.",
    ],
}

# A tool input that does NOT match the PrepContent schema (wrong types, a missing field, an extra one).
DEFAULT_MALFORMED_PREP: dict[str, Any] = {
    "summary": 42,
    "company_insights": "not a list",
    "role_fit": [{"requirement": "Python"}],
    "likely_questions": None,
    "unexpected": True,
}


def _new_id(prefix: str) -> str:
    return f"{prefix}_01{secrets.token_hex(12)}"


def _tokens(text: str) -> int:
    """About one token per four characters, at least one."""
    return max(1, len(text) // 4)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the class methods; `kind` selects the body."""

    kind: str  # "tool_use" | "text" | "error" | "raw" | "delay"
    status: int = 200
    tool_input: Mapping[str, Any] | None = None
    body_text: str = ""
    stop_reason: str = "tool_use"
    error_type: str = ""
    message: str = ""
    error_code: str | None = None
    raw_body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, Any] | None = None
    delay_seconds: float = 0.0
    then: Reply | None = None

    # --- successes -------------------------------------------------------------------------------
    @classmethod
    def ok(cls, tool_input: Mapping[str, Any] | None = None, usage: Mapping[str, Any] | None = None) -> Reply:
        """A `tool_use` answer calling the request's forced tool (else its first tool).

        `tool_input` defaults to `DEFAULT_PREP` (about 410 output tokens: a request with a smaller
        `max_tokens` gets `stop_reason: "max_tokens"` and input `{}`, as the real API would cut it).
        `usage` overrides fields of the computed usage.
        A request without tools gets an `end_turn` text answer holding the JSON of the input instead.
        """
        return cls(kind="tool_use", tool_input=tool_input, usage=usage)

    @classmethod
    def text(cls, text: str = "I can't help with that.", usage: Mapping[str, Any] | None = None) -> Reply:
        """An `end_turn` answer with one text block and no tool use."""
        return cls(kind="text", body_text=text, stop_reason="end_turn", usage=usage)

    @classmethod
    def malformed_tool_input(cls, tool_input: Mapping[str, Any] | None = None) -> Reply:
        """A `tool_use` answer whose input does not match the tool's schema (the API does not enforce it)."""
        return cls(kind="tool_use", tool_input=DEFAULT_MALFORMED_PREP if tool_input is None else tool_input)

    @classmethod
    def truncated(cls, tool_input: Mapping[str, Any] | None = None) -> Reply:
        """`stop_reason: "max_tokens"`: output ran out mid tool call; the input is partial (default `{}`)."""
        return cls(
            kind="tool_use", tool_input={} if tool_input is None else tool_input, stop_reason="max_tokens"
        )

    @classmethod
    def refusal(cls, text: str = "") -> Reply:
        """`stop_reason: "refusal"`: the model declined; no tool use."""
        return cls(kind="text", body_text=text, stop_reason="refusal")

    # --- failures --------------------------------------------------------------------------------
    @classmethod
    def error(
        cls,
        status: int,
        error_type: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        error_code: str | None = None,
    ) -> Reply:
        """The real error envelope; `error_code` becomes `error.details.error_code`."""
        return cls(
            kind="error",
            status=status,
            error_type=error_type,
            message=message,
            error_code=error_code,
            headers=dict(headers or {}),
        )

    @classmethod
    def overloaded(cls, headers: Mapping[str, str] | None = None) -> Reply:
        """529 overloaded_error (retried by the SDK)."""
        return cls.error(529, "overloaded_error", "Overloaded", headers)

    @classmethod
    def rate_limited(
        cls,
        retry_after: float | None = 1,
        *,
        retry_after_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """429 rate_limit_error with `retry-after` (seconds, floats sent as given) and/or `retry-after-ms`."""
        all_headers: dict[str, str] = {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
        }
        if retry_after is not None:
            all_headers["retry-after"] = _number(retry_after)
        if retry_after_ms is not None:
            all_headers["retry-after-ms"] = str(retry_after_ms)
        all_headers.update(headers or {})
        return cls.error(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute. "
            "Please try again later.",
            all_headers,
        )

    @classmethod
    def spend_limit(
        cls,
        *,
        retry_after: float = 600,
        error_code: str | None = "enforced_spend_limit_reached",
        should_retry: bool | None = None,
    ) -> Reply:
        """429 rate_limit_error for a monthly spend limit, `retry-after: 600`.

        Without `x-should-retry` (the default) the SDK WILL retry it and sleep `retry-after` seconds
        first; `should_retry=False` sends `x-should-retry: false`. `error_code` (SDK: `err.error_code`)
        makes the SDK raise `EnforcedSpendLimitReachedError`; pass None for a bare `RateLimitError`.
        """
        headers = {"retry-after": _number(retry_after)}
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        return cls.error(429, "rate_limit_error", SPEND_LIMIT_MESSAGE, headers, error_code=error_code)

    @classmethod
    def server_error(cls, status: int = 500, headers: Mapping[str, str] | None = None) -> Reply:
        """A 5xx api_error (retried by the SDK)."""
        return cls.error(status, "api_error", "Internal server error", headers)

    @classmethod
    def raw(cls, status: int, body: bytes | str, headers: Mapping[str, str] | None = None) -> Reply:
        """Any status with a verbatim body, e.g. an HTML 502 from a proxy in front of the API."""
        data = body.encode() if isinstance(body, str) else body
        all_headers = {"content-type": "text/html; charset=utf-8", **(headers or {})}
        return cls(kind="raw", status=status, raw_body=data, headers=all_headers)

    @classmethod
    def delay(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Sleep `seconds` before answering with `then` (default `Reply.ok()`): triggers client timeouts."""
        inner = then if then is not None else cls.ok()
        return cls(kind="delay", delay_seconds=seconds, then=inner)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class FakeAnthropic(LoopbackFake):
    """The fake server. `base_url` for the SDK; `requests` records every request received."""

    def __init__(
        self, *, api_key: str | None = None, min_cacheable_tokens: int = 0, enforce_max_tokens: bool = True
    ) -> None:
        """`api_key`: if set, any other key gets 401 (by default any non-empty key is accepted).

        `enforce_max_tokens`: an answer longer than the request's `max_tokens` (about 4 characters a
        token) comes back as the real API would: `stop_reason: "max_tokens"`, a tool call with input `{}`
        and text cut short. `DEFAULT_PREP` needs about 410 output tokens.

        `min_cacheable_tokens`: a cache breakpoint whose prefix is shorter is silently not cached, as on
        the real API (1024+ tokens depending on the model); 0 caches any prefix, handy for small tests.
        """
        self.api_key = api_key
        self.min_cacheable_tokens = min_cacheable_tokens
        self.enforce_max_tokens = enforce_max_tokens
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._script: deque[Reply] = deque()
        self._cache: set[str] = set()
        self._serve("fake-anthropic")

    # --- public API ------------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of every request received, oldest first: {"method", "path", "headers", "body"}.

        `headers` has lowercased names; `body` is the parsed JSON (None if absent or not JSON);
        `status` is the status code the fake chose for it.
        """
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def message_requests(self) -> list[dict[str, Any]]:
        """Only the requests to POST /v1/messages."""
        return [
            r for r in self.requests if r["method"] == "POST" and r["path"].split("?")[0] == "/v1/messages"
        ]

    def script(self, *responses: Reply) -> None:
        """Queue replies, consumed one per valid request in order (appends to what is still queued)."""
        with self._lock:
            self._script.extend(responses)

    @property
    def unconsumed(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._script)

    def clear(self) -> None:
        """Forget recorded requests, queued replies and the prompt cache."""
        with self._lock:
            self._requests.clear()
            self._script.clear()
            self._cache.clear()

    # --- request handling ------------------------------------------------------------------------
    def _handle(self, handler: FakeHandler) -> None:
        raw = handler.read_body()
        headers = {name.lower(): value for name, value in handler.headers.items()}
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        record: dict[str, Any] = {
            "method": handler.command,
            "path": handler.path,
            "headers": headers,
            "body": body,
            "status": None,
        }
        with self._lock:
            self._requests.append(record)

        request_id = _new_id("req")
        try:
            self._check_request(handler.command, handler.path, headers, raw, body)
            route = urlsplit(handler.path).path
            if route == "/v1/messages/count_tokens":
                record["status"] = 200
                total = _tokens(_json(body))
                self._send_json(handler, 200, {"input_tokens": total}, request_id, {})
                return
            with self._lock:
                reply = self._script.popleft() if self._script else Reply.ok()
        except _ApiError as err:
            record["status"] = err.status
            self._send_error(handler, err.status, err.error_type, err.message, None, request_id, {})
            return

        while reply.kind == "delay":
            if self._closing.wait(reply.delay_seconds):
                return
            assert reply.then is not None
            reply = reply.then
        record["status"] = reply.status
        try:
            if reply.kind == "error":
                self._send_error(
                    handler,
                    reply.status,
                    reply.error_type,
                    reply.message,
                    reply.error_code,
                    request_id,
                    reply.headers,
                )
            elif reply.kind == "raw":
                self._send(handler, reply.status, reply.raw_body, request_id, reply.headers)
            else:
                self._send_json(handler, reply.status, self._message(body, reply), request_id, reply.headers)
        except OSError:
            # The client gave up (timeout) and closed the connection.
            return

    def _check_request(self, method: str, path: str, headers: dict[str, str], raw: bytes, body: Any) -> None:
        route = urlsplit(path).path
        if route not in ("/v1/messages", "/v1/messages/count_tokens"):
            raise _ApiError(404, "not_found_error", "Not found")
        if method != "POST":
            raise _ApiError(405, "invalid_request_error", f"Method {method} not allowed")
        key = headers.get("x-api-key", "").strip()
        authorization = headers.get("authorization", "").strip()
        if not key and authorization.lower().startswith("bearer "):
            key = authorization[len("bearer ") :].strip()
        if not key:
            raise _ApiError(401, "authentication_error", "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            raise _ApiError(401, "authentication_error", "invalid x-api-key")
        if not headers.get("anthropic-version", "").strip():
            raise _ApiError(400, "invalid_request_error", "anthropic-version: header is required")
        if not isinstance(body, dict):
            what = "empty" if not raw else "not valid JSON"
            raise _ApiError(
                400, "invalid_request_error", f"The request body is {what}; expected a JSON object"
            )
        if "model" not in body or not isinstance(body["model"], str) or not body["model"]:
            raise _ApiError(400, "invalid_request_error", "model: Field required")
        if route == "/v1/messages":
            max_tokens = body.get("max_tokens")
            if "max_tokens" not in body:
                raise _ApiError(400, "invalid_request_error", "max_tokens: Field required")
            if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
                raise _ApiError(400, "invalid_request_error", "max_tokens: Input should be greater than 0")
            if body.get("stream"):
                raise _ApiError(400, "invalid_request_error", "FakeAnthropic does not implement stream=true")
        messages = body.get("messages")
        if "messages" not in body:
            raise _ApiError(400, "invalid_request_error", "messages: Field required")
        if not isinstance(messages, list) or not messages:
            raise _ApiError(400, "invalid_request_error", "messages: at least one message is required")
        for index, item in enumerate(messages):
            if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
                raise _ApiError(
                    400,
                    "invalid_request_error",
                    f"messages.{index}.role: Input should be 'user' or 'assistant'",
                )
            if "content" not in item:
                raise _ApiError(400, "invalid_request_error", f"messages.{index}.content: Field required")
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            raise _ApiError(400, "invalid_request_error", "tools: Input should be a valid list")
        names = []
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or not tool.get("name"):
                raise _ApiError(400, "invalid_request_error", f"tools.{index}.name: Field required")
            if "type" not in tool and not isinstance(tool.get("input_schema"), dict):
                raise _ApiError(400, "invalid_request_error", f"tools.{index}.input_schema: Field required")
            names.append(tool["name"])
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            if choice.get("type") in ("tool", "any") and not tools:
                raise _ApiError(
                    400,
                    "invalid_request_error",
                    "tool_choice: tools must be provided when tool_choice is set",
                )
            if choice.get("type") == "tool" and choice.get("name") not in names:
                raise _ApiError(
                    400,
                    "invalid_request_error",
                    f"tool_choice: Tool '{choice.get('name')}' not found in tools",
                )
        breakpoints = sum(1 for segment in _segments(body) if _has_cache_control(segment))
        if breakpoints > MAX_CACHE_BREAKPOINTS:
            raise _ApiError(
                400,
                "invalid_request_error",
                f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {breakpoints}.",
            )

    # --- building answers ------------------------------------------------------------------------
    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        content: list[dict[str, Any]]
        stop_reason = reply.stop_reason
        tool_input = copy.deepcopy(dict(reply.tool_input)) if reply.tool_input is not None else None
        if reply.kind == "tool_use" and tools:
            choice = body.get("tool_choice")
            name = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "tool" else None
            content = [
                {
                    "type": "tool_use",
                    "id": _new_id("toolu"),
                    "name": name or tools[0]["name"],
                    "input": tool_input if tool_input is not None else copy.deepcopy(DEFAULT_PREP),
                }
            ]
        elif reply.kind == "tool_use":
            content = [
                {"type": "text", "text": _json(tool_input if tool_input is not None else DEFAULT_PREP)}
            ]
            stop_reason = "end_turn" if stop_reason == "tool_use" else stop_reason
        else:
            content = (
                [{"type": "text", "text": reply.body_text}]
                if reply.body_text or stop_reason != "refusal"
                else []
            )
        max_tokens = int(body["max_tokens"])
        cut = self.enforce_max_tokens and _tokens(_json(content)) > max_tokens
        if cut:
            # The answer would not fit: the real API stops mid-output. A cut tool call has no usable input.
            stop_reason = "max_tokens"
            for block in content:
                if block["type"] == "tool_use":
                    block["input"] = {}
                else:
                    block["text"] = block["text"][: max_tokens * 4]
        usage = self._usage(body, content)
        usage["output_tokens"] = max_tokens if cut else min(usage["output_tokens"], max_tokens)
        if reply.usage:
            usage.update(reply.usage)
        return {
            "id": _new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    def _usage(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        total = _tokens(_json(body))
        segments = _segments(body)
        if body.get("cache_control") and segments:
            # Top-level cache_control marks the last cacheable block.
            segments[-1] = {**segments[-1], "cache_control": body["cache_control"]}
        prefixes: list[tuple[str, int, str]] = []  # (hash, tokens, ttl) for each breakpoint
        running = hashlib.sha256(_json(body.get("model")).encode())
        running_text = 0
        for segment in segments:
            text = _json(_without_cache_control(segment))
            running.update(text.encode())
            running_text += len(text)
            control = _cache_control(segment)
            if control is not None:
                ttl = str(control.get("ttl") or "5m")
                prefixes.append((running.copy().hexdigest(), max(1, running_text // 4), ttl))
        cacheable = [p for p in prefixes if p[1] >= self.min_cacheable_tokens]
        read = 0
        created_5m = 0
        created_1h = 0
        with self._lock:
            hits = [p for p in cacheable if p[0] in self._cache]
            if hits:
                read = max(p[1] for p in hits)
            if cacheable:
                longest = max(cacheable, key=lambda p: p[1])
                written = max(0, longest[1] - read)
                if longest[2] == "1h":
                    created_1h = written
                else:
                    created_5m = written
            self._cache.update(p[0] for p in cacheable)
        created = created_5m + created_1h
        return {
            "input_tokens": max(1, total - read - created),
            "output_tokens": _tokens(_json(content)),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created_5m,
                "ephemeral_1h_input_tokens": created_1h,
            },
            "service_tier": "standard",
        }

    # --- sending -------------------------------------------------------------------------------
    def _send_error(
        self,
        handler: FakeHandler,
        status: int,
        error_type: str,
        message: str,
        error_code: str | None,
        request_id: str,
        headers: Mapping[str, str],
    ) -> None:
        error: dict[str, Any] = {"type": error_type, "message": message}
        if error_code is not None:
            error["details"] = {"error_code": error_code}
        self._send_json(
            handler, status, {"type": "error", "error": error, "request_id": request_id}, request_id, headers
        )

    def _send_json(
        self, handler: FakeHandler, status: int, payload: Any, request_id: str, headers: Mapping[str, str]
    ) -> None:
        data = json.dumps(payload).encode()
        self._send(handler, status, data, request_id, {"content-type": "application/json", **headers})

    def _send(
        self, handler: FakeHandler, status: int, data: bytes, request_id: str, headers: Mapping[str, str]
    ) -> None:
        handler.send_response(status)
        handler.send_header("request-id", request_id)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()


def _segments(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The cacheable units in cache order: tools, then system blocks, then message content blocks."""
    segments: list[dict[str, Any]] = []
    for tool in body.get("tools") or []:
        segments.append(tool if isinstance(tool, dict) else {"value": tool})
    system = body.get("system")
    if isinstance(system, str):
        segments.append({"type": "text", "text": system})
    elif isinstance(system, list):
        segments.extend(b if isinstance(b, dict) else {"value": b} for b in system)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, list):
            segments.extend({"role": role, **b} if isinstance(b, dict) else {"value": b} for b in content)
        else:
            segments.append({"role": role, "type": "text", "text": content})
    return segments


def _cache_control(segment: dict[str, Any]) -> dict[str, Any] | None:
    control = segment.get("cache_control")
    return control if isinstance(control, dict) else None


def _has_cache_control(segment: dict[str, Any]) -> bool:
    return _cache_control(segment) is not None


def _without_cache_control(segment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in segment.items() if k != "cache_control"}


def start_fake_anthropic(
    *, api_key: str | None = None, min_cacheable_tokens: int = 0, enforce_max_tokens: bool = True
) -> FakeAnthropic:
    """Start a fake on 127.0.0.1 (a free port); call `.close()` when done (or use it as a context manager)."""
    return FakeAnthropic(
        api_key=api_key, min_cacheable_tokens=min_cacheable_tokens, enforce_max_tokens=enforce_max_tokens
    )
