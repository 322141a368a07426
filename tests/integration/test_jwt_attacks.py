"""Forged, tampered and stale access tokens against GET /v1/me: always 401 + WWW-Authenticate: Bearer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi.testclient import TestClient
from httpx2 import Response

from common.keys import jwt_key_pem
from common.settings import get_settings
from tests.conftest import bearer, register

REQUIRED = ("exp", "iat", "iss", "aud", "sub", "jti", "sid")


# ---- token forging -----------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def es_sign(message: bytes, key: ec.EllipticCurvePrivateKey, digest: hashes.HashAlgorithm) -> bytes:
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(digest)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def forge(header: dict[str, Any], claims: dict[str, Any], key: Any = None, alg: str | None = None) -> str:
    """A compact JWS with exactly this header, signed per `alg` (default: the header's alg) with `key`."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    alg = alg or header.get("alg", "none")
    message = signing_input.encode()
    if alg == "ES256":
        signature = es_sign(message, key, hashes.SHA256())
    elif alg == "ES384":
        signature = es_sign(message, key, hashes.SHA384())
    elif alg == "RS256":
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "HS256":
        signature = hmac.new(key, message, hashlib.sha256).digest()
    else:
        signature = key if isinstance(key, bytes) else b""
    return f"{signing_input}.{b64url(signature)}"


def server_key() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(jwt_key_pem(get_settings()), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


class Victim:
    """A signed-in user, and tokens about them that differ from a real one only where a test says so."""

    def __init__(self, client: TestClient, tokens: dict[str, Any]) -> None:
        self.client = client
        self.tokens = tokens
        self.header, self.claims = decode_unverified(tokens["access_token"])
        self.kid = self.header["kid"]
        self.key = server_key()

    def good_header(self, **changes: Any) -> dict[str, Any]:
        return {"alg": "ES256", "typ": "at+jwt", "kid": self.kid, **changes}

    def good_claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.claims["iss"],
            "aud": self.claims["aud"],
            "sub": self.claims["sub"],
            "sid": self.claims["sid"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": "forged-" + str(now),
        }
        claims.update(changes)
        return claims

    def token(self, header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None) -> str:
        return forge(header or self.good_header(), claims or self.good_claims(), self.key)


@pytest.fixture
def victim(client: TestClient, user: dict[str, Any]) -> Victim:
    return Victim(client, user)


def me(client: TestClient, authorization: str | None) -> Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/v1/me", headers=headers)


def assert_rejected(
    client: TestClient, token: str | None, *, raw: str | None = None, case: Any = None
) -> None:
    """GET /v1/me with `Bearer <token>` (or the raw header) is 401 problem+json with WWW-Authenticate."""
    authorization = raw if raw is not None else f"Bearer {token}"
    response = me(client, authorization)
    assert response.status_code == 401, (case, authorization[:200], response.text)
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.headers["content-type"].split(";")[0].strip() == "application/problem+json"
    body = response.json()
    assert body["status"] == 401
    for key in ("type", "title", "detail"):
        assert isinstance(body[key], str) and body[key]
    assert "user" not in body and "email" not in body
    if token:
        assert token not in response.text  # the token is never echoed back


def assert_accepted(client: TestClient, token: str, victim: Victim) -> None:
    response = me(client, f"Bearer {token}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == victim.claims["sub"]


# ---- sanity: the forging helpers make tokens the server accepts --------------------------------


def test_a_token_forged_with_the_server_key_is_accepted(client: TestClient, victim: Victim) -> None:
    assert_accepted(client, victim.token(), victim)
    assert_accepted(client, victim.tokens["access_token"], victim)


# ---- the Authorization header ------------------------------------------------------------------


def test_missing_authorization_header(client: TestClient, victim: Victim) -> None:
    assert_rejected(client, None, raw="")
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.headers["content-type"].startswith("application/problem+json")


def test_non_bearer_scheme(client: TestClient, victim: Victim) -> None:
    # A valid token under the wrong scheme (or no token at all) does not authenticate.
    for template in (
        "Basic {token}",
        "Token {token}",
        "JWT {token}",
        "{token}",
        "Bearer",
        "Bearer ",
        "Bearer: {token}",
    ):
        assert_rejected(client, None, raw=template.format(token=victim.tokens["access_token"]), case=template)


def test_garbage_token(client: TestClient, victim: Victim) -> None:
    for garbage in (
        "garbage",
        "a.b.c",
        "..",
        "eyJ.eyJ.sig",
        "a.b.c.d",
        "eyJhbGciOiJFUzI1NiJ9",
        "null",
        "%00",
    ):
        assert_rejected(client, garbage)


def test_two_tokens_in_one_header(client: TestClient, victim: Victim) -> None:
    token = victim.tokens["access_token"]
    assert_rejected(client, None, raw=f"Bearer {token} {token}")


def test_tampered_payload_keeps_signature(client: TestClient, victim: Victim) -> None:
    bob = register(client, email="bob@example.com", name="Bob")
    _, bob_claims = decode_unverified(bob["access_token"])
    header_b64, _, signature = victim.tokens["access_token"].split(".")
    tampered = victim.good_claims(sub=bob_claims["sub"], sid=bob_claims["sid"])
    assert_rejected(client, f"{header_b64}.{segment(tampered)}.{signature}")
    assert_rejected(client, f"{header_b64}.{victim.tokens['access_token'].split('.')[1]}.")


# ---- algorithm confusion -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none(client: TestClient, victim: Victim, alg: str) -> None:
    real_signature = base64.urlsafe_b64decode(victim.tokens["access_token"].split(".")[2] + "==")
    for signature in (b"", b"not-a-signature", real_signature):
        for header in (victim.good_header(alg=alg), {"alg": alg}, {"alg": alg, "typ": "JWT"}):
            token = forge(header, victim.good_claims(), signature, alg="none")
            assert_rejected(client, token, case=(header, signature))


def _public_pem(client: TestClient) -> bytes:
    jwk = client.get("/.well-known/jwks.json").json()["keys"][0]
    public_key = jwt.PyJWK(jwk).key
    return bytes(
        public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@pytest.mark.parametrize("form", ["pem", "pem-stripped", "der", "jwk-json", "jwks-json", "x-coordinate"])
def test_hs256_signed_with_the_public_key(client: TestClient, victim: Victim, form: str) -> None:
    """Algorithm confusion: HMAC keyed with the published public key, in each form it can be had."""
    jwks_text = client.get("/.well-known/jwks.json").text
    jwk = json.loads(jwks_text)["keys"][0]
    pem = _public_pem(client)
    secret = {
        "pem": pem,
        "pem-stripped": pem.strip(),
        "der": serialization.load_pem_public_key(pem).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": json.dumps(jwk).encode(),
        "jwks-json": jwks_text.encode(),
        "x-coordinate": jwk["x"].encode(),
    }[form]
    for header in (victim.good_header(alg="HS256"), {"alg": "HS256", "typ": "JWT"}):
        assert_rejected(client, forge(header, victim.good_claims(), secret))


def test_token_signed_by_another_ec_key_with_the_right_kid(client: TestClient, victim: Victim) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    assert_rejected(client, forge(victim.good_header(), victim.good_claims(), attacker))


@pytest.mark.parametrize(
    ("alg", "make_key"),
    [
        ("ES384", lambda: ec.generate_private_key(ec.SECP384R1())),
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ],
)
def test_other_asymmetric_algorithms(client: TestClient, victim: Victim, alg: str, make_key: Any) -> None:
    assert_rejected(client, forge(victim.good_header(alg=alg), victim.good_claims(), make_key()))


def test_real_key_signature_under_a_different_alg_label(client: TestClient, victim: Victim) -> None:
    for alg in ("ES384", "ES512", "es256", "ES256K"):
        token = forge(victim.good_header(alg=alg), victim.good_claims(), victim.key, alg="ES256")
        assert_rejected(client, token)


# ---- kid and key-location headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "unknown-kid",
        "",
        None,
        "../../dev/null",
        "' OR 1=1 --",
        "x' UNION SELECT 'secret",
        "../../../../etc/passwd",
        1,
    ],
)
def test_bad_kid(client: TestClient, victim: Victim, kid: Any) -> None:
    header = victim.good_header(kid=kid)
    if kid is None:
        del header["kid"]
    # Signed with the real key: only the kid is wrong.
    assert_rejected(client, victim.token(header=header))
    # The classic kid attacks pair an injected kid with an HMAC over a predictable secret.
    for secret in (b"", b"\x00", b"secret", b"1"):
        assert_rejected(client, forge({**header, "alg": "HS256"}, victim.good_claims(), secret), case=secret)


def _attacker_jwk() -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    attacker = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key()))
    return attacker, jwk


@pytest.mark.parametrize("name", ["jku", "jwk", "x5u", "x5c"])
def test_key_location_headers(client: TestClient, victim: Victim, name: str) -> None:
    attacker, jwk = _attacker_jwk()
    value = {
        "jku": "https://attacker.example/jwks.json",
        "jwk": {**jwk, "kid": victim.kid},
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBszCCAVmgAwIBAgIUQ=="],
    }[name]
    header = victim.good_header(**{name: value})
    # Signed by the attacker's key that the header points at, and (even) by the real key.
    assert_rejected(client, forge(header, victim.good_claims(), attacker))
    assert_rejected(client, forge(header, victim.good_claims(), victim.key))


def test_crit_header_is_rejected(client: TestClient, victim: Victim) -> None:
    header = victim.good_header(crit=["exp"])
    assert_rejected(client, victim.token(header=header))


def test_wrong_typ_header(client: TestClient, victim: Victim) -> None:
    for typ in ("JWT", "jwt", "at+jwt+x", "", None, "refresh", "id_token"):
        header = victim.good_header(typ=typ)
        if typ is None:
            del header["typ"]
        assert_rejected(client, victim.token(header=header), case=typ)


# ---- claims ------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", REQUIRED)
def test_missing_required_claim(client: TestClient, victim: Victim, claim: str) -> None:
    claims = victim.good_claims()
    del claims[claim]
    assert_rejected(client, victim.token(claims=claims))


def test_claims_of_the_wrong_type(client: TestClient, victim: Victim) -> None:
    cases: list[dict[str, Any]] = [
        {"sub": 12345},
        {"sub": ""},
        {"sid": ""},
        {"sid": None},
        {"sid": 5},
        {"jti": ""},
        {"exp": "9999999999"},
        {"exp": None},
        {"iat": "now"},
        {"aud": 7},
    ]
    for changes in cases:
        assert_rejected(client, victim.token(claims=victim.good_claims(**changes)), case=changes)


def test_expired_beyond_the_leeway(client: TestClient, victim: Victim) -> None:
    now = int(time.time())
    for seconds_ago in (45, 120, 86_400):
        claims = victim.good_claims(iat=now - 900 - seconds_ago, nbf=now - 900 - seconds_ago)
        claims["exp"] = now - seconds_ago
        assert_rejected(client, victim.token(claims=claims))


def test_expired_within_the_leeway_is_still_accepted(client: TestClient, victim: Victim) -> None:
    now = int(time.time())
    claims = victim.good_claims(iat=now - 910, nbf=now - 910, exp=now - 10)
    assert_accepted(client, victim.token(claims=claims), victim)


def test_not_yet_valid(client: TestClient, victim: Victim) -> None:
    now = int(time.time())
    claims = victim.good_claims(nbf=now + 300, iat=now + 300, exp=now + 1200)
    assert_rejected(client, victim.token(claims=claims))


def test_wrong_issuer(client: TestClient, victim: Victim) -> None:
    issuer = get_settings().JWT_ISSUER
    assert victim.claims["iss"] == issuer
    for iss in ("https://evil.example", "", issuer + "/", issuer.upper(), issuer + ".evil.example", None):
        assert_rejected(client, victim.token(claims=victim.good_claims(iss=iss)), case=iss)


def test_wrong_audience(client: TestClient, victim: Victim) -> None:
    audience = get_settings().JWT_AUDIENCE
    assert victim.claims["aud"] == audience
    for aud in ("other-service", "", ["other-service"], [], audience.title(), audience + "-admin", None):
        assert_rejected(client, victim.token(claims=victim.good_claims(aud=aud)), case=aud)


def test_oversized_token(client: TestClient, victim: Victim) -> None:
    # Validly signed, otherwise good: only its size differs. Just under 4096 chars is accepted...
    base = len(victim.token())
    small = victim.token(claims=victim.good_claims(pad="x" * ((4000 - base) * 3 // 4)))
    assert 3900 < len(small) <= 4096
    assert_accepted(client, small, victim)
    # ...and a larger one is refused.
    for size in (4200, 20_000):
        big = victim.token(claims=victim.good_claims(pad="x" * ((size - base) * 3 // 4)))
        assert len(big) > 4096
        assert_rejected(client, big)


# ---- tokens whose session or user is gone ------------------------------------------------------


def test_token_of_a_deleted_user(client: TestClient, victim: Victim) -> None:
    forged = victim.token()
    assert client.delete("/v1/me", headers=bearer(victim.tokens)).status_code == 204
    assert_rejected(client, victim.tokens["access_token"])
    assert_rejected(client, forged)  # validly signed and unexpired, but the user is gone


def test_token_after_logout(client: TestClient, victim: Victim) -> None:
    forged = victim.token()
    assert client.post("/v1/auth/logout", headers=bearer(victim.tokens)).status_code == 204
    assert_rejected(client, victim.tokens["access_token"])
    assert_rejected(client, forged)


def test_unknown_session_id(client: TestClient, victim: Victim) -> None:
    assert_rejected(client, victim.token(claims=victim.good_claims(sid="0" * 32)))


def test_subject_and_session_must_belong_together(client: TestClient, victim: Victim) -> None:
    bob = register(client, email="bob@example.com", name="Bob")
    _, bob_claims = decode_unverified(bob["access_token"])
    # Ada's session with Bob's id, and Bob's session with Ada's id: neither is anyone's session.
    assert_rejected(client, victim.token(claims=victim.good_claims(sub=bob_claims["sub"])))
    assert_rejected(client, victim.token(claims=victim.good_claims(sid=bob_claims["sid"])))
    assert client.get("/v1/me", headers=bearer(bob)).json()["email"] == "bob@example.com"


def test_unknown_subject(client: TestClient, victim: Victim) -> None:
    assert_rejected(client, victim.token(claims=victim.good_claims(sub="0" * 32)))


# ---- JWKS --------------------------------------------------------------------------------------


def test_jwks_publishes_one_public_p256_key(client: TestClient, victim: Victim) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    keys = response.json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert key["kid"] == victim.kid
    assert "d" not in key
    assert not {"p", "q", "dp", "dq", "qi", "k"} & key.keys()
    # It is the server's signing key: the x/y coordinates match, and issued tokens verify with it.
    numbers = server_key().public_key().public_numbers()
    assert base64.urlsafe_b64decode(key["x"] + "==") == numbers.x.to_bytes(32, "big")
    assert base64.urlsafe_b64decode(key["y"] + "==") == numbers.y.to_bytes(32, "big")
    claims = jwt.decode(
        victim.tokens["access_token"],
        jwt.PyJWK(key).key,
        algorithms=["ES256"],
        audience=get_settings().JWT_AUDIENCE,
        issuer=get_settings().JWT_ISSUER,
    )
    assert claims["sub"] == victim.tokens["user"]["id"]
    assert '"d"' not in response.text


def test_jwks_needs_no_token(client: TestClient) -> None:
    assert client.get("/.well-known/jwks.json").status_code == 200


# ---- signatures that are not signatures (RFC 8725 3.1, jwt_tool's null-signature / psychic-signature) ----


def test_null_and_zero_signatures(client: TestClient, victim: Victim) -> None:
    header_b64, claims_b64, _ = victim.token().split(".")
    for signature in (b"", b"\x00", bytes(64), bytes(32) + b"\x01" + bytes(31), b"\xff" * 64):
        # 64 zero bytes is r = s = 0: the "psychic signature" (CVE-2022-21449) that verifies anything
        # under a broken ECDSA check.
        assert_rejected(client, f"{header_b64}.{claims_b64}.{b64url(signature)}", case=signature[:4])
    assert_rejected(client, f"{header_b64}.{claims_b64}.null")


# ---- time claims at the edges of the leeway (30 s) -------------------------------------------------


def test_not_before_edges(client: TestClient, victim: Victim) -> None:
    now = int(time.time())
    assert_accepted(client, victim.token(claims=victim.good_claims(nbf=now + 10)), victim)
    for ahead in (60, 3600):
        assert_rejected(client, victim.token(claims=victim.good_claims(nbf=now + ahead)), case=ahead)


def test_expiry_edges(client: TestClient, victim: Victim) -> None:
    now = int(time.time())
    # Just inside the leeway is accepted; well past it, and an exp before iat/nbf, are refused.
    assert_accepted(client, victim.token(claims=victim.good_claims(exp=now - 5)), victim)
    assert_rejected(client, victim.token(claims=victim.good_claims(exp=now - 90)))
    assert_rejected(client, victim.token(claims=victim.good_claims(exp=0)))
    assert_rejected(client, victim.token(claims=victim.good_claims(exp=-1)))


# ---- oversized tokens never reach the decoder ---------------------------------------------------------


def test_oversized_token_is_refused_before_decoding(client: TestClient, victim: Victim) -> None:
    # Validly signed with a perfect header: were it decoded it would pass. It is refused as malformed
    # (the length check runs first), as is one whose segments would not even parse.
    base = len(victim.token())
    big = victim.token(claims=victim.good_claims(pad="x" * ((6000 - base) * 3 // 4)))
    junk = "!" * 3000 + "." + "!" * 3000 + "." + "!" * 3000
    for token in (big, junk, "a." * 2 + "b" * 200_000):
        response = me(client, f"Bearer {token}")
        assert response.status_code == 401
        assert response.json()["detail"] == "Malformed access token"
    # A 200 kB token is answered as quickly as a short garbage one (no base64/JSON/ECDSA work on it).
    started = time.perf_counter()
    for _ in range(20):
        assert me(client, "Bearer " + "a.b." + "c" * 200_000).status_code == 401
    assert (time.perf_counter() - started) / 20 < 0.25


def test_oversized_header_is_refused(client: TestClient, victim: Victim) -> None:
    header = victim.good_header(pad="x" * 600)  # signed with the real key; only the header is long
    assert_rejected(client, victim.token(header=header))
