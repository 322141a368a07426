"""Structured JSON logs that never carry passwords, tokens or secrets.

One JSON object per line on stdout (CloudWatch Logs keeps each as one event), in the shape AWS Lambda
Powertools' Logger writes, so queries written for it work: `level`, `location`, `message`,
`timestamp`, `service`, then the keys given with `extra=` or `append_keys`, `exception` when there is
one, and `xray_trace_id` in Lambda. The service is POWERTOOLS_SERVICE_NAME (set per function in
template.yaml); the level LOG_LEVEL. Our own ~80 lines instead of Powertools' Logger: importing
Powertools cost ~100 ms of every cold start and 3.5 MB of every package, for one formatter.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from functools import lru_cache
from typing import Any

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


class JsonFormatter(logging.Formatter):
    """A LogRecord as one line of JSON; `keys` are added to every line (e.g. the Lambda request id)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.keys: dict[str, Any] = {}

    def format(self, record: logging.LogRecord) -> str:
        created = time.localtime(record.created)
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S", created)
            + f",{int(record.msecs):03d}"
            + time.strftime("%z", created),
            "service": self.service,
        }
        entry.update(redact(self.keys))
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception_name"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exception"] = self.formatException(record.exc_info)
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            entry["xray_trace_id"] = trace.partition(";")[0].removeprefix("Root=")
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time (a test's capture, Lambda's pipe)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stdout
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


class ServiceLogger(logging.Logger):
    """The service's logger: JSON lines on stdout, sensitive `extra=` keys redacted."""

    def __init__(self, service: str, level: str) -> None:
        super().__init__(SERVICE, level)
        self.registered_formatter = JsonFormatter(service)
        handler = _StdoutHandler()
        handler.setFormatter(self.registered_formatter)
        self.addHandler(handler)
        self.addFilter(_RedactingFilter())
        # In Lambda the runtime's root handler would print every record a second time, in its own
        # format; elsewhere records also reach the root logger (pytest's caplog, an embedding app).
        self.propagate = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
        self.parent = logging.getLogger()  # made directly, not by logging.getLogger: name the root

    def append_keys(self, **keys: Any) -> None:
        """Add keys to every following line (None removes one)."""
        for key, value in keys.items():
            if value is None:
                self.registered_formatter.keys.pop(key, None)
            else:
                self.registered_formatter.keys[key] = value


@lru_cache(maxsize=1)
def get_logger() -> ServiceLogger:
    from common.settings import get_settings

    return ServiceLogger(os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE, get_settings().LOG_LEVEL)
