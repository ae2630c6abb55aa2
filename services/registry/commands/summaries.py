"""The 两库 summaries for the 监督平台: the directory's and the roster's counts, at most daily.

The notice asks the provincial 监督平台 to hold the two directories' figures (the entity
directory by region, type, industry and risk class; the inspector roster by department and
qualification). The registry owns the data, so it counts them (in SQL, where the rows are) and
announces them as `spotcheck.v1.registry.directory.summary` through its outbox; the publisher,
which owns the exchange with the platforms, turns the event into a platform delivery mapped by
the 监督平台's mapping file (docs/architecture.md, "Delivery rules").

When: after each import commit, and on a daily look (`SPOTCHECK_REGISTRY_SUMMARY_CHECK_S`) for
changes that came another way (risk classes from the credit system). A summary is sent only when
its counts differ from the last one sent, and at most once per China day: a change after the
day's summary goes out with the next day's look. Copies decide one at a time (a lock).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts import subjects
from contracts.registry import DirectoryCount, DirectorySummary
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.outbox import Outbox
from services.registry.store import summaries as store

log = logging.getLogger("spotcheck.registry.summaries")
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass
class DirectorySummaries:
    """Decides whether the day's summary is due and queues it with its record."""

    db: Database
    audit: AuditTrail
    outbox: Outbox
    check_s: float = 3600.0

    async def maybe_publish(
        self, *, now: datetime | None = None, periodic: bool = False
    ) -> DirectorySummary | None:
        """Queue today's summary when none was sent today and the counts changed since the
        last one sent; the summary queued, or None. `periodic` (the timer's look) counts at
        most once a day: a look that found nothing changed is recorded, and only an import
        commit counts again that day."""
        at = now or datetime.now(CHINA)
        day = at.astimezone(CHINA).date()
        async with self.db.transaction() as conn:
            await store.lock_summaries(conn)
            looked = await store.day_looked(conn, day)
            if looked or (periodic and looked is not None):
                return None  # sent today already (at most one a day), or looked at today
            entities, inspectors, counts = await store.count_directories(conn, day)
            digest = _digest(entities, inspectors, counts)
            previous = await store.last_sent(conn)
            if digest == previous or (previous is None and entities == inspectors == 0):
                # Nothing changed since the last one sent (an empty registry: nothing yet).
                await store.save_look(conn, day, digest)
                return None
            summary = DirectorySummary(
                day=day,
                computed_at=at,
                entities=entities,
                inspectors=inspectors,
                counts=counts,
                sha256=digest,
            )
            await store.save_summary(conn, summary)
            await self.outbox.add(
                conn,
                subjects.event("registry", "directory.summary"),
                summary,
                event_id=event_id("directory.summary", day.isoformat()),
            )
            await self.audit.append(
                conn,
                actor="registry",
                action="registry.directory_summary",
                subject=day.isoformat(),
                data={"entities": entities, "inspectors": inspectors, "sha256": digest},
            )
        log.info("two directories' summary of %s queued (%d counts)", day, len(counts))
        return summary

    async def run(self) -> None:
        """Look every `check_s` seconds until cancelled (a failed look is tried next time)."""
        while True:
            try:
                await self.maybe_publish(periodic=True)
            except Exception:  # the next look tries again; the import path does too
                log.exception("two directories' summary failed")
            await asyncio.sleep(self.check_s)


def _digest(entities: int, inspectors: int, counts: list[DirectoryCount]) -> str:
    doc = {
        "entities": entities,
        "inspectors": inspectors,
        "counts": [c.model_dump(mode="json") for c in counts],
    }
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
