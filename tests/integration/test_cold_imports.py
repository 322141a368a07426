"""Cold starts stay small: each function imports only what it uses, heavy SDKs only on their paths."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

# The SDKs themselves (Powertools imports the bare `botocore` package for its user agent: a
# millisecond; `botocore.client`, the real cost, must not load).
HEAVY = ("anthropic", "boto3", "botocore.client", "googleapiclient", "authlib")


def _in_fresh_process(code: str) -> Any:
    """What `code`, run in a new interpreter, prints last as JSON."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    return set(_in_fresh_process(code))


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


def _unbuilt_models_after_import(handler: str) -> tuple[int, list[str]]:
    """(models declared, names of those whose validator was built) after importing `handler` alone."""
    code = (
        "import json, sys; from common.schemas import ApiModel\n"
        f"import {handler}\n"
        "def every(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from every(sub)\n"
        # an unparametrised generic (ListPage) is a template, built when declared; its pages are not
        "models = {m for m in every(ApiModel) if not m.__pydantic_generic_metadata__['parameters']}\n"
        "print(json.dumps([len(models), sorted(m.__name__ for m in models if m.__pydantic_complete__)]))"
    )
    declared, built = _in_fresh_process(code)
    return declared, built


@pytest.mark.parametrize("handler", ["auth.handler", "records.handler", "export.handler"])
def test_no_model_is_built_at_cold_start(handler: str) -> None:
    # Declaring a model does not build its validator (common.schemas.ApiModel: defer_build); a request
    # builds only the models it uses. One eager model in an HTTP function costs every cold start ~2 ms.
    declared, built = _unbuilt_models_after_import(handler)
    assert declared >= 3
    assert built == [], f"{handler} builds {built} at import"


@pytest.mark.parametrize("handler", ["records.handler", "export.handler"])
def test_a_verify_only_function_does_not_load_key_serialization(handler: str) -> None:
    # They read the JWT public key themselves (common.tokens); cryptography's serialization is ~12 ms.
    assert "cryptography.hazmat.primitives.serialization" not in _modules_after_import(handler)
