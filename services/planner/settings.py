"""The planner's own settings (`SPOTCHECK_PLANNER_*`), beside the kit's shared ones.

Only the catalogue import has knobs: where 互联网+监管 publishes its item-catalogue export, how
often to look, and which mapping file names its columns. Without a URL nothing is polled
(exports are then pushed: `spotcheck rules import-catalogue FILE` or the console's 事项清单导入
page).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlannerSettings(BaseSettings):
    """Knobs of the planner's exchange with 互联网+监管."""

    model_config = SettingsConfigDict(env_prefix="SPOTCHECK_PLANNER_", extra="ignore")

    # The export's address (HTTP GET answers the CSV or JSON file); empty: no polling.
    catalogue_url: str = ""
    # Seconds between polls; an export that did not change records nothing new.
    catalogue_poll_s: float = Field(default=3600.0, gt=0)
    # `auto`: JSON when the answer says so or starts with `[`/`{`, else CSV.
    catalogue_format: Literal["auto", "csv", "json"] = "auto"
    # A bearer token the export's server asks for, if any.
    catalogue_token: SecretStr | None = None
    catalogue_timeout_s: float = Field(default=60.0, gt=0)
    # The folder of platform mapping files (the publisher's SPOTCHECK_PUBLISHER_PLATFORMS_DIR
    # may be the same folder): the export's columns and words come from the inbound mapping
    # `catalogue_platform` there, checked at start. Empty: the default of
    # services/planner/domain/export_mapping.py (the same as deploy/platforms/hlwjg.yaml).
    platforms_dir: str = ""
    catalogue_platform: str = "hlwjg"


def load_planner_settings(**overrides: object) -> PlannerSettings:
    """Read from the environment, explicit overrides winning."""
    return PlannerSettings(**overrides)  # type: ignore[arg-type]
