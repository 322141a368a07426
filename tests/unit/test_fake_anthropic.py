"""The fake Anthropic Messages API, driven by the real `anthropic` SDK over loopback."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest
from anthropic.types import TextBlock, ToolUseBlock

from tests.fakes.anthropic_server import (
    DEFAULT_MALFORMED_PREP,
    DEFAULT_PREP,
    SPEND_LIMIT_MESSAGE,
    FakeAnthropic,
    Reply,
    start_fake_anthropic,
)

MODEL = "claude-sonnet-4-6"  # not in the SDK's DEPRECATED_MODELS (claude-sonnet-4-5 is: a DeprecationWarning)
TOOL = "save_prep"
TOOLS: list[Any] = [
    {"name": "other_tool", "description": "unused", "input_schema": {"type": "object"}},
    {"name": TOOL, "description": "Save the interview prep document.", "input_schema": {"type": "object"}},
]
FAST_RETRY = {"retry-after-ms": "10"}  # the SDK's own backoff would wait 0.375-0.5 s


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with start_fake_anthropic() as server:
        yield server


def make_client(fake: FakeAnthropic, *, max_retries: int = 0, timeout: float = 5.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test-key", base_url=fake.base_url, max_retries=max_retries, timeout=timeout
    )


def create(client: anthropic.Anthropic, **overrides: Any) -> anthropic.types.Message:
    params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "Prepare me for the Acme interview."}],
        "tools": TOOLS,
        "tool_choice": {"type": "tool", "name": TOOL},
    }
    params.update(overrides)
    message: anthropic.types.Message = client.messages.create(**params)
    return message


def raw_post(
    fake: FakeAnthropic, body: Any, headers: dict[str, str], path: str = "/v1/messages"
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST without the SDK, to send what the SDK never would (no key, no version, bad JSON)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection = http.client.HTTPConnection("127.0.0.1", int(fake.base_url.rsplit(":", 1)[1]), timeout=5)
    try:
        connection.request("POST", path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


VALID_HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"}
VALID_BODY = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]}


# --- success ---------------------------------------------------------------------------------------


def test_success_parses_into_a_tool_use_block_for_the_forced_tool(fake: FakeAnthropic) -> None:
    message = create(make_client(fake))

    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert message.stop_reason == "tool_use"
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, ToolUseBlock)
    assert block.name == TOOL  # the forced tool, not the first one
    assert block.id.startswith("toolu_")
    assert block.input == DEFAULT_PREP


def test_scripted_tool_input_and_first_tool_fallback(fake: FakeAnthropic) -> None:
    fake.script(Reply.ok({"summary": "custom"}), Reply.ok({"x": 1}))
    client = make_client(fake)

    forced = create(client)
    auto = create(client, tool_choice={"type": "auto"})

    assert isinstance(forced.content[0], ToolUseBlock)
    assert forced.content[0].input == {"summary": "custom"}
    assert isinstance(auto.content[0], ToolUseBlock)
    assert auto.content[0].name == "other_tool"  # no forced tool: the first one
    assert auto.content[0].input == {"x": 1}
    assert fake.unconsumed == 0


def test_text_reply_has_no_tool_use(fake: FakeAnthropic) -> None:
    fake.script(Reply.text("I would rather not."))

    message = create(make_client(fake))

    assert message.stop_reason == "end_turn"
    assert [type(b) for b in message.content] == [TextBlock]
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == "I would rather not."


def test_malformed_tool_input_is_returned_verbatim(fake: FakeAnthropic) -> None:
    fake.script(Reply.malformed_tool_input(), Reply.malformed_tool_input({"summary": None}))
    client = make_client(fake)

    first, second = create(client), create(client)

    assert isinstance(first.content[0], ToolUseBlock)
    assert first.content[0].input == DEFAULT_MALFORMED_PREP
    assert isinstance(second.content[0], ToolUseBlock)
    assert second.content[0].input == {"summary": None}


def test_answer_longer_than_max_tokens_stops_with_max_tokens(fake: FakeAnthropic) -> None:
    message = create(make_client(fake), max_tokens=50)  # DEFAULT_PREP needs about 410 tokens

    assert message.stop_reason == "max_tokens"
    assert isinstance(message.content[0], ToolUseBlock)
    assert message.content[0].input == {}
    assert message.usage.output_tokens == 50


def test_requests_record_path_lowercased_headers_and_body(fake: FakeAnthropic) -> None:
    create(make_client(fake))

    [request] = fake.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/messages"  # base_url + "/" + "v1/messages"
    assert request["status"] == 200
    headers = request["headers"]
    assert headers["authorization"] == "Bearer test-key"  # SDK 2.x: Bearer, not x-api-key
    assert "x-api-key" not in headers
    assert headers["anthropic-version"] == anthropic._constants.ANTHROPIC_API_VERSION
    assert headers["x-stainless-retry-count"] == "0"
    assert request["body"]["model"] == MODEL
    assert request["body"]["tool_choice"] == {"type": "tool", "name": TOOL}


def test_base_url_with_trailing_slash_reaches_the_same_path(fake: FakeAnthropic) -> None:
    client = anthropic.Anthropic(api_key="test-key", base_url=fake.base_url + "/", max_retries=0, timeout=5)

    create(client)

    assert fake.requests[0]["path"] == "/v1/messages"


def test_base_url_ending_in_v1_doubles_the_prefix_and_gets_404(fake: FakeAnthropic) -> None:
    client = anthropic.Anthropic(api_key="test-key", base_url=fake.base_url + "/v1", max_retries=0, timeout=5)

    with pytest.raises(anthropic.NotFoundError):
        create(client)

    assert fake.requests[0]["path"] == "/v1/v1/messages"


def test_base_url_from_environment(fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)

    create(anthropic.Anthropic(api_key="test-key", max_retries=0, timeout=5))

    assert len(fake.message_requests) == 1


# --- what the real API rejects ----------------------------------------------------------------------


def test_x_api_key_is_accepted_too(fake: FakeAnthropic) -> None:
    status, body, headers = raw_post(fake, VALID_BODY, VALID_HEADERS)

    assert status == 200
    assert body["type"] == "message"
    assert body["stop_reason"] == "end_turn"  # no tools in the request: a text answer
    assert headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    ("headers", "body", "status", "error_type", "path"),
    [
        ({"anthropic-version": "2023-06-01"}, VALID_BODY, 401, "authentication_error", "/v1/messages"),
        ({**VALID_HEADERS, "x-api-key": " "}, VALID_BODY, 401, "authentication_error", "/v1/messages"),
        (
            {"authorization": "Bearer ", "anthropic-version": "x"},
            VALID_BODY,
            401,
            "authentication_error",
            "/v1/messages",
        ),
        ({"x-api-key": "k"}, VALID_BODY, 400, "invalid_request_error", "/v1/messages"),
        (
            VALID_HEADERS,
            {"max_tokens": 5, "messages": VALID_BODY["messages"]},
            400,
            "invalid_request_error",
            "/v1/messages",
        ),
        (
            VALID_HEADERS,
            {"model": MODEL, "messages": VALID_BODY["messages"]},
            400,
            "invalid_request_error",
            "/v1/messages",
        ),
        (VALID_HEADERS, {"model": MODEL, "max_tokens": 5}, 400, "invalid_request_error", "/v1/messages"),
        (
            VALID_HEADERS,
            {"model": MODEL, "max_tokens": 5, "messages": []},
            400,
            "invalid_request_error",
            "/v1/messages",
        ),
        (VALID_HEADERS, b"{not json", 400, "invalid_request_error", "/v1/messages"),
        (VALID_HEADERS, VALID_BODY, 404, "not_found_error", "/v1/complete"),
        (VALID_HEADERS, VALID_BODY, 404, "not_found_error", "/messages"),
    ],
    ids=[
        "no-key",
        "blank-key",
        "empty-bearer",
        "no-version",
        "no-model",
        "no-max-tokens",
        "no-messages",
        "empty-messages",
        "bad-json",
        "unknown-path",
        "path-without-v1",
    ],
)
def test_rejects_what_the_real_api_rejects(
    fake: FakeAnthropic,
    headers: dict[str, str],
    body: Any,
    status: int,
    error_type: str,
    path: str,
) -> None:
    fake.script(Reply.ok())

    got_status, got_body, got_headers = raw_post(fake, body, headers, path)

    assert got_status == status
    assert got_body["type"] == "error"
    assert got_body["error"]["type"] == error_type
    assert got_body["error"]["message"]
    assert got_body["request_id"] == got_headers["request-id"]
    assert fake.unconsumed == 1  # a rejected request does not consume the script


def test_wrong_key_raises_authentication_error_without_retry() -> None:
    with start_fake_anthropic(api_key="right-key") as fake:
        client = anthropic.Anthropic(api_key="wrong-key", base_url=fake.base_url, max_retries=2, timeout=5)

        with pytest.raises(anthropic.AuthenticationError) as caught:
            create(client)

        assert caught.value.status_code == 401
        assert caught.value.type == "authentication_error"
        assert len(fake.requests) == 1


def test_forcing_an_unknown_tool_is_a_bad_request(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(make_client(fake, max_retries=2), tool_choice={"type": "tool", "name": "missing"})

    assert "missing" in (caught.value.api_message or "")
    assert len(fake.requests) == 1


# --- errors and retries -----------------------------------------------------------------------------


def test_overloaded_then_success_is_retried_by_the_sdk(fake: FakeAnthropic) -> None:
    fake.script(Reply.overloaded(headers=FAST_RETRY), Reply.ok({"summary": "after retry"}))

    message = create(make_client(fake, max_retries=2))

    assert isinstance(message.content[0], ToolUseBlock)
    assert message.content[0].input == {"summary": "after retry"}
    assert [r["status"] for r in fake.requests] == [529, 200]
    assert [r["headers"]["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]


def test_overloaded_exhausts_retries_and_raises_overloaded_error(fake: FakeAnthropic) -> None:
    fake.script(*[Reply.overloaded(headers=FAST_RETRY)] * 3)

    with pytest.raises(anthropic.OverloadedError) as caught:
        create(make_client(fake, max_retries=2))

    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"
    assert len(fake.requests) == 3  # first try + max_retries


def test_server_error_is_retried(fake: FakeAnthropic) -> None:
    fake.script(Reply.server_error(500, headers=FAST_RETRY), Reply.server_error(503, headers=FAST_RETRY))

    create(make_client(fake, max_retries=2))

    assert [r["status"] for r in fake.requests] == [500, 503, 200]


def test_non_json_proxy_error_is_retried_then_raised(fake: FakeAnthropic) -> None:
    fake.script(
        Reply.raw(502, "<html>Bad Gateway</html>", FAST_RETRY), Reply.raw(502, "<html>Bad Gateway</html>")
    )

    with pytest.raises(anthropic.InternalServerError) as caught:
        create(make_client(fake, max_retries=1))

    assert caught.value.status_code == 502
    assert caught.value.body == "<html>Bad Gateway</html>"
    assert len(fake.requests) == 2


def test_rate_limit_waits_as_long_as_retry_after_says(fake: FakeAnthropic) -> None:
    fake.script(Reply.rate_limited(retry_after=0.8))  # longer than the SDK's own first backoff (<= 0.5 s)

    started = time.monotonic()
    create(make_client(fake, max_retries=1))
    elapsed = time.monotonic() - started

    assert elapsed >= 0.8
    assert [r["status"] for r in fake.requests] == [429, 200]


def test_retry_after_ms_wins_over_retry_after(fake: FakeAnthropic) -> None:
    fake.script(Reply.rate_limited(retry_after=30, retry_after_ms=20))

    started = time.monotonic()
    create(make_client(fake, max_retries=1))
    elapsed = time.monotonic() - started

    assert elapsed < 0.35  # neither 30 s nor the SDK's own 0.375-0.5 s backoff
    assert [r["status"] for r in fake.requests] == [429, 200]


def test_spend_limit_raises_rate_limit_error_when_retries_are_off(fake: FakeAnthropic) -> None:
    fake.script(Reply.spend_limit())

    with pytest.raises(anthropic.RateLimitError) as caught:
        create(make_client(fake, max_retries=0))

    err = caught.value
    assert err.status_code == 429
    assert err.api_message == SPEND_LIMIT_MESSAGE
    assert SPEND_LIMIT_MESSAGE in str(err)
    assert err.type == "rate_limit_error"
    assert err.error_code == "enforced_spend_limit_reached"
    assert isinstance(err, anthropic.EnforcedSpendLimitReachedError)  # branch on this, not on the message
    assert err.response.headers["retry-after"] == "600"
    assert err.request_id is not None
    assert err.request_id.startswith("req_")
    assert len(fake.requests) == 1


def test_spend_limit_without_error_code_is_a_plain_rate_limit_error(fake: FakeAnthropic) -> None:
    fake.script(Reply.spend_limit(error_code=None))

    with pytest.raises(anthropic.RateLimitError) as caught:
        create(make_client(fake, max_retries=0))

    assert not isinstance(caught.value, anthropic.EnforcedSpendLimitReachedError)
    assert caught.value.error_code is None
    assert caught.value.api_message == SPEND_LIMIT_MESSAGE


def test_x_should_retry_false_stops_the_sdk_retrying_a_429(fake: FakeAnthropic) -> None:
    fake.script(Reply.spend_limit(should_retry=False))

    with pytest.raises(anthropic.RateLimitError):
        create(make_client(fake, max_retries=2))

    assert len(fake.requests) == 1


def test_x_should_retry_true_makes_the_sdk_retry_a_400(fake: FakeAnthropic) -> None:
    fake.script(Reply.error(400, "invalid_request_error", "flaky", {"x-should-retry": "true", **FAST_RETRY}))

    create(make_client(fake, max_retries=1))

    assert [r["status"] for r in fake.requests] == [400, 200]


def test_bad_request_is_not_retried(fake: FakeAnthropic) -> None:
    fake.script(
        Reply.error(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum")
    )

    with pytest.raises(anthropic.BadRequestError) as caught:
        create(make_client(fake, max_retries=2))

    assert caught.value.status_code == 400
    assert caught.value.api_message == "prompt is too long: 250000 tokens > 200000 maximum"
    assert len(fake.requests) == 1
    assert fake.unconsumed == 0


def test_delay_beyond_client_timeout_raises_api_timeout_error(fake: FakeAnthropic) -> None:
    fake.script(Reply.delay(2.0))

    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        create(make_client(fake, max_retries=0, timeout=0.3))

    assert time.monotonic() - started < 1.5
    assert len(fake.requests) == 1


def test_timeout_is_retried_by_the_sdk(fake: FakeAnthropic) -> None:
    fake.script(Reply.delay(2.0), Reply.ok({"summary": "second attempt"}))

    message = create(make_client(fake, max_retries=1, timeout=0.3))

    assert isinstance(message.content[0], ToolUseBlock)
    assert message.content[0].input == {"summary": "second attempt"}
    assert len(fake.requests) == 2


def test_delay_within_timeout_then_answers(fake: FakeAnthropic) -> None:
    fake.script(Reply.delay(0.1, then=Reply.text("slow but fine")))

    message = create(make_client(fake, timeout=5))

    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == "slow but fine"


# --- usage and prompt caching -----------------------------------------------------------------------


def test_usage_is_plausible_without_cache_control(fake: FakeAnthropic) -> None:
    message = create(make_client(fake))

    usage = message.usage
    request_chars = len(json.dumps(fake.requests[0]["body"]))
    assert request_chars // 8 <= usage.input_tokens <= request_chars // 2
    assert usage.output_tokens > 0
    assert usage.cache_creation_input_tokens == 0
    assert usage.cache_read_input_tokens == 0


def test_cache_creation_then_cache_read_for_the_same_prefix(fake: FakeAnthropic) -> None:
    system = [
        {"type": "text", "text": "You write interview prep. " * 200, "cache_control": {"type": "ephemeral"}}
    ]
    client = make_client(fake)

    first = create(client, system=system).usage
    second = create(client, system=system).usage
    other = create(client, system=[{**system[0], "text": "Different instructions. " * 200}]).usage

    assert first.cache_creation_input_tokens is not None
    assert first.cache_creation_input_tokens > 1000
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens == first.input_tokens  # the uncached tail is the same
    assert other.cache_creation_input_tokens is not None
    assert other.cache_creation_input_tokens > 0  # a different prefix is a cache miss
    assert other.cache_read_input_tokens == 0


def test_cache_read_when_only_the_tail_after_the_breakpoint_changes(fake: FakeAnthropic) -> None:
    system = [
        {"type": "text", "text": "Resume and job description. " * 100, "cache_control": {"type": "ephemeral"}}
    ]
    client = make_client(fake)

    first = create(client, system=system, messages=[{"role": "user", "content": "Interview one"}]).usage
    second = create(
        client, system=system, messages=[{"role": "user", "content": "Interview two, longer"}]
    ).usage

    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0


def test_prefix_below_min_cacheable_tokens_is_not_cached() -> None:
    with start_fake_anthropic(min_cacheable_tokens=1024) as fake:
        system = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
        client = make_client(fake)

        first = create(client, system=system).usage
        second = create(client, system=system).usage

    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (0, 0)
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 0)


def test_usage_override_from_the_script(fake: FakeAnthropic) -> None:
    fake.script(Reply.ok(usage={"input_tokens": 7, "output_tokens": 9}))

    usage = create(make_client(fake)).usage

    assert (usage.input_tokens, usage.output_tokens) == (7, 9)


# --- the server itself ------------------------------------------------------------------------------


def test_concurrent_requests_are_all_recorded(fake: FakeAnthropic) -> None:
    client = make_client(fake)

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: create(client).id, range(16)))

    assert len(set(ids)) == 16
    assert len(fake.requests) == 16
    assert all(r["status"] == 200 for r in fake.requests)


def test_clear_forgets_requests_script_and_cache(fake: FakeAnthropic) -> None:
    fake.script(Reply.overloaded(), Reply.overloaded())
    raw_post(fake, VALID_BODY, VALID_HEADERS)

    fake.clear()

    assert fake.requests == []
    assert fake.unconsumed == 0


def test_close_stops_listening() -> None:
    with start_fake_anthropic() as fake:
        port = int(fake.base_url.rsplit(":", 1)[1])
        assert fake.base_url.startswith("http://127.0.0.1:")

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_close_does_not_wait_for_a_pending_delay() -> None:
    fake = start_fake_anthropic()
    fake.script(Reply.delay(30))
    client = make_client(fake, timeout=0.2)
    with pytest.raises(anthropic.APITimeoutError):
        create(client)

    started = time.monotonic()
    fake.close()

    assert time.monotonic() - started < 2
