"""The publisher's own settings (`SPOTCHECK_PUBLISHER_*`), beside the kit's shared ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.publisher.domain.delivery import RetryPolicy


class PublisherSettings(BaseSettings):
    """Knobs of result intake and delivery."""

    model_config = SettingsConfigDict(env_prefix="SPOTCHECK_PUBLISHER_", extra="ignore")

    relay_enabled: bool = True
    relay_batch: int = Field(default=500, ge=1)
    relay_lease_s: float = Field(default=60.0, gt=0)
    relay_workers: int = Field(default=2, ge=1)  # batches in progress at once
    http_window: int = Field(default=128, ge=1)  # POSTs in flight (= connections) per URL
    nats_window: int = Field(default=1000, ge=1)  # unacknowledged JetStream publishes
    http_timeout_s: float = Field(default=10.0, gt=0)
    retry_base_s: float = Field(default=2.0, gt=0)
    retry_cap_s: float = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=12, ge=1)
    max_attachment_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    deadline_poll_s: float = Field(default=60.0, gt=0)
    public_base_url: str = "http://127.0.0.1:8104"
    # The folder of platform mapping files (deploy/platforms/ holds the shipped defaults to
    # copy); empty: no outside platform is sent anything.
    platforms_dir: str = ""
    platform_window: int = Field(default=16, ge=1)  # POSTs in flight per platform URL
    # How often the 监督平台's receipts (its inbound mapping's folder or URL) are looked at.
    receipts_poll_s: float = Field(default=60.0, gt=0)
    # A pushed receipt file is read once unchanged this long (never half written).
    receipts_settle_s: float = Field(default=2.0, ge=0)

    def retry_policy(self) -> RetryPolicy:
        """The backoff policy these settings describe."""
        return RetryPolicy(
            base_seconds=self.retry_base_s,
            cap_seconds=self.retry_cap_s,
            max_attempts=self.max_attempts,
        )


def load_publisher_settings(**overrides: object) -> PublisherSettings:
    """Read from the environment, explicit overrides winning."""
    return PublisherSettings(**overrides)  # type: ignore[arg-type]
