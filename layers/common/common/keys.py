"""Key material: the JWT signing key and the token encryption key.

From the environment when set (deployments pass them from Secrets Manager); otherwise, outside Lambda,
generated once into TRACKER_DATA_DIR with owner-only permissions. Creation is exclusive, so two
processes starting at once end up with the same key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from common.settings import Settings

JWT_KEY_FILE = "jwt_private_key.pem"
ENCRYPTION_KEY_FILE = "token_encryption.key"


class KeyConfigurationError(RuntimeError):
    pass


def _in_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def _read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """Read the key file, or publish a new one atomically: written to a private temp file, then
    hard-linked into place, so a racing process sees either no file or the complete key."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: its key is the key
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path.read_bytes()


def _generate_ec_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def jwt_key_pem(settings: Settings) -> bytes:
    """The PEM that signs and verifies access tokens: the private key when set (or, outside Lambda,
    generated), else JWT_PUBLIC_KEY for a function that only verifies them."""
    if settings.JWT_PRIVATE_KEY is not None:
        return settings.JWT_PRIVATE_KEY.get_secret_value().replace("\\n", "\n").encode()
    if settings.JWT_PUBLIC_KEY:
        return settings.JWT_PUBLIC_KEY.replace("\\n", "\n").encode()
    if _in_lambda():
        raise KeyConfigurationError(
            "JWT_PRIVATE_KEY (or, to verify only, JWT_PUBLIC_KEY) must be set in Lambda"
        )
    return _read_or_create(settings.TRACKER_DATA_DIR / JWT_KEY_FILE, _generate_ec_pem)


def token_encryption_key(settings: Settings) -> bytes:
    if settings.TOKEN_ENCRYPTION_KEY is not None:
        raw = settings.TOKEN_ENCRYPTION_KEY.get_secret_value().encode()
    elif _in_lambda():
        raise KeyConfigurationError("TOKEN_ENCRYPTION_KEY must be set in a deployed function")
    else:
        path = settings.TRACKER_DATA_DIR / ENCRYPTION_KEY_FILE
        raw = _read_or_create(path, lambda: base64.b64encode(secrets.token_bytes(32)) + b"\n").strip()
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise KeyConfigurationError("TOKEN_ENCRYPTION_KEY is not valid base64") from exc
    if len(key) != 32:
        raise KeyConfigurationError("TOKEN_ENCRYPTION_KEY must decode to exactly 32 bytes")
    return key


@lru_cache(maxsize=8)
def derived_key(purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from TOKEN_ENCRYPTION_KEY (HMAC-SHA256 as a KDF), so a
    pseudonymisation key never doubles as the encryption key itself."""
    from common.settings import get_settings

    return hmac.new(token_encryption_key(get_settings()), purpose.encode(), hashlib.sha256).digest()
