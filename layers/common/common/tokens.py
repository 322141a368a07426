"""Access tokens: ES256 JWTs with `kid` and `typ: at+jwt` (RFC 9068), verified with the algorithm pinned.

Verification here checks the signature and claims only; whether the session is still alive is checked
by common.security against the database, so logout and account deletion take effect at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from jwt.algorithms import ECAlgorithm

from common.clock import new_id
from common.errors import UnauthorizedError
from common.keys import KeyConfigurationError, jwt_key_pem
from common.settings import Settings, get_settings

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068 media type, not a secret
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "sid")
MAX_TOKEN_LENGTH = 4096  # ours are ~450 bytes; anything far larger is rejected before decoding
MAX_HEADER_LENGTH = 512  # ours is ~110 characters; a long header is an attack on the JSON parser
LEEWAY_SECONDS = 30
_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit"})


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    session_id: str
    token_id: str
    expires_at: int


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _load_key(pem: bytes) -> tuple[ec.EllipticCurvePrivateKey | None, ec.EllipticCurvePublicKey]:
    """(private key or None, public key) of a PEM holding either half of an EC P-256 key."""
    if b"-----BEGIN PUBLIC KEY-----" in pem:
        public = load_pem_public_key(pem)
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise ValueError("JWT_PUBLIC_KEY must be an EC P-256 public key (ES256)")
        return None, public
    private = load_pem_private_key(pem, password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise ValueError("JWT_PRIVATE_KEY must be an EC P-256 private key (ES256)")
    return private, private.public_key()


class TokenService:
    """Issues and verifies access tokens; built from a public key alone, it only verifies them."""

    def __init__(self, key_pem: bytes, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._private_key, self._public_key = _load_key(key_pem)
        public_jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(self._public_key))
        # RFC 7638 thumbprint: a stable kid derived from the key itself.
        canonical = json.dumps({k: public_jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())
        self._jwk = {**public_jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def issue(self, *, user_id: str, session_id: str, now: int) -> str:
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "sid": session_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": new_id(),
        }
        headers = {"kid": self.kid, "typ": TOKEN_TYPE}
        if self._private_key is None:
            raise KeyConfigurationError("this function only verifies access tokens (JWT_PUBLIC_KEY)")
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers=headers)

    def verify(self, token: str) -> AccessClaims:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise UnauthorizedError("Malformed access token")
        header = _unverified_header(token)
        if (
            header.get("alg") != ALGORITHM
            or header.get("typ") != TOKEN_TYPE
            or header.get("kid") != self.kid
            or _FORBIDDEN_HEADERS & header.keys()
        ):
            raise UnauthorizedError("Access token was not issued by this service")
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthorizedError("Access token expired") from exc
        except jwt.PyJWTError as exc:
            raise UnauthorizedError("Invalid access token") from exc
        values = (claims.get("sub"), claims.get("sid"), claims.get("jti"))
        if not all(isinstance(v, str) and v for v in values) or not isinstance(claims.get("exp"), int):
            raise UnauthorizedError("Invalid access token")
        return AccessClaims(
            user_id=claims["sub"], session_id=claims["sid"], token_id=claims["jti"], expires_at=claims["exp"]
        )


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header alone, to refuse foreign tokens before any signature work (PyJWT's own helper
    decodes and validates every segment, doubling the cost of each verification)."""
    segment = token.partition(".")[0]
    if len(segment) > MAX_HEADER_LENGTH:
        raise UnauthorizedError("Malformed access token")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise UnauthorizedError("Malformed access token") from exc
    if not isinstance(header, dict):
        raise UnauthorizedError("Malformed access token")
    return header


def build_token_service(settings: Settings) -> TokenService:
    return TokenService(
        jwt_key_pem(settings),
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        ttl_seconds=settings.ACCESS_TOKEN_TTL_SECONDS,
    )


@lru_cache(maxsize=1)
def get_token_service() -> TokenService:
    return build_token_service(get_settings())
