"""Claude adapter: PrepInputs in, a validated PrepContent out (the PrepModel port).

Only this module imports `anthropic`, and only when a prep is generated (about 1.5 s and 90 MB).
The request is built from `PrepInputs` alone, the privacy allow-list. Retries: the SDK retries 408,
409, 429, 5xx and 529 with backoff and honours `retry-after` (max_retries); a middleware stops it from
retrying a spend-limit 429 (it would only fail again) or sleeping through a long `retry-after` inside a
Lambda invocation: those surface at once, and the job is rescheduled or failed by the service.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import cached_property, lru_cache
from typing import Any

from pydantic import ValidationError

from common.prep import (
    Generated,
    PermanentModelError,
    PrepContent,
    PrepInputs,
    TokenUsage,
    TransientModelError,
)

TOOL_NAME = "record_interview_prep"
MAX_TOKENS = 8192
MAX_INLINE_RETRY_AFTER_SECONDS = 20.0
# Stable codes of `error.details.error_code` for "no more spending": retrying cannot help.
SPEND_LIMIT_CODES = frozenset(
    {
        "enforced_spend_limit_reached",
        "contract_spend_limit_reached",
        "linked_organization_spend_limit_reached",
    }
)

INSTRUCTIONS = """You are an interview coach. Prepare the candidate for one interview.
Use only the information given: the opportunity (company, role, job description), the interview's
kind, the candidate's profile (headline, resume, LinkedIn summary) and the debriefs of their earlier
rounds for this opportunity. Do not invent employers, projects or achievements the candidate does not
mention; where you infer something about the company, say it is an inference. Stories must come from
the candidate's own experience. Answer by calling the record_interview_prep tool exactly once."""


class _StopRetryingError(Exception):
    """Raised from the middleware: the SDK lets it through without retrying."""

    def __init__(self, status: int, body: Any, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.retry_after = retry_after


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(headers.get(name)) * scale
        except (TypeError, ValueError):
            continue
    return None


def is_spend_limit(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    details = error.get("details")
    code = details.get("error_code") if isinstance(details, dict) else None
    # The stable code where the API gives one; its documented wording otherwise.
    return code in SPEND_LIMIT_CODES or "spend limit" in str(error.get("message", "")).lower()


def _inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """pydantic's JSON schema with every `$ref` replaced by its definition (tool schemas stay flat)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]]))
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)  # type: ignore[no-any-return]


TOOL = {
    "name": TOOL_NAME,
    "description": "Record the interview preparation document.",
    "input_schema": _inline_schema(PrepContent.model_json_schema()),
}


def build_request(inputs: PrepInputs, model: str) -> dict[str, Any]:
    """The Messages API request for one prep, from the allow-listed inputs only."""
    profile = "\n\n".join(
        part
        for part in (
            f"Headline: {inputs.headline}" if inputs.headline else "",
            f"Resume:\n{inputs.resume_text}" if inputs.resume_text else "",
            f"LinkedIn summary:\n{inputs.linkedin_summary}" if inputs.linkedin_summary else "",
        )
        if part
    )
    debriefs = "\n\n".join(f"Round {n}:\n{text}" for n, text in enumerate(inputs.debriefs, start=1))
    opportunity = (
        f"Company: {inputs.company}\nRole: {inputs.role}\nInterview kind: {inputs.interview_kind}\n\n"
        f"Job description:\n{inputs.job_description or '(none given)'}\n\n"
        f"Debriefs of earlier rounds:\n{debriefs or '(none: this is the first round)'}"
    )
    return {
        "model": model,
        "max_tokens": MAX_TOKENS,
        "system": [
            {"type": "text", "text": INSTRUCTIONS},
            # The profile is the same for every prep of this user: cached, later preps read it cheaply.
            {
                "type": "text",
                "text": f"Candidate profile:\n{profile or '(the candidate has not filled in a profile)'}",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
        "messages": [{"role": "user", "content": opportunity}],
    }


def _usage(message: Any) -> TokenUsage:
    usage = getattr(message, "usage", None)
    return TokenUsage(
        input_tokens=getattr(usage, "input_tokens", 0) or 0,
        output_tokens=getattr(usage, "output_tokens", 0) or 0,
        cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
        cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
    )


def _add(a: TokenUsage, b: TokenUsage) -> TokenUsage:
    return TokenUsage(**{name: getattr(a, name) + getattr(b, name) for name in TokenUsage.model_fields})


def parse_answer(message: Any) -> PrepContent | None:
    """The tool call's input as a PrepContent; None when the answer has no valid one."""
    for block in getattr(message, "content", None) or []:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == TOOL_NAME:
            try:
                return PrepContent.model_validate(block.input)
            except ValidationError:
                return None
    return None


class ClaudePrepModel:
    provider = "Anthropic"

    def __init__(self, *, api_key: str, model: str, timeout: float = 120.0, max_retries: int = 1) -> None:
        self.model = model
        self._api_key = api_key
        self._timeout = timeout
        self._max_retries = max_retries

    @cached_property
    def _client(self) -> Any:
        import anthropic

        class StopHopelessRetries(anthropic.Middleware):
            """The SDK would retry 408/409 and every 429, sleeping as long as retry-after says: let
            only plain rate limits with a short wait through; everything else surfaces at once."""

            def handle(self, request: Any, call_next: Any) -> Any:
                response = call_next(request)
                status = response.status_code
                if 400 <= status < 500 and status != 429:
                    raise _StopRetryingError(status, _json_body(response.http_response), None)
                if status == 429:
                    wait = _retry_after(response.headers)
                    body = _json_body(response.http_response)
                    if is_spend_limit(body) or (wait is not None and wait > MAX_INLINE_RETRY_AFTER_SECONDS):
                        raise _StopRetryingError(429, body, wait)
                return response

        # At DEBUG the SDK logs every request's options, i.e. the whole prompt (resume, LinkedIn summary,
        # job description, debriefs): whatever level the root logger runs at, its logs stop at INFO.
        sdk_logger = logging.getLogger("anthropic")
        if sdk_logger.getEffectiveLevel() < logging.INFO:
            sdk_logger.setLevel(logging.INFO)
        # ANTHROPIC_BASE_URL, when set, is read by the SDK itself.
        return anthropic.Anthropic(
            api_key=self._api_key,
            timeout=self._timeout,
            max_retries=self._max_retries,
            middleware=[StopHopelessRetries()],
        )

    def generate(self, inputs: PrepInputs) -> Generated:
        """Ask for the prep; an unreadable answer is asked again once."""
        import anthropic

        request = build_request(inputs, self.model)
        usage = TokenUsage()
        for attempt in (1, 2):
            try:
                message = self._client.messages.create(**request)
            except _StopRetryingError as stop:
                if stop.status != 429:
                    raise PermanentModelError(
                        f"The AI provider refused the request (HTTP {stop.status})",
                        requests=attempt,
                        usage=usage,
                    ) from None
                if is_spend_limit(stop.body):
                    raise PermanentModelError(
                        "The AI provider's spending limit for this service has been reached; "
                        "prep is paused until it is raised",
                        requests=attempt,
                        usage=usage,
                    ) from None
                raise TransientModelError(
                    "The AI provider is rate limiting requests; the prep will be retried",
                    requests=attempt,
                    usage=usage,
                    retry_after=stop.retry_after,
                ) from None
            except (anthropic.RateLimitError, anthropic.InternalServerError) as exc:
                raise TransientModelError(
                    "The AI provider is busy; the prep will be retried",
                    requests=attempt,
                    usage=usage,
                    retry_after=_retry_after(exc.response.headers),
                ) from None
            except anthropic.APIConnectionError:  # includes APITimeoutError
                raise TransientModelError(
                    "The AI provider did not answer in time; the prep will be retried",
                    requests=attempt,
                    usage=usage,
                    retry_after=None,
                ) from None
            except anthropic.APIStatusError as exc:
                raise PermanentModelError(
                    f"The AI provider refused the request (HTTP {exc.status_code})",
                    requests=attempt,
                    usage=usage,
                ) from None
            usage = _add(usage, _usage(message))
            content = parse_answer(message)
            if content is not None:
                return Generated(content=content, usage=usage, requests=attempt)
        raise PermanentModelError(
            "The AI answer could not be read; request the prep again", requests=2, usage=usage
        )


def _json_body(response: Any) -> Any:
    try:
        return json.loads(response.read())
    except (ValueError, TypeError):
        return None


@lru_cache(maxsize=1)
def get_prep_model() -> ClaudePrepModel:
    from common.settings import get_settings

    settings = get_settings()
    if not settings.ai_configured or settings.ANTHROPIC_API_KEY is None:
        raise RuntimeError("ANTHROPIC_API_KEY is not set: prep cannot be generated")
    return ClaudePrepModel(api_key=settings.ANTHROPIC_API_KEY.get_secret_value(), model=settings.PREP_MODEL)
