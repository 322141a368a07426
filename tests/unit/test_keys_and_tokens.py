"""Key material and access tokens."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from common.errors import UnauthorizedError
from common.keys import (
    ENCRYPTION_KEY_FILE,
    JWT_KEY_FILE,
    KeyConfigurationError,
    jwt_key_pem,
    token_encryption_key,
)
from common.settings import Settings
from common.tokens import TokenService


def test_keys_are_generated_once_owner_only(isolated_env: Path) -> None:
    settings = Settings()
    pem = jwt_key_pem(settings)
    key = token_encryption_key(settings)
    assert len(key) == 32
    for name in (JWT_KEY_FILE, ENCRYPTION_KEY_FILE):
        mode = stat.S_IMODE(os.stat(isolated_env / name).st_mode)
        assert mode == 0o600
    assert stat.S_IMODE(os.stat(isolated_env).st_mode) == 0o700
    assert jwt_key_pem(settings) == pem
    assert token_encryption_key(settings) == key


def test_racing_processes_agree_on_one_key(isolated_env: Path) -> None:
    code = textwrap.dedent(
        """
        import hashlib
        from common.keys import jwt_key_pem
        from common.settings import Settings
        print(hashlib.sha256(jwt_key_pem(Settings())).hexdigest())
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
        )
        for _ in range(4)
    ]
    digests = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(digests) == 1 and "" not in digests


def test_configured_keys_win_and_lambda_requires_them(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", raw)
    assert token_encryption_key(Settings()) == b"k" * 32
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", base64.b64encode(b"short").decode())
    with pytest.raises(KeyConfigurationError, match="32 bytes"):
        token_encryption_key(Settings())
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "not base64 !!")
    with pytest.raises(KeyConfigurationError, match="base64"):
        token_encryption_key(Settings())
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEY")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "AuthFunction")
    with pytest.raises(KeyConfigurationError):
        token_encryption_key(Settings())
    with pytest.raises(KeyConfigurationError):
        jwt_key_pem(Settings())


def _pem(curve: ec.EllipticCurve = ec.SECP256R1()) -> bytes:
    return ec.generate_private_key(curve).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _service(pem: bytes, **overrides: object) -> TokenService:
    options: dict[str, object] = {"issuer": "https://issuer.test", "audience": "aud", "ttl_seconds": 900}
    options.update(overrides)
    return TokenService(pem, **options)  # type: ignore[arg-type]


def test_issue_and_verify_round_trip() -> None:
    service = _service(_pem())
    now = int(time.time())
    token = service.issue(user_id="u1", session_id="s1", now=now)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": service.kid, "typ": "at+jwt"}
    claims = service.verify(token)
    assert (claims.user_id, claims.session_id, claims.expires_at) == ("u1", "s1", now + 900)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti"}


def test_kid_is_the_rfc7638_thumbprint_and_stable() -> None:
    pem = _pem()
    assert _service(pem).kid == _service(pem).kid
    assert _service(pem).kid != _service(_pem()).kid
    jwks = _service(pem).jwks()
    assert [k["kid"] for k in jwks["keys"]] == [_service(pem).kid]
    assert "d" not in jwks["keys"][0]


def test_token_from_another_issuer_audience_or_key_is_rejected() -> None:
    pem = _pem()
    token = _service(pem).issue(user_id="u", session_id="s", now=int(time.time()))
    for other in (
        _service(pem, issuer="https://evil.test"),
        _service(pem, audience="other"),
        _service(_pem()),
    ):
        with pytest.raises(UnauthorizedError):
            other.verify(token)


def test_only_p256_keys_are_accepted() -> None:
    with pytest.raises(ValueError, match="P-256"):
        _service(_pem(ec.SECP384R1()))


def test_derived_keys_are_per_purpose_and_not_the_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.keys import derived_key
    from common.settings import get_settings

    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", base64.b64encode(b"m" * 32).decode())
    get_settings.cache_clear()
    derived_key.cache_clear()
    first = derived_key("login-failures")
    assert len(first) == 32
    assert first == derived_key("login-failures")
    assert first != derived_key("other-purpose")
    assert first != b"m" * 32


def _public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_public_key_alone_verifies_but_cannot_issue() -> None:
    """Functions that only check access tokens (records, export) get JWT_PUBLIC_KEY, not the signing key."""
    private_pem = _pem()
    issuer, verifier = _service(private_pem), _service(_public_pem(private_pem))
    assert verifier.kid == issuer.kid and verifier.jwks() == issuer.jwks()
    token = issuer.issue(user_id="u1", session_id="s1", now=int(time.time()))
    assert verifier.verify(token).user_id == "u1"
    with pytest.raises(KeyConfigurationError, match="only verifies"):
        verifier.issue(user_id="u1", session_id="s1", now=int(time.time()))
    other = _service(_pem())
    with pytest.raises(UnauthorizedError):
        verifier.verify(other.issue(user_id="u1", session_id="s1", now=int(time.time())))


def test_the_public_key_setting_is_used_only_without_a_private_key(monkeypatch: pytest.MonkeyPatch) -> None:
    private_pem = _pem()
    public_pem = _public_pem(private_pem)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "RecordsFunction")
    monkeypatch.setenv("JWT_PUBLIC_KEY", public_pem.decode().replace("\n", "\\n"))  # one-line env form
    assert jwt_key_pem(Settings()) == public_pem
    monkeypatch.setenv("JWT_PRIVATE_KEY", private_pem.decode())
    assert jwt_key_pem(Settings()) == private_pem


def test_a_public_key_of_the_wrong_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="P-256"):
        _service(_public_pem(_pem(ec.SECP384R1())))


SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _spki_pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN PUBLIC KEY-----\n" + b"\n".join(lines) + b"\n-----END PUBLIC KEY-----\n"


def test_the_public_key_is_read_as_cryptography_reads_it_compressed_or_not() -> None:
    # common.tokens reads the SubjectPublicKeyInfo itself (no serialization module at cold start).
    for _ in range(20):
        private_pem = _pem()
        public = serialization.load_pem_private_key(private_pem, password=None).public_key()
        issuer = _service(private_pem)
        for point in (
            serialization.PublicFormat.UncompressedPoint,
            serialization.PublicFormat.CompressedPoint,
        ):
            der = public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            if point is serialization.PublicFormat.CompressedPoint:
                encoded = public.public_bytes(serialization.Encoding.X962, point)
                der = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200") + encoded
                assert serialization.load_der_public_key(der) == public  # a valid SPKI, as OpenSSL says
            verifier = _service(_spki_pem(der))
            assert verifier.jwks() == issuer.jwks()
            assert (
                verifier.verify(issuer.issue(user_id="u", session_id="s", now=int(time.time()))).user_id
                == "u"
            )


def test_anything_but_a_p256_public_key_pem_is_refused() -> None:
    public = serialization.load_pem_private_key(_pem(), password=None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, SPKI)
    p256, p384_like = bytes.fromhex("2a8648ce3d030107"), bytes.fromhex("2a8648ce3d030108")
    off_curve = der[:-1] + bytes([der[-1] ^ 1])
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    others = [
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
        ed25519.Ed25519PrivateKey.generate().public_key(),
    ]
    refused = [
        _spki_pem(off_curve),  # not a point of P-256
        _spki_pem(der[:-1]),  # truncated
        _spki_pem(der + b"\x00"),  # trailing byte
        _spki_pem(der.replace(p256, p384_like)),  # another curve's identifier
        _spki_pem(der)[:-30] + b"!!\n-----END PUBLIC KEY-----\n",  # not base64
        _spki_pem(der).replace(b"PUBLIC KEY", b"RSA PUBLIC KEY"),
        b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
        *(
            k.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            for k in others
        ),
    ]
    for pem in refused:
        with pytest.raises(ValueError, match="P-256"):
            _service(pem)


def test_a_cached_token_is_checked_against_the_clock_on_every_use() -> None:
    """Verified tokens are cached by their exact text; the cache never outlives exp or precedes nbf."""
    service = _service(_pem())
    issued_at = int(time.time())
    token = service.issue(user_id="u1", session_id="s1", now=issued_at)
    assert service.verify(token, now=issued_at).user_id == "u1"
    assert service.verify(token, now=issued_at + 900 + 29).session_id == "s1"  # within the leeway
    assert service._verified.cache_info().hits == 1
    for later in (issued_at + 900 + 30, issued_at + 86_400):
        with pytest.raises(UnauthorizedError, match="expired"):
            service.verify(token, now=later)
    with pytest.raises(UnauthorizedError):
        service.verify(token, now=issued_at - 31)  # before nbf/iat beyond the leeway
    assert service.verify(token, now=issued_at - 29).user_id == "u1"


def test_rejected_tokens_are_not_cached_and_a_near_copy_is_not_a_hit() -> None:
    service = _service(_pem())
    token = service.issue(user_id="u1", session_id="s1", now=int(time.time()))
    service.verify(token)
    head, payload, signature = token.split(".")
    other = _service(_pem()).issue(user_id="u1", session_id="s1", now=int(time.time()))
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{head}.{payload}.{flipped}", f"{head}.{payload}.{other.split('.')[2]}", token + "="):
        for _ in range(2):
            with pytest.raises(UnauthorizedError):
                service.verify(forged)
    info = service._verified.cache_info()
    assert (info.hits, info.currsize) == (0, 1)


def test_tokens_are_standard_es256_jws() -> None:
    """Issued without a JWT library, verified by one (PyJWT) with the published key, and vice versa."""
    private_pem = _pem()
    service = _service(private_pem)
    token = service.issue(user_id="u1", session_id="s1", now=int(time.time()))
    public = jwt.PyJWK(service.jwks()["keys"][0]).key
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="aud", issuer="https://issuer.test")
    assert (claims["sub"], claims["sid"]) == ("u1", "s1")
    key = serialization.load_pem_private_key(private_pem, password=None)
    now = int(time.time())
    by_pyjwt = jwt.encode(
        {**claims, "jti": "j2", "iat": now, "nbf": now, "exp": now + 60},
        key,
        algorithm="ES256",
        headers={"kid": service.kid, "typ": "at+jwt"},
    )
    assert service.verify(by_pyjwt).token_id == "j2"
