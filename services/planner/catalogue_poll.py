"""Polling 互联网+监管's item-catalogue export (`SPOTCHECK_PLANNER_CATALOGUE_URL`), and the
mapping that names its columns (`SPOTCHECK_PLANNER_PLATFORMS_DIR`).

Each poll GETs the export and hands it to `CatalogueImports.import_export` with the URL as its
source: an export identical to the last one imported from that URL (against the same active
rules) records nothing new, a changed one becomes a new proposed rule change. A failed poll
(the fetch, or the database away) is tried again with backoff; a refused export is logged with
its first reasons once per distinct export (it changes nothing, and the same bad file is not
reported every interval).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import httpx

from services.kit.backoff import Backoff
from services.kit.errors import DomainError
from services.kit.mapping import MappingError, MappingInvalid, load_mappings, read_mapping_dir
from services.planner.catalogue_imports import CatalogueImports
from services.planner.domain.export import ExportInvalid, Format
from services.planner.domain.export_mapping import (
    DEFAULT_MAPPING,
    VOCABULARY,
    ExportMapping,
    export_mapping,
)
from services.planner.settings import PlannerSettings

log = logging.getLogger("spotcheck.planner.catalogue")
ACTOR = "planner-catalogue-poll"
MAX_EXPORT_BYTES = 20 * 1024 * 1024
EXPECTED = (httpx.HTTPError, OSError, DomainError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""Failures logged without a traceback (the platform or the database away for a while)."""


@dataclass
class CataloguePoller:
    """One poll at a time of the configured URL."""

    imports: CatalogueImports
    settings: PlannerSettings
    backoff: Backoff = field(default_factory=lambda: Backoff(5.0, 600.0))
    refused: str = ""
    """The SHA-256 of the last export refused (logged once)."""
    polls: int = 0
    """Polls finished (fetched and imported or refused, or failed) since the start."""

    async def poll_once(self) -> dict[str, Any] | None:
        """Fetch and import the export once; the import record, or None when it was refused.
        A failed fetch raises (`httpx.HTTPError`)."""
        url = self.settings.catalogue_url
        headers = {}
        if self.settings.catalogue_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.catalogue_token.get_secret_value()}"
        async with httpx.AsyncClient(timeout=self.settings.catalogue_timeout_s) as http:
            response = await http.get(url, headers=headers)
        response.raise_for_status()
        data = response.content
        if len(data) > MAX_EXPORT_BYTES:
            raise httpx.HTTPError(f"the export is larger than {MAX_EXPORT_BYTES} bytes")
        # The file's name as people read it (事项清单.csv, not %E4%BA%8B…): in errors and records.
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "export"
        fmt: Format | None = None
        if self.settings.catalogue_format != "auto":
            fmt = self.settings.catalogue_format
        elif "json" in response.headers.get("content-type", ""):
            fmt = "json"
        try:
            return await self.imports.import_export(
                data, name=name, source=url, actor=ACTOR, fmt=fmt
            )
        except ExportInvalid as exc:
            sha = hashlib.sha256(data).hexdigest()
            if sha != self.refused:
                self.refused = sha
                log.error(
                    "catalogue export %s refused: %s",
                    url,
                    "; ".join(str(e) for e in exc.errors[:5]),
                    extra={"fields": {"url": url, "errors": len(exc.errors)}},
                )
            return None

    async def run(self) -> None:
        """Poll every `catalogue_poll_s` seconds until cancelled."""
        failures = 0
        while True:
            try:
                await self.poll_once()
                failures = 0
                wait = self.settings.catalogue_poll_s
            except Exception as exc:
                # Any failure fails this poll only (PostgreSQL restarting under an import is an
                # asyncpg error): a poller that ended here would not poll again until a restart.
                failures += 1
                wait = min(self.backoff.delay(failures), self.settings.catalogue_poll_s)
                log.warning(
                    "catalogue poll of %s failed: %s",
                    self.settings.catalogue_url,
                    exc,
                    exc_info=not isinstance(exc, EXPECTED),
                )
            self.polls += 1
            await asyncio.sleep(wait)


def load_export_mapping(settings: PlannerSettings) -> ExportMapping:
    """The export mapping the settings name: the inbound mapping `catalogue_platform` of the
    folder `platforms_dir` (every file checked, `MappingInvalid` with file and line, so a bad
    folder stops the start), else the default."""
    if not settings.platforms_dir:
        return DEFAULT_MAPPING
    files = read_mapping_dir(settings.platforms_dir)
    loaded = load_mappings(files, VOCABULARY, direction="inbound")
    found = loaded.get(settings.catalogue_platform)
    if found is None:
        raise MappingInvalid(
            [
                MappingError(
                    settings.platforms_dir,
                    1,
                    f"no inbound mapping of platform {settings.catalogue_platform!r}"
                    f" (inbound: {sorted(loaded) or 'none'})",
                    f"没有平台 {settings.catalogue_platform} 的导入映射文件",
                )
            ]
        )
    log.info("catalogue export mapping %s (sha256 %s)", found.file, found.sha256[:12])
    return export_mapping(found)
