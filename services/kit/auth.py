"""Bearer tokens (JWT) with roles, checked by every service (DESIGN §8).

The embedded default signs HS256 tokens with a key under `./var` (made by `spotcheck up`);
at scale the issuer is an OIDC provider, given as a JWKS URL. Every route either depends on
`require(...)` or is marked `@public`; a test walks every app and checks that.

A planner's or an inspector's work is tied to one department (`DEPARTMENT_ROLES`): their token
names it in `dept`, or it is refused on every route (403 `department_missing`), whatever the
route, and `issue_token` will not sign one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from contracts.common import DEPARTMENT_ROLES, Role
from services.kit.errors import Forbidden, Unauthorized

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject, role and (for planners and inspectors) department."""

    sub: str
    role: Role
    dept: str | None = None


class TokenVerifier:
    """Checks signature, expiry, issuer and audience of a token."""

    def __init__(
        self,
        *,
        key: bytes | None = None,
        jwks_url: str | None = None,
        issuer: str = "spotcheck",
        audience: str = "spotcheck",
    ) -> None:
        if key is None and not jwks_url:
            raise ValueError("a token verifier needs a key or a JWKS URL")
        self.key = key
        self.jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; `Unauthorized` otherwise."""
        try:
            if self.jwks is not None:
                signing_key: Any = self.jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256"]
            else:
                signing_key, algorithms = self.key, ["HS256"]
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired; get a new one (spotcheck token)") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthorized(f"unknown role {claims['role']!r} in token") from exc
        dept = claims.get("dept")
        if dept is not None and not isinstance(dept, str):
            raise Unauthorized(f"invalid token: dept must be a string, not {dept!r}")
        if role in DEPARTMENT_ROLES and not dept:
            raise department_missing(role)
        return Principal(sub=str(claims["sub"]), role=role, dept=dept or None)


def department_missing(role: Role) -> Forbidden:
    """403 for a planner's or inspector's token that names no department."""
    return Forbidden(
        f"a {role.value}'s token must name the department (claim dept); this one names none "
        "(没有所属部门的令牌不能使用)",
        code="department_missing",
    )


def load_or_create_key(path: Path) -> bytes:
    """The HS256 key at `path`, created (mode 0600) on first use."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    path.touch(mode=0o600)
    path.write_bytes(key)
    return key


def issue_token(
    key: bytes,
    *,
    role: Role,
    sub: str = "cli",
    dept: str | None = None,
    ttl_s: int = 12 * 3600,
    issuer: str = "spotcheck",
    audience: str = "spotcheck",
) -> str:
    """Sign a token for the embedded default; a planner's or inspector's needs `dept`."""
    if role in DEPARTMENT_ROLES and not dept:
        raise ValueError(f"a {role.value}'s token must name a department (dept)")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "iat": now,
        "exp": now + ttl_s,
        "iss": issuer,
        "aud": audience,
    }
    if dept:
        claims["dept"] = dept
    return jwt.encode(claims, key, algorithm="HS256")


# The OpenAPI security scheme of every guarded route: `require` depends on it, so FastAPI
# declares it on exactly the routes that need a token. It checks nothing itself (the token is
# read and verified below, with our own errors).
BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A JWT with the caller's role (and department): `spotcheck token`, or the "
    "province's OIDC provider.",
    auto_error=False,
)


def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer …)")
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(token.strip())
    request.state.principal = principal
    return principal


def require(*roles: Role) -> Any:
    """A FastAPI dependency: the caller must hold one of `roles`; returns the `Principal`."""

    def _check(request: Request, _: Any = Security(BEARER)) -> Principal:
        principal = _principal(request)
        if roles and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {principal.role.value} may not do this (needs: {allowed})")
        return principal

    _check.__spotcheck_roles__ = roles  # type: ignore[attr-defined]
    return Depends(_check)


def public(func: F) -> F:
    """Mark an endpoint as public: no token needed (published notices, health, records)."""
    func.__spotcheck_public__ = True  # type: ignore[attr-defined]
    return func


def is_public(endpoint: Callable[..., Any]) -> bool:
    """Whether an endpoint was marked `@public`."""
    return bool(getattr(endpoint, "__spotcheck_public__", False))
