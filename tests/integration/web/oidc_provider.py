"""A small OpenID Connect provider for tests: a province's SSO, as the web service meets it.

Discovery, `/authorize` (no sign-in form: the configured person is signed in at once and the
browser sent back with a code), `/token` (client_secret_post, PKCE S256 checked, codes used
once) and `/jwks`. Its RS256 key is made per test (cryptography). `id_token_claims` overrides
claims of the next id_tokens (a wrong nonce, another audience, an expiry in the past), and
`signing_key` signs them with a key the key set does not hold;
`mint()` gives access tokens the services accept when they verify by this provider's JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from contracts.common import Role

CLIENT_ID = "spotcheck-web"
CLIENT_SECRET = "test-client-secret"
KID = "test-key-1"


@dataclass(frozen=True)
class Person:
    """Someone the provider knows: the user name it asserts, and what access tokens carry."""

    username: str
    role: Role
    sub: str
    dept: str | None = None


@dataclass
class _Code:
    person: Person
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str


@dataclass
class OidcProvider:
    """The provider's state; `app()` serves it. `issuer` is set once its address is known."""

    issuer: str = ""
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    # Who signs in at `/authorize` next.
    person: Person | None = None
    # Claims of the next id_tokens, replaced or added (None removes one).
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    access_token_ttl_s: int = 600
    # Audience of the access tokens (the services' SPOTCHECK_JWT_AUDIENCE).
    services_audience: str = "spotcheck"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    # Signs the next id_tokens instead of `key` (under the same key id), when set.
    signing_key: rsa.RSAPrivateKey | None = None
    codes: dict[str, _Code] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def sign(self, claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
        """Claims signed with the provider's key (RS256, with its key id)."""
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KID})

    def mint(self, person: Person, *, ttl_s: int | None = None) -> str:
        """An access token for `person`, as the services verify it (role, dept, sub)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.services_audience,
            "sub": person.sub,
            "role": person.role.value,
            "iat": now,
            "exp": now + (ttl_s or self.access_token_ttl_s),
        }
        if person.dept:
            claims["dept"] = person.dept
        return self.sign(claims)

    def id_token(self, code: _Code) -> str:
        """The id_token answering a code, with the test's overrides."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"province-{code.person.username}",
            "aud": code.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": code.nonce,
            "preferred_username": code.person.username,
            "name": code.person.username,
        }
        for name, value in self.id_token_claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.sign(claims, self.signing_key)

    def app(self) -> FastAPI:
        """Discovery, authorization, token and key set endpoints."""
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }

        @app.get("/authorize")
        async def authorize(request: Request) -> Any:
            q = request.query_params
            problems = [
                name
                for name, ok in (
                    ("response_type", q.get("response_type") == "code"),
                    ("client_id", q.get("client_id") == self.client_id),
                    ("scope", "openid" in q.get("scope", "").split()),
                    ("code_challenge_method", q.get("code_challenge_method") == "S256"),
                    ("code_challenge", bool(q.get("code_challenge"))),
                    ("state", bool(q.get("state"))),
                    ("nonce", bool(q.get("nonce"))),
                    ("person", self.person is not None),
                )
                if not ok
            ]
            if problems:
                return JSONResponse({"error": "invalid_request", "fields": problems}, 400)
            assert self.person is not None
            code = secrets.token_urlsafe(24)
            self.codes[code] = _Code(
                person=self.person,
                client_id=q["client_id"],
                redirect_uri=q["redirect_uri"],
                nonce=q["nonce"],
                challenge=q["code_challenge"],
            )
            back = urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(f"{q['redirect_uri']}?{back}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> Any:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.token_requests.append(form)
            code = self.codes.pop(form.get("code", ""), None)  # a code is used once
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return JSONResponse({"error": "invalid_client"}, 401)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                form.get("grant_type") != "authorization_code"
                or code is None
                or code.redirect_uri != form.get("redirect_uri")
                or code.challenge != challenge
            ):
                return JSONResponse({"error": "invalid_grant"}, 400)
            return {
                "token_type": "Bearer",
                "access_token": self.mint(code.person),
                "expires_in": self.access_token_ttl_s,
                "id_token": self.id_token(code),
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

        return app
