"""Settings from the environment (prefix `SPOTCHECK_`), the same for embedded and cluster."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {
    "registry": 8101,
    "planner": 8102,
    "draw": 8103,
    "publisher": 8104,
    "web": 8100,
}


class SettingsError(RuntimeError):
    """The settings contradict each other or name a file that cannot be read; says which."""


class Settings(BaseSettings):
    """Every knob of a spotcheck service. Built by `load_settings()`, never at import time."""

    model_config = SettingsConfigDict(env_prefix="SPOTCHECK_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # This process's NATS user (deploy/nats/accounts.conf: one per service, the CLI, the
    # relay) and its password, given directly or in a file (mode 0600). Without a user, the
    # URL's own `nats://user:password@host` (or none) is used.
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_password_file: Path | None = None
    # A folder of `<user>.password` files: `spotcheck up` gives each part its own user from it
    # (the embedded default generates `var/secrets/nats`; set it to use an external NATS with
    # accounts), and the command line uses `cli.password` from it.
    nats_credentials_dir: Path | None = None
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # A province joining the national stream (docs/operations.md "National stream"): its
    # JetStream domain (its code, e.g. gd) and the national server's leaf URL with its user,
    # nats-leaf://gd:<password>@national:7422 (nats-server reads it from the environment).
    province_domain: str | None = None
    national_leaf_url: SecretStr | None = None
    var_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    registry_port: int = DEFAULT_PORTS["registry"]
    planner_port: int = DEFAULT_PORTS["planner"]
    draw_port: int = DEFAULT_PORTS["draw"]
    publisher_port: int = DEFAULT_PORTS["publisher"]
    web_port: int = DEFAULT_PORTS["web"]
    # Tokens: an HS256 key file (embedded default, created by `spotcheck up`) or an OIDC JWKS URL.
    jwt_key_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "spotcheck"
    jwt_audience: str = "spotcheck"
    log_level: str = "INFO"
    log_json: bool = True
    rpc_timeout_s: float = 10.0
    db_pool_max: int = Field(default=10, ge=1)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Replicas of the JetStream streams: 1 on the embedded server, 3 on a cluster.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # JetStream drops a repeated Nats-Msg-Id within this window; a day covers replays of
    # dead letters and restarts after long outages.
    stream_duplicate_window_s: float = Field(default=86400.0, gt=0)
    rules_dir: Path = Path("rules")
    # Accept draw seeds labelled `demo` (from a computer's random source). `spotcheck up` turns
    # it on for the embedded default; a production deployment leaves it off.
    allow_demo_seed: bool = False
    # Where the disclosure system's HTTP endpoint is; empty means the built-in public pages only.
    disclosure_url: str = ""

    def port_of(self, service: str) -> int:
        """The HTTP port a service listens on."""
        port: int = getattr(self, f"{service}_port")
        return port

    def nats_credentials(self) -> tuple[str, str] | None:
        """(user, password) for NATS, or None when the URL carries them (or there are none).

        `nats_password` wins over `nats_password_file`; a user without either is an error.
        """
        if not self.nats_user:
            return None
        if self.nats_password is not None:
            return self.nats_user, self.nats_password.get_secret_value()
        if self.nats_password_file is not None:
            try:
                return self.nats_user, self.nats_password_file.read_text("utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"cannot read SPOTCHECK_NATS_PASSWORD_FILE {self.nats_password_file}: "
                    f"{exc.strerror}"
                ) from None
        raise SettingsError(
            f"SPOTCHECK_NATS_USER is {self.nats_user!r} but neither SPOTCHECK_NATS_PASSWORD "
            "nor SPOTCHECK_NATS_PASSWORD_FILE is set"
        )

    def key_file(self) -> Path:
        """Where the HS256 signing key of the embedded default lives."""
        return self.jwt_key_file or (self.var_dir / "jwt.key")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
