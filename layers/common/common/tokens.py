"""Access tokens: ES256 JWTs with `kid` and `typ: at+jwt` (RFC 9068), verified with the algorithm pinned.

Verification here checks the signature and claims only; whether the session is still alive is checked
by common.security against the database, so logout and account deletion take effect at once.

Tokens are parsed and verified here with `cryptography` alone, strictly (RFC 7515 compact form, no
padding, canonical base64url, exactly one header shape): a general JWT library spends as much again
as the ECDSA check on options we never use. Verified tokens are kept in a small per-instance cache keyed
by the exact token text, so a warm function checks a session's token's signature once; the time claims
are re-checked on every use, and the session itself is checked in the database on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

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
VERIFIED_CACHE_SIZE = 256  # tokens (~120 kB); a warm instance serves few sessions at once
_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit"})
_COORDINATE_BYTES = 32  # P-256
# The order of P-256's base point: a signature's r and s lie in [1, n-1] (RFC 6979, SEC 1 4.1.4).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")  # base64url without padding (RFC 7515 2, 7.1)
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    session_id: str
    token_id: str
    expires_at: int
    not_before: int = 0  # the later of nbf and iat


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _malformed() -> UnauthorizedError:
    return UnauthorizedError("Malformed access token")


def _invalid() -> UnauthorizedError:
    return UnauthorizedError("Invalid access token")


def _segment(text: str) -> bytes:
    """A base64url segment's bytes; only the canonical encoding of some bytes is accepted (no padding,
    no stray bits in the last character), so one token has exactly one spelling."""
    if not _SEGMENT.fullmatch(text) or len(text) % 4 == 1:
        raise _malformed()
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as exc:
        raise _malformed() from exc
    if _b64url(data) != text:
        raise _malformed()
    return data


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _malformed() from exc
    if not isinstance(value, dict):
        raise _malformed()
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# SubjectPublicKeyInfo (RFC 5480) up to the key's bit string: SEQUENCE { AlgorithmIdentifier {
# id-ecPublicKey, secp256r1 } }. A P-256 public key's DER is 30 <len> this 03 <len> 00 <EC point>.
_P256_ALGORITHM = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
_PUBLIC_PEM = re.compile(
    rb"\A\s*-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*\Z"
)


def _load_public_pem(pem: bytes) -> ec.EllipticCurvePublicKey:
    """An EC P-256 public key from its PEM (SubjectPublicKeyInfo), read here rather than by
    cryptography's serialization module: records and export need nothing else of it, and importing it
    is ~12 ms of their cold start. Anything but a P-256 key, or a point not on the curve, is refused."""
    refused = ValueError("JWT_PUBLIC_KEY must be an EC P-256 public key (ES256)")
    match = _PUBLIC_PEM.match(pem)
    if match is None:
        raise refused
    try:
        der = base64.b64decode(b"".join(match[1].split()), validate=True)
    except binascii.Error:
        raise refused from None
    algorithm_end = 2 + len(_P256_ALGORITHM)
    if (
        len(der) < algorithm_end + 3
        or der[0] != 0x30
        or der[1] != len(der) - 2  # short-form lengths: a P-256 key's are all under 128
        or der[2:algorithm_end] != _P256_ALGORITHM
        or der[algorithm_end] != 0x03  # BIT STRING
        or der[algorithm_end + 1] != len(der) - algorithm_end - 2
        or der[algorithm_end + 2] != 0x00  # no unused bits
    ):
        raise refused
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), der[algorithm_end + 3 :])
    except ValueError:
        raise refused from None


def _load_key(pem: bytes) -> tuple[ec.EllipticCurvePrivateKey | None, ec.EllipticCurvePublicKey]:
    """(private key or None, public key) of a PEM holding either half of an EC P-256 key."""
    if b"PUBLIC KEY-----" in pem:
        return None, _load_public_pem(pem)
    # Only the function that signs (auth) reads a private key, so only it loads this module.
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private = load_pem_private_key(pem, password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise ValueError("JWT_PRIVATE_KEY must be an EC P-256 private key (ES256)")
    return private, private.public_key()


def _public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }


class TokenService:
    """Issues and verifies access tokens; built from a public key alone, it only verifies them."""

    def __init__(self, key_pem: bytes, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._private_key, self._public_key = _load_key(key_pem)
        public_jwk = _public_jwk(self._public_key)
        # RFC 7638 thumbprint: a stable kid derived from the key itself.
        canonical = json.dumps({k: public_jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())
        self._jwk = {**public_jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}
        # The one header our tokens carry (keys sorted, as RFC 7515 leaves free and PyJWT writes them).
        self._header = _b64url(
            json.dumps({"alg": ALGORITHM, "kid": self.kid, "typ": TOKEN_TYPE}, separators=(",", ":")).encode()
        )
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        # Per instance: a cached result is only ever this key's, issuer's and audience's verdict.
        self._verified = lru_cache(maxsize=VERIFIED_CACHE_SIZE)(self._verify_signed)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def issue(self, *, user_id: str, session_id: str, now: int) -> str:
        if self._private_key is None:
            raise KeyConfigurationError("this function only verifies access tokens (JWT_PUBLIC_KEY)")
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
        signing_input = f"{self._header}.{_b64url(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(self._private_key.sign(signing_input.encode(), _ECDSA_SHA256))
        signature = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str, *, now: float | None = None) -> AccessClaims:
        """The claims of a token this service issued, within its lifetime at `now` (default: the
        clock) give or take 30 s."""
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise _malformed()
        claims = self._verified(token)
        now = time.time() if now is None else now
        if claims.expires_at <= now - LEEWAY_SECONDS:
            raise UnauthorizedError("Access token expired")
        if claims.not_before > now + LEEWAY_SECONDS:
            raise _invalid()
        return claims

    def _verify_signed(self, token: str) -> AccessClaims:
        """Everything about a token but the clock: header, signature, then the claims (cached)."""
        header_b64, payload_b64, signature_b64 = token.split(".")
        if len(header_b64) > MAX_HEADER_LENGTH:
            raise _malformed()
        header = _json_object(_segment(header_b64))
        if (
            header.get("alg") != ALGORITHM
            or header.get("typ") != TOKEN_TYPE
            or header.get("kid") != self.kid
            or _FORBIDDEN_HEADERS & header.keys()
        ):
            raise UnauthorizedError("Access token was not issued by this service")
        payload = _segment(payload_b64)
        signature = _segment(signature_b64)
        if len(signature) != 2 * _COORDINATE_BYTES:
            raise _invalid()
        r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
        s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
        if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
            raise _invalid()
        try:
            self._public_key.verify(
                encode_dss_signature(r, s), f"{header_b64}.{payload_b64}".encode(), _ECDSA_SHA256
            )
        except InvalidSignature:
            raise _invalid() from None
        return self._claims(_json_object(payload))

    def _claims(self, claims: dict[str, Any]) -> AccessClaims:
        if any(claims.get(name) is None for name in REQUIRED_CLAIMS):
            raise _invalid()
        audience = claims["aud"]
        audiences = [audience] if isinstance(audience, str) else audience
        if (
            not isinstance(audiences, list)
            or not all(isinstance(a, str) for a in audiences)
            or self.audience not in audiences
        ):
            raise _invalid()
        if claims["iss"] != self.issuer:
            raise _invalid()
        expires, issued, not_before = claims["exp"], claims["iat"], claims.get("nbf", 0)
        if not (_is_int(expires) and _is_int(issued) and _is_int(not_before)):
            raise _invalid()
        user_id, session_id, token_id = claims["sub"], claims["sid"], claims["jti"]
        if not all(isinstance(v, str) and v for v in (user_id, session_id, token_id)):
            raise _invalid()
        return AccessClaims(
            user_id=user_id,
            session_id=session_id,
            token_id=token_id,
            expires_at=expires,
            not_before=max(issued, not_before),
        )


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
