"""A session's secrets: what the sessions table keeps of a cookie (its SHA-256), and the
person's SSO access token sealed with the cookie, so the table alone opens neither."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def token_digest(token: str) -> str:
    """What the sessions table stores of a cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def _sealing_key(token: str) -> bytes:
    # Keyed by the cookie itself: the table holds only the cookie's SHA-256, which gives no key.
    return hmac.new(token.encode(), b"spotcheck-web session access token", "sha256").digest()


def seal(secret: str, *, token: str) -> bytes:
    """`secret` encrypted (AES-256-GCM) for the session whose cookie is `token`."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_sealing_key(token)).encrypt(nonce, secret.encode(), None)


def unseal(sealed: bytes, *, token: str) -> str | None:
    """What `seal` sealed for this cookie; None when it was sealed for another or altered."""
    try:
        plain = AESGCM(_sealing_key(token)).decrypt(sealed[:12], sealed[12:], None)
    except (InvalidTag, ValueError):
        return None
    return plain.decode()
