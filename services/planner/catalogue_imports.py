"""The catalogue's way in from 互联网+监管 (issue 19): a catalogue export (a pushed file, or the
configured URL polled) becomes a rule candidate — the active rule files with the item files
edited to match the export, kept as any candidate is, so policy staff check, test, simulate and
activate it as they do every rule change. Nothing becomes active here. A refused export records
nothing. (The 监督平台's acknowledgement of a plan's filing: filings.py.)
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import NotFound
from services.planner.active import ActiveRules
from services.planner.catalogue_store import CatalogueStore
from services.planner.domain.catalogue_diff import diff_catalogue
from services.planner.domain.export import Format, detect_format, read_export
from services.planner.domain.export_mapping import DEFAULT_MAPPING, ExportMapping
from services.planner.domain.ruleset import candidate_id_of
from services.planner.filings import china_today
from services.planner.store import PlannerStore

log = logging.getLogger("spotcheck.planner.catalogue")
UPLOAD = "upload"
"""The `source` of a pushed file (CLI, HTTP, console); a polled export's is its URL."""


class CatalogueImports:
    """Catalogue exports in, as proposed rule changes."""

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditTrail,
        store: PlannerStore,
        catalogue: CatalogueStore,
        rules: ActiveRules,
        mapping: ExportMapping = DEFAULT_MAPPING,
    ) -> None:
        self.db = db
        self.audit = audit
        self.store = store
        self.catalogue = catalogue
        self.rules = rules
        self.mapping = mapping

    async def import_export(
        self,
        data: bytes,
        *,
        name: str,
        source: str,
        actor: str,
        fmt: Format | None = None,
    ) -> dict[str, Any]:
        """Read, diff and record an export; the import record (with `repeated` true when the
        same export was already imported from `source` against the same active rules: nothing
        new is recorded then). `ExportInvalid` with every bad row: nothing recorded."""
        ruleset, _ = await self.rules.current()
        active = await self.store.version_files(ruleset.version) or {}
        departments = {d.code: d.name for d in ruleset.meta.departments}
        fmt = fmt or detect_format(name, data)
        items, encoding = read_export(
            data, name=name, departments=departments, mapping=self.mapping, fmt=fmt
        )
        sha = hashlib.sha256(data).hexdigest()
        diff = diff_catalogue(active, items, source=name, today=china_today())
        files = {**active, **diff.files}
        candidate_id = None if diff.empty else candidate_id_of(_bytes(files))
        summary = diff.as_dict()
        async with self.db.transaction() as conn:
            await self.catalogue.lock_imports(conn)
            last = await self.catalogue.last_import(conn, source)
            if last is not None and last["sha256"] == sha and last["based_on"] == ruleset.version:
                return {**_public(last), "repeated": True}
            if candidate_id is not None:
                await self.store.save_candidate(
                    conn,
                    candidate_id=candidate_id,
                    files=files,
                    based_on=ruleset.version,
                    note=_note(name, summary)[:200],
                    actor=actor,
                )
            import_id = await self.catalogue.add_import(
                conn,
                source=source,
                file_name=name,
                sha256=sha,
                fmt=fmt,
                encoding=encoding,
                rows=len(items),
                based_on=ruleset.version,
                candidate_id=candidate_id,
                diff=summary,
                actor=actor,
            )
            await self.audit.append(
                conn,
                actor=actor,
                action="rules.catalogue_import",
                subject=str(import_id),
                data={
                    "source": source,
                    "file": name,
                    "sha256": sha,
                    "rows": len(items),
                    "added": len(diff.added),
                    "changed": len(diff.changed),
                    "withdrawn": len(diff.withdrawn),
                    "candidate_id": candidate_id,
                },
            )
        log.info(
            "catalogue import %s from %s: %d added, %d changed, %d withdrawn",
            import_id,
            source,
            len(diff.added),
            len(diff.changed),
            len(diff.withdrawn),
        )
        found = await self.catalogue.get_import(import_id)
        assert found is not None
        return {**_public(found), "repeated": False}

    async def show(self, import_id: int) -> dict[str, Any]:
        """One import with its diff."""
        found = await self.catalogue.get_import(import_id)
        if found is None:
            raise NotFound(f"no catalogue import {import_id}")
        return _public(found)

    async def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """Imports newest first."""
        return await self.catalogue.list_imports(min(max(limit, 1), 500))


def _public(row: dict[str, Any]) -> dict[str, Any]:
    diff = row["diff"]
    return {
        "import_id": row["import_id"],
        "source": row["source"],
        "file_name": row["file_name"],
        "sha256": row["sha256"],
        "format": row["format"],
        "encoding": row["encoding"],
        "rows": row["rows"],
        "based_on": row["based_on"],
        "candidate_id": row["candidate_id"],
        "imported_by": row["imported_by"],
        "created_at": row["created_at"],
        "diff": diff,
    }


def _note(name: str, summary: dict[str, Any]) -> str:
    return (
        f"互联网+监管事项清单导入 {name}：新增 {len(summary['added'])}、"
        f"变更 {len(summary['changed'])}、撤销 {len(summary['withdrawn'])}"
    )


def _bytes(files: dict[str, str]) -> dict[str, bytes]:
    return {p: t.encode("utf-8") for p, t in files.items()}
