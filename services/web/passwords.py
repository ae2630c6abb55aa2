"""Password hashes: argon2id (RFC 9106), off the event loop (a hash takes tens of ms)."""

from __future__ import annotations

import asyncio
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords; one hasher with the library's argon2id defaults."""

    def __init__(self) -> None:
        self.hasher = PasswordHasher()
        # Verified against when the account does not exist, so a wrong user name takes as
        # long as a wrong password and does not tell which names exist.
        self._decoy = self.hasher.hash(secrets.token_hex(16))

    async def hash(self, password: str) -> str:
        """An argon2id hash of `password`."""
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches; False for a missing hash, after the same work."""
        target = stored_hash or self._decoy

        def _check() -> bool:
            try:
                return bool(self.hasher.verify(target, password))
            except (VerificationError, InvalidHashError):
                return False

        ok = await asyncio.to_thread(_check)
        return ok and stored_hash is not None


def generate_password(length: int = 14) -> str:
    """A random password of letters and digits in every kind (for resets and new accounts)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate
