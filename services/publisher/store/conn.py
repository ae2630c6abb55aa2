"""What every store function takes."""

from __future__ import annotations

from typing import Any

Conn = Any
"""A connection, or a pool's proxy of one (asyncpg types them apart; both work here)."""
