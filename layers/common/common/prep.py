"""AI prep domain shared by `records` (which requests a prep) and `prep` (which generates it): the prep
document's models and the model port. The inputs allow-list and the stored prep's view live in
`common.prep_data` (re-exported here), which the functions that only request, list or export preps import
without building these models.

What may reach the AI provider is decided in `common.prep_data`, once: `PrepInputs` is the complete
allow-list (API.md, PRIVACY_POLICY.txt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import ConfigDict, Field

from common.prep_data import LIVE_STATUSES as LIVE_STATUSES
from common.prep_data import MAX_DEBRIEFS as MAX_DEBRIEFS
from common.prep_data import PREP_COLUMNS as PREP_COLUMNS
from common.prep_data import InterviewContext as InterviewContext
from common.prep_data import PrepInputs as PrepInputs
from common.prep_data import PrepStatus as PrepStatus
from common.prep_data import input_statements as input_statements
from common.prep_data import interview_context as interview_context
from common.prep_data import prep_view as prep_view
from common.schemas import ApiModel

# ---- the document ------------------------------------------------------------------------------


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid")


_Item = Field(min_length=1, max_length=4000)


class RoleFit(_Strict):
    requirement: str = _Item
    evidence: str = _Item


class LikelyQuestion(_Strict):
    question: str = _Item
    category: str = Field(min_length=1, max_length=100)
    why: str = _Item
    answer_outline: str = _Item


class Story(_Strict):
    title: str = Field(min_length=1, max_length=300)
    situation: str = _Item
    task: str = _Item
    action: str = _Item
    result: str = _Item


class PrepContent(_Strict):
    """The prep document (API.md PrepContent). Validated before it is stored."""

    summary: str = Field(min_length=1, max_length=8000)
    company_insights: list[str] = Field(max_length=30)
    role_fit: list[RoleFit] = Field(max_length=30)
    likely_questions: list[LikelyQuestion] = Field(min_length=1, max_length=40)
    stories: list[Story] = Field(max_length=20)
    questions_to_ask: list[str] = Field(max_length=30)
    debrief_followups: list[str] = Field(max_length=30)


class TokenUsage(ApiModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class AiProcessing(ApiModel):
    """The audit record of one prep: what was sent to which provider and model, when, at what cost."""

    provider: str
    model: str
    fields_sent: list[str] = Field(description="Names of the allow-listed inputs that were sent")
    debriefs_sent: int
    sent_at: str
    requests: int = Field(description="Model calls made (an unreadable answer is asked again once)")
    usage: TokenUsage


# ---- the model port (adapter: functions/prep/prep/llm.py) ----------------------------------------


class ModelError(Exception):
    """A generation that did not produce a prep; `user_message` is safe to show (no secret, no body)."""

    def __init__(self, user_message: str, *, requests: int, usage: TokenUsage) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.requests = requests
        self.usage = usage


class TransientModelError(ModelError):
    """Worth trying again later (overload, rate limit, timeout, server error)."""

    def __init__(
        self, user_message: str, *, requests: int, usage: TokenUsage, retry_after: float | None
    ) -> None:
        super().__init__(user_message, requests=requests, usage=usage)
        self.retry_after = retry_after


class PermanentModelError(ModelError):
    """Will fail the same way again (refused request, spend limit, unreadable answers)."""


@dataclass(frozen=True)
class Generated:
    content: PrepContent
    usage: TokenUsage
    requests: int


class PrepModel(Protocol):
    provider: str
    model: str

    def generate(self, inputs: PrepInputs) -> Generated:
        """Raises TransientModelError (try again later) or PermanentModelError (give up)."""
        ...
