"""Cold starts stay small: each function imports only what it uses, heavy SDKs only on their paths."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The SDKs themselves (Powertools imports the bare `botocore` package for its user agent: a
# millisecond; `botocore.client`, the real cost, must not load).
HEAVY = ("anthropic", "boto3", "botocore.client", "googleapiclient", "authlib")


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("handler", "allowed"),
    [
        ("auth.handler", set()),
        ("records.handler", set()),  # boto3 only when a prep job is sent to SQS
        ("export.handler", set()),
        ("prep.handler", set()),  # anthropic only when a prep is generated
    ],
)
def test_a_handler_imports_no_heavy_sdk_at_cold_start(handler: str, allowed: set[str]) -> None:
    loaded = _modules_after_import(handler) & set(HEAVY)
    assert loaded <= allowed, f"{handler} imports {sorted(loaded - allowed)} at cold start"
