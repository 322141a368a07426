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
_CONTAINERS = (dict, list, tuple)  # a tuple: isinstance against `dict | list | tuple` is slower
# Attributes every LogRecord has; anything else on a record came from `extra=` and is checked.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(value: Any) -> Any:
    """Replace the value of every sensitive-looking key, recursively."""
    if isinstance(value, dict):
        return {k: (_REDACTED if _SENSITIVE.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


_SENSITIVE_NAMES: dict[str, bool] = {}  # key name -> sensitive? (the service's own few `extra=` names)


def _is_sensitive(key: str) -> bool:
    """`_SENSITIVE.search(key)`, remembered: the same few names come with every line."""
    known = _SENSITIVE_NAMES.get(key)
    if known is None:
        known = _SENSITIVE.search(key) is not None
        if len(_SENSITIVE_NAMES) < 1024:
            _SENSITIVE_NAMES[key] = known
    return known


_KEYS_SEEN = "_extra_keys_seen"  # the redacting filter's `_extra_keys`, left on the record for the formatter


def _extra_keys(record: logging.LogRecord) -> list[str]:
    """The keys a record got from `extra=` (a set difference: cheap on every line)."""
    return sorted(key for key in record.__dict__.keys() - _STANDARD if not key.startswith("_"))


def _formatted_keys(record: logging.LogRecord) -> list[str]:
    """`_extra_keys(record)`, as the redacting filter found them if nothing was added since."""
    fields = record.__dict__
    seen: tuple[int, list[str]] | None = fields.get(_KEYS_SEEN)
    if seen is not None and seen[0] == len(fields):
        return seen[1]
    return _extra_keys(record)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        keys = _extra_keys(record)
        for key in keys:
            if _is_sensitive(key):
                fields[key] = _REDACTED
            else:
                value = fields[key]
                if isinstance(value, _CONTAINERS):
                    fields[key] = redact(value)
        # For the formatter, with the number of attributes the record will have: one added later (by a
        # handler's filter, say) makes the formatter look again.
        fields[_KEYS_SEEN] = (len(fields) + (_KEYS_SEEN not in fields), keys)
        return True


# What json.dumps(entry, default=str, ensure_ascii=False) makes, without a new encoder for every line.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """A LogRecord as one line of JSON; `keys` are added to every line (e.g. the Lambda request id)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.keys: dict[str, Any] = {}  # already redacted (ServiceLogger.append_keys)
        self._second = -1
        self._stamp = ("", "")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": self._timestamp(record),
            "service": self.service,
        }
        entry.update(self.keys)
        fields = record.__dict__
        for key in _formatted_keys(record):
            entry[key] = fields[key]
        if record.exc_info:
            entry["exception_name"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exception"] = self.formatException(record.exc_info)
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            entry["xray_trace_id"] = trace.partition(";")[0].removeprefix("Root=")
        return _ENCODER.encode(entry)

    def _timestamp(self, record: logging.LogRecord) -> str:
        """`2026-11-27 04:47:35,679+0000`; the part before the milliseconds is made once a second."""
        second = int(record.created)
        if second != self._second:
            created = time.localtime(second)
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S,", created), time.strftime("%z", created)
        return f"{self._stamp[0]}{int(record.msecs):03d}{self._stamp[1]}"


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
                self.registered_formatter.keys[key] = _REDACTED if _is_sensitive(key) else redact(value)


@lru_cache(maxsize=1)
def get_logger() -> ServiceLogger:
    from common.settings import get_settings

    return ServiceLogger(os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE, get_settings().LOG_LEVEL)
