"""Secrets at rest (Google tokens, OAuth flow secrets): AES-256-GCM under TOKEN_ENCRYPTION_KEY.

A sealed value is `v1.` + base64url(12-byte nonce || ciphertext || tag). The associated data names what
the value is and whose (e.g. "google-refresh-token:<user id>"), so a ciphertext copied into another
row or another user's row does not decrypt. A KMS-backed key provider would slot in behind `get_sealer`.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1."
_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value that does not open: altered, moved to another row, or under another key."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str:
        if not sealed.startswith(_VERSION):
            raise SealError("unknown sealed format")
        try:
            raw = base64.urlsafe_b64decode(sealed.removeprefix(_VERSION))
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, ValueError):
            raise SealError("the sealed value does not open") from None


@lru_cache(maxsize=1)
def get_sealer() -> Sealer:
    from common.keys import token_encryption_key
    from common.settings import get_settings

    return Sealer(token_encryption_key(get_settings()))
