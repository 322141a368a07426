"""Google adapter: OIDC discovery, authorization URLs with PKCE, the code exchange (authlib), ID-token
verification (joserfc, every claim checked explicitly), and token revocation.

Every endpoint comes from GOOGLE_DISCOVERY_URL. authlib and requests are imported only on the paths
that talk to Google, so the auth function's cold start does not pay for them.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

TIMEOUT_SECONDS = 8.0
CLOCK_SKEW_SECONDS = 60
SIGNIN_SCOPE = "openid email profile"
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events.readonly"
# Google's ID tokens carry either spelling of its issuer.
_GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})


class GoogleError(Exception):
    """Google refused or answered something we cannot accept; the message is safe to show."""


class IdTokenError(GoogleError):
    """The ID token failed verification: nothing may be written on its behalf."""


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str | None
    email_verified: bool
    name: str | None
    picture: str | None


def _http() -> Any:
    import requests

    return requests


def _get_json(url: str) -> dict[str, Any]:
    requests = _http()
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise GoogleError("Google could not be reached") from exc
    if not isinstance(document, dict):
        raise GoogleError("Google answered something unexpected")
    return document


class GoogleClient:
    def __init__(self, *, client_id: str, client_secret: str, discovery_url: str) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._discovery_url = discovery_url
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None

    # ---- discovery and keys (cached per process; a race only fetches twice) ----

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            document = _get_json(self._discovery_url)
            required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not all(isinstance(document.get(key), str) for key in required):
                raise GoogleError("Google's discovery document is incomplete")
            self._metadata = document
        return self._metadata

    def _key_set(self, *, refresh: bool) -> Any:
        from joserfc.jwk import KeySet

        if self._jwks is None or refresh:
            self._jwks = _get_json(self.metadata()["jwks_uri"])
        try:
            return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError) as exc:
            raise GoogleError("Google's signing keys could not be read") from exc

    # ---- the authorization code flow ----

    def _session(self, *, scope: str, redirect_uri: str) -> Any:
        from authlib.integrations.requests_client import OAuth2Session

        return OAuth2Session(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        )

    def authorization_url(
        self, *, scope: str, redirect_uri: str, state: str, code_verifier: str, **params: str
    ) -> str:
        session = self._session(scope=scope, redirect_uri=redirect_uri)
        url, _ = session.create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, code_verifier=code_verifier, **params
        )
        return str(url)

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str, scope: str
    ) -> dict[str, Any]:
        from authlib.integrations.base_client import OAuthError

        requests = _http()
        session = self._session(scope=scope, redirect_uri=redirect_uri)
        try:
            token = session.fetch_token(
                self.metadata()["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                timeout=TIMEOUT_SECONDS,
            )
        except OAuthError as exc:
            raise GoogleError(f"Google refused the authorization code ({exc.error})") from None
        except requests.RequestException as exc:
            raise GoogleError("Google could not be reached") from exc
        except (ValueError, TypeError, KeyError):  # authlib: a token response that is not JSON
            raise GoogleError("Google's token endpoint answered something unexpected") from None
        return dict(token)

    def verify_id_token(self, id_token: str, *, nonce: str) -> GoogleIdentity:
        """Signature (RS256 from the discovery JWKS), iss, aud/azp, exp, iat and nonce, or IdTokenError."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        token = None
        for refresh in (False, True):  # an unknown kid may be a rotated key: fetch the keys once more
            try:
                token = jwt.decode(id_token, self._key_set(refresh=refresh), algorithms=["RS256"])
                break
            except (JoseError, ValueError, TypeError):
                continue
        if token is None:
            raise IdTokenError("The Google ID token's signature is not valid")
        return self._identity(token.claims, nonce=nonce)

    def _identity(self, claims: dict[str, Any], *, nonce: str) -> GoogleIdentity:
        issuer = self.metadata()["issuer"]
        accepted = _GOOGLE_ISSUERS if issuer in _GOOGLE_ISSUERS else {issuer}
        if claims.get("iss") not in accepted:
            raise IdTokenError("The Google ID token was issued by someone else")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise IdTokenError("The Google ID token is meant for another application")
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != self.client_id:
            raise IdTokenError("The Google ID token was requested by another application")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or exp < now - CLOCK_SKEW_SECONDS:
            raise IdTokenError("The Google ID token has expired")
        if not isinstance(iat, int | float) or iat > now + CLOCK_SKEW_SECONDS:
            raise IdTokenError("The Google ID token is not valid yet")
        given = claims.get("nonce")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
            raise IdTokenError("The Google ID token does not belong to this sign-in")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise IdTokenError("The Google ID token names no account")
        email = claims.get("email")
        return GoogleIdentity(
            sub=sub,
            email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            picture=claims.get("picture") if isinstance(claims.get("picture"), str) else None,
        )

    def revoke(self, token: str) -> bool:
        """Best effort: True when Google confirmed the revocation."""
        requests = _http()
        try:
            endpoint = self.metadata().get("revocation_endpoint")
            if not isinstance(endpoint, str):
                return False
            response = requests.post(endpoint, data={"token": token}, timeout=TIMEOUT_SECONDS)
        except (requests.RequestException, GoogleError):
            return False
        return bool(response.status_code == 200)


@lru_cache(maxsize=1)
def get_google_client() -> GoogleClient | None:
    """The configured client, or None when GOOGLE_CLIENT_ID/SECRET are not set (routes answer 503)."""
    from common.settings import get_settings

    settings = get_settings()
    if not settings.GOOGLE_CLIENT_ID or settings.GOOGLE_CLIENT_SECRET is None:
        return None
    return GoogleClient(
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET.get_secret_value(),
        discovery_url=settings.GOOGLE_DISCOVERY_URL,
    )
