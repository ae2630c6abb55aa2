"""Signing in through a province's SSO (OpenID Connect): what is decided without the network.

`services/web/sso.py` fetches the provider's configuration, exchanges the code and checks the
id_token's signature, audience, issuer and expiry (PyJWT). What it then decides from plain values
is here: the PKCE challenge of a verifier (RFC 7636, S256), when a pending login has expired,
whether an id_token's claims belong to this login (nonce, authorised party), which local
account they name, and until when the person's own access token may be passed on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

# A pending login (state, nonce, PKCE verifier) lasts this long: a person who needs longer at
# the provider starts again.
PENDING_LOGIN_MINUTES = 10

# Refuse an access token that would expire within this margin: a call made with it would fail.
ACCESS_TOKEN_MARGIN_S = 30
# Longer lifetimes are read as this one (a session ends within hours anyway).
MAX_ACCESS_TOKEN_S = 7 * 24 * 3600


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a code verifier: BASE64URL(SHA-256(ASCII(verifier))),
    without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pending_expired(
    created_at: datetime, *, now: datetime, minutes: int = PENDING_LOGIN_MINUTES
) -> bool:
    """Whether a pending login started at `created_at` is too old to finish at `now`."""
    return now - created_at >= timedelta(minutes=minutes)


def claims_problem(claims: Mapping[str, object], *, nonce: str, client_id: str) -> str | None:
    """Why a verified id_token is not the answer to this login, or None.

    The signature, `aud`, `iss` and `exp` are checked when the token is decoded; here: the
    `nonce` must be the one sent with this login (a token replayed from another login has
    another), and a token for several audiences must name this client as its authorised party
    (OIDC Core 3.1.3.7).
    """
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        return "the id_token's nonce is not this login's"
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        return "the id_token has several audiences and does not name this client as azp"
    return None


def username_from_claims(claims: Mapping[str, object], claim: str) -> str | None:
    """The local user name an id_token names in `claim`; None when it names none."""
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        return None
    return value.strip()


def access_expires_at(*, now: datetime, expires_in: object) -> datetime | None:
    """When a person's access token stops being usable, from the token response's
    `expires_in` (seconds), less a margin (`now` or earlier: already unusable); None when the
    provider did not say."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
        return None
    try:
        seconds = float(expires_in)
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    seconds = min(seconds, MAX_ACCESS_TOKEN_S) - ACCESS_TOKEN_MARGIN_S
    return now + timedelta(seconds=max(0.0, seconds))
