"""Structured JSON logs (Powertools Logger) that never carry passwords, tokens or secrets."""

from __future__ import annotations

import logging
import os
import re
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

SERVICE = "interview-tracker"
_SENSITIVE = re.compile(r"pass(word)?|secret|token|authorization|cookie|api[_-]?key|private|credential", re.I)
_REDACTED = "[REDACTED]"
# Attributes every LogRecord has; anything else on a record came from `extra=` and is checked.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(value: Any) -> Any:
    """Replace the value of every sensitive-looking key, recursively."""
    if isinstance(value, dict):
        return {k: (_REDACTED if _SENSITIVE.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(vars(record)):
            if key in _STANDARD:
                continue
            if _SENSITIVE.search(key):
                setattr(record, key, _REDACTED)
            else:
                setattr(record, key, redact(getattr(record, key)))
        return True


@lru_cache(maxsize=1)
def get_logger() -> Logger:
    from common.settings import get_settings

    # POWERTOOLS_SERVICE_NAME (set per function in template.yaml) names the service when present.
    logger = Logger(
        service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE, level=get_settings().LOG_LEVEL
    )
    logger.addFilter(_RedactingFilter())
    return logger
