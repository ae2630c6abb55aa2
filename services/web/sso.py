"""Sign-in through a province's SSO: OpenID Connect, authorization code flow with PKCE.

1. `begin`: the provider's configuration (`{issuer}/.well-known/openid-configuration`, cached),
   a new `state`, `nonce` and PKCE verifier kept server-side (`sso_logins`, any copy of the
   service can finish the login), and the provider's authorization URL to send the browser to.
2. `finish`: the callback's `state` takes its pending login (once; 10 minutes at most; and only
   in the browser that began it), the code is exchanged at the token endpoint with the client
   secret and the PKCE verifier, the id_token is verified with the provider's JWKS (signature,
   audience, issuer, expiry, then nonce), and the user name it names is signed in as the local
   account of that name (`AccountCommands.sign_in_sso`: role, department and roster id stay
   local, as do the refusals).

The pure decisions (challenge, expiry, claims, user name) are in `domain/sso.py`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.kit.errors import TemporaryError
from services.web.commands import AccountCommands, SessionStarted, SignInRefused
from services.web.domain.sso import (
    PENDING_LOGIN_MINUTES,
    access_expires_at,
    claims_problem,
    pending_expired,
    pkce_challenge,
    username_from_claims,
)
from services.web.store import WebStore

log = logging.getLogger("spotcheck.web.sso")

SCOPE = "openid profile"
ALGORITHMS = ["RS256", "ES256"]
# Clocks of the provider and this host may differ a little.
LEEWAY_S = 60

AGAIN = "请重新登录。"


class SsoStateRefused(SignInRefused):
    """A callback whose login is unknown, used, expired or begun in another browser."""

    status = 400
    code = "sso_state"


@dataclass(frozen=True)
class ProviderConfig:
    """What the provider's discovery document says this flow needs."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class SsoStart:
    """Where to send the browser, and the state its callback must bring back."""

    url: str
    state: str


@dataclass(frozen=True)
class SsoFinished:
    """A session started through the SSO, and where the person wanted to go."""

    started: SessionStarted
    next_url: str


def _now() -> datetime:
    return datetime.now(UTC)


class SsoSignIn:
    """The OIDC relying party of the web service."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        username_claim: str,
        store: WebStore,
        accounts: AccountCommands,
        keep_access_token: bool,
        timeout_s: float,
        discovery_ttl_s: float = 3600.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.username_claim = username_claim
        self.store = store
        self.accounts = accounts
        # Whether the services verify the provider's tokens (SPOTCHECK_JWT_JWKS_URL): then the
        # person's access token is kept with the session and passed on.
        self.keep_access_token = keep_access_token
        self.timeout_s = timeout_s
        self.discovery_ttl_s = discovery_ttl_s
        self.client = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._config: ProviderConfig | None = None
        self._config_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None

    async def provider(self) -> ProviderConfig:
        """The provider's configuration, fetched at most once per `discovery_ttl_s`."""
        if self._config is not None and time.monotonic() - self._config_at < self.discovery_ttl_s:
            return self._config
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            response = await self.client.get(url)
            response.raise_for_status()
            doc: Any = response.json()
            config = ProviderConfig(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise TemporaryError(f"the SSO provider's configuration at {url}: {exc}") from exc
        if config.issuer.rstrip("/") != self.issuer:
            raise TemporaryError(
                f"the SSO provider at {url} names itself {config.issuer!r}, not {self.issuer!r}"
            )
        methods = doc.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise TemporaryError(f"the SSO provider at {url} does not offer PKCE with S256")
        if self._jwks is None or self._config is None or config.jwks_uri != self._config.jwks_uri:
            self._jwks = jwt.PyJWKClient(config.jwks_uri, timeout=self.timeout_s)
        self._config, self._config_at = config, time.monotonic()
        return config

    async def begin(self, *, next_url: str, redirect_uri: str) -> SsoStart:
        """Keep a new pending login and give the provider's authorization URL for it."""
        config = await self.provider()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 wants 43-128
        now = _now()
        await self.store.insert_sso_login(
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            next=next_url[:500],
            now=now,
            purge_before=now - timedelta(minutes=PENDING_LOGIN_MINUTES),
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in config.authorization_endpoint else "?"
        return SsoStart(url=f"{config.authorization_endpoint}{separator}{query}", state=state)

    async def finish(
        self,
        *,
        state: str,
        code: str,
        error: str,
        browser_state: str,
        redirect_uri: str,
        client: str,
    ) -> SsoFinished:
        """Finish the login the callback names; every refusal starts nothing."""
        pending = await self.store.take_sso_login(state) if state else None
        if pending is None or pending_expired(pending.created_at, now=_now()):
            raise SsoStateRefused(
                f"登录请求已失效（超过{PENDING_LOGIN_MINUTES}分钟或已使用过），{AGAIN}"
            )
        if not hmac.compare_digest(browser_state.encode(), state.encode()):
            raise SsoStateRefused(f"登录请求不是从本浏览器发起的，{AGAIN}")
        if error or not code:
            log.warning("the SSO provider answered the login with error %r", error[:100])
            raise SignInRefused(
                f"统一身份认证未完成登录（{error[:100] or '未返回授权码'}），{AGAIN}",
                code="sso_error",
            )
        config = await self.provider()
        tokens = await self._exchange(config, code, pending.code_verifier, redirect_uri)
        claims = await self._verify(config, tokens.get("id_token"), nonce=pending.nonce)
        username = username_from_claims(claims, self.username_claim)
        if username is None:
            raise SignInRefused(
                f"统一身份认证未提供用户名（{self.username_claim}），请联系管理员。",
                code="sso_no_username",
            )
        access_token: str | None = None
        expires_at: datetime | None = None
        if self.keep_access_token:
            access_token, expires_at = self._access_token(tokens)
        started = await self.accounts.sign_in_sso(
            username, access_token=access_token, access_expires_at=expires_at, client=client
        )
        return SsoFinished(started=started, next_url=pending.next)

    async def _exchange(
        self, config: ProviderConfig, code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        """The token response for a code (client_secret_post, with the PKCE verifier)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self.client_secret:  # a public client proves itself by PKCE alone
            form["client_secret"] = self.client_secret
        try:
            response = await self.client.post(
                config.token_endpoint, data=form, headers={"accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise TemporaryError(f"the SSO provider's token endpoint: {exc}") from exc
        if response.status_code >= 500:
            raise TemporaryError(f"the SSO provider's token endpoint: HTTP {response.status_code}")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            reason = body.get("error") if isinstance(body, dict) else None
            log.warning(
                "the SSO provider refused the code: HTTP %s %r", response.status_code, reason
            )
            raise SignInRefused(
                f"统一身份认证未能确认本次登录（{str(reason or response.status_code)[:100]}），"
                f"{AGAIN}",
                code="sso_token_refused",
            )
        return body

    async def _verify(self, config: ProviderConfig, id_token: Any, *, nonce: str) -> dict[str, Any]:
        """The claims of a valid id_token of this login; a refusal otherwise."""
        refused = SignInRefused(
            f"统一身份认证的登录凭据无效或已过期，{AGAIN}", code="sso_id_token_invalid"
        )
        if not isinstance(id_token, str) or not id_token:
            log.warning("the SSO provider's token response has no id_token")
            raise refused
        assert self._jwks is not None  # set with the configuration
        try:
            # PyJWKClient fetches (and caches) the key set with blocking I/O: not on the loop.
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.client_id,
                issuer=config.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise TemporaryError(f"the SSO provider's keys at {config.jwks_uri}: {exc}") from exc
        except jwt.PyJWTError as exc:
            log.warning("id_token refused: %s", exc)
            raise refused from exc
        problem = claims_problem(claims, nonce=nonce, client_id=self.client_id)
        if problem is not None:
            log.warning("id_token refused: %s", problem)
            raise refused
        return claims

    def _access_token(self, tokens: dict[str, Any]) -> tuple[str, datetime | None]:
        """The person's access token to pass to the services, and when it ends."""
        token = tokens.get("access_token")
        now = _now()
        expires_at = access_expires_at(now=now, expires_in=tokens.get("expires_in"))
        if (
            not isinstance(token, str)
            or not token
            or (expires_at is not None and expires_at <= now)
        ):
            log.warning("the SSO provider gave no usable access token")
            raise SignInRefused(
                f"统一身份认证未提供可用的访问令牌，{AGAIN}", code="sso_no_access_token"
            )
        return token, expires_at

    async def close(self) -> None:
        """Close the connections to the provider."""
        await self.client.aclose()
