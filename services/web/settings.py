"""The web service's own settings (`SPOTCHECK_WEB_*`), beside the kit's shared ones.

The defaults follow 等保 2.0 level 3 for sign-in: passwords of at least 10 characters from
three kinds, five failures lock the account for 15 minutes, a session ends after 30 idle
minutes and at the latest after 12 hours.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Knobs of sign-in, sessions and the calls to the other services."""

    model_config = SettingsConfigDict(env_prefix="SPOTCHECK_WEB_", extra="ignore")

    # Where the four services answer; empty means http://<http_host>:<their port>.
    registry_url: str = ""
    planner_url: str = ""
    draw_url: str = ""
    publisher_url: str = ""
    # The address people use (the 检查码 QR code points there); empty means this host and port.
    public_base_url: str = ""
    backend_timeout_s: float = Field(default=15.0, gt=0)
    # Tokens the web service mints for the signed-in person's calls: short-lived.
    backend_token_ttl_s: int = Field(default=300, ge=30, le=3600)

    lockout_failures: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # How long a sign-in waits for another sign-in of the same account before `sign_in_busy`.
    sign_in_wait_s: float = Field(default=5.0, gt=0, le=60)
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    password_min_length: int = Field(default=10, ge=8)
    # `auto`: the Secure flag when the request came over HTTPS (behind a TLS proxy that says so);
    # `always` in production behind TLS; `never` only for a plain-HTTP test bed.
    cookie_secure: Literal["auto", "always", "never"] = "auto"

    # A province's SSO (OIDC, authorization code with PKCE) instead of local passwords.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # The claim naming the local account a signed-in person maps to.
    oidc_username_claim: str = "preferred_username"

    @property
    def oidc_enabled(self) -> bool:
        """Whether sign-in goes through the province's SSO."""
        return bool(self.oidc_issuer and self.oidc_client_id)


def load_web_settings(**overrides: object) -> WebSettings:
    """Read from the environment, explicit overrides winning."""
    return WebSettings(**overrides)  # type: ignore[arg-type]
