"""The 监督平台's receipts of our plans, read and relayed to the planner's filing rpc.

The platform acknowledges each plan the relay sent it (its ack id and date). The inbound
mapping of the platform (`direction: inbound`, record `plan_receipt`, in the publisher's
mapping folder) says where the receipts come from and how they are written:

- `transport: {kind: file-drop, folder: …}` — the platform pushes receipt files into a folder
  we watch (looked at every `SPOTCHECK_PUBLISHER_RECEIPTS_POLL_S`; a file is read once it has
  not changed for `SPOTCHECK_PUBLISHER_RECEIPTS_SETTLE_S`, and never while its name starts with
  a dot). A file whose receipts were
  all handled moves to `done/`; a bad file moves to `refused/` beside a `<name>.why` naming file,
  line, field and reason, and nothing is taken from it; a file whose receipts the planner
  refused (an unknown plan…) moves to `refused/` with the refused lines in its `.why` (the
  others were recorded). Put a file back in the folder to read it again: a receipt already
  applied changes nothing, a refused one is tried again. Files never disappear.
- `transport: {kind: http-json, url|url_env: …}` (bearer token as the outbound mappings) — we
  GET the URL at the same interval; a refused answer is logged once per distinct body.

Each receipt goes to `spotcheck.v1.planner.rpc.filing` (the plan's filing flag takes the
platform's date). The planner away (no answer, or `unavailable`) leaves the file where it is
and the poll is tried again with backoff: never lost. Each receipt recorded gets its own audit
entry (`platform.receipt`, or `platform.receipt_refused` with the planner's reason) in the
transaction that records it; one poll at a time across the publisher's copies (an advisory
lock).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from contracts import subjects
from contracts.planner import PlanFiling, PlanFilingRequest
from services.kit.audit import AuditTrail
from services.kit.backoff import Backoff
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.errors import DomainError, Invalid, TemporaryError
from services.kit.mapping import LoadedMapping
from services.publisher.domain.receipts import Receipt, ReceiptsInvalid, read_receipts
from services.publisher.store import receipts as store

log = logging.getLogger("spotcheck.publisher.receipts")
ACTOR = "publisher-receipts"
MAX_FILE_BYTES = 10 * 1024 * 1024


class PlannerAway(Exception):
    """The planner did not answer: the receipts stay where they are, tried again later."""


@dataclass(frozen=True)
class ReceiptSource:
    """Where one platform's receipts come from: a watched folder, or a URL polled."""

    mapping: LoadedMapping
    folder: Path | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def platform(self) -> str:
        """The platform's id (the receipts' `platform`)."""
        return self.mapping.mapping.platform

    @property
    def fmt(self) -> Literal["csv", "json"]:
        """How its files or answers are written."""
        t = self.mapping.mapping.transport
        return "csv" if t is not None and t.file_format == "csv" else "json"


def receipt_sources(
    loaded: Mapping[str, LoadedMapping], root: Path, env: Mapping[str, str] | None = None
) -> list[ReceiptSource]:
    """The sources of the checked inbound receipt mappings (`Invalid` naming a variable or
    token file a mapping names that is missing: refused at the start, not at the first poll)."""
    environ = os.environ if env is None else env
    out = []
    for pid, m in sorted(loaded.items()):
        t, a = m.mapping.transport, m.mapping.auth
        if t is None:
            raise Invalid(f"{m.file}: platform {pid} receipts need a transport (folder or url)")
        if t.kind == "file-drop":
            out.append(ReceiptSource(m, folder=root / (t.folder or "")))
            continue
        url = t.url or environ.get(t.url_env or "", "").strip()
        if not url:
            raise Invalid(f"{m.file}: {t.url_env} is not set (platform {pid})")
        headers = {}
        if a.kind == "bearer":
            if a.token_env is not None:
                token = environ.get(a.token_env, "").strip()
                if not token:
                    raise Invalid(f"{m.file}: {a.token_env} is not set (platform {pid})")
            else:
                try:
                    token = (root / (a.token_file or "")).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise Invalid(f"{m.file}: cannot read the token file: {exc}") from exc
            headers[a.header] = f"{a.scheme} {token}" if a.scheme else token
        out.append(ReceiptSource(m, url=url, headers=headers))
    return out


@dataclass
class ReceiptInbox:
    """Reads every source's receipts and relays them to the planner, one poll at a time."""

    db: Database
    bus: Bus
    audit: AuditTrail
    sources: list[ReceiptSource]
    poll_s: float = 60.0
    settle_s: float = 2.0
    """A pushed file is read once it has not changed for this long (a platform that writes in
    place, not beside and renamed, is never read half written)."""
    rpc_timeout_s: float = 10.0
    http_timeout_s: float = 10.0
    backoff: Backoff = field(default_factory=lambda: Backoff(2.0, 300.0))
    polls: int = 0
    """Polls finished since the start (for tests and metrics)."""
    refused_body: str = ""
    """The SHA-256 of the last answer refused (logged once)."""

    async def poll_once(self) -> bool:
        """Read every source once; False when another copy is polling. `PlannerAway` when the
        planner did not answer (what was not relayed stays for the next poll)."""
        async with self.db.pool.acquire() as conn:
            if not await store.try_lock_receipts(conn):
                return False
            try:
                for source in self.sources:
                    if source.folder is not None:
                        await self._folder(source, source.folder)
                    else:
                        await self._url(source)
            finally:
                await store.unlock_receipts(conn)
        return True

    async def run(self) -> None:
        """Poll every `poll_s` until cancelled; after a failure, sooner, by the backoff."""
        failures = 0
        while True:
            try:
                await self.poll_once()
                failures = 0
                wait = self.poll_s
            except (PlannerAway, httpx.HTTPError, OSError, DomainError) as exc:
                failures += 1
                wait = min(self.backoff.delay(failures), self.poll_s)
                log.warning("receipts: %s; trying again in %.0f s", exc, wait)
            except Exception:  # never let the watcher die: log, and look again later
                failures += 1
                wait = min(self.backoff.delay(failures), self.poll_s)
                log.exception("receipts poll failed")
            self.polls += 1
            await asyncio.sleep(wait)

    # ---- a watched folder ---------------------------------------------------------------

    async def _folder(self, source: ReceiptSource, folder: Path) -> None:
        names = await asyncio.to_thread(_waiting_files, folder, self.settle_s)
        for name in names:
            path = folder / name
            if (await asyncio.to_thread(path.stat)).st_size > MAX_FILE_BYTES:
                await self._refuse(folder, name, f"{name}:1: file: larger than {MAX_FILE_BYTES}\n")
                continue
            data = await asyncio.to_thread(path.read_bytes)
            try:
                receipts = read_receipts(source.mapping.mapping, data, file=name, fmt=source.fmt)
            except ReceiptsInvalid as exc:
                log.error(
                    "receipt file %s refused: %s",
                    path,
                    "; ".join(str(e) for e in exc.errors[:5]),
                    extra={"fields": {"file": str(path), "errors": len(exc.errors)}},
                )
                await self._refuse(folder, name, exc.why())
                continue
            refused = await self._relay(source, receipts, source_name=str(path))
            if refused:
                why = "".join(f"{name}:{line}: {reason}\n" for line, reason in refused)
                await self._refuse(folder, name, why)
            else:
                await asyncio.to_thread(_move, folder, name, "done")

    async def _refuse(self, folder: Path, name: str, why: str) -> None:
        await asyncio.to_thread(_move, folder, name, "refused", why)

    # ---- a polled URL -------------------------------------------------------------------

    async def _url(self, source: ReceiptSource) -> None:
        assert source.url is not None
        async with httpx.AsyncClient(timeout=self.http_timeout_s) as http:
            response = await http.get(source.url, headers=dict(source.headers))
        response.raise_for_status()
        data = response.content
        name = source.url.rsplit("/", 1)[-1] or source.url
        try:
            receipts = read_receipts(source.mapping.mapping, data, file=name, fmt=source.fmt)
        except ReceiptsInvalid as exc:
            sha = hashlib.sha256(data).hexdigest()
            if sha != self.refused_body:  # the same bad answer is reported once
                self.refused_body = sha
                log.error("receipts from %s refused: %s", source.url, exc.why())
            return
        for line, reason in await self._relay(source, receipts, source_name=source.url):
            log.error("receipt %s:%s refused by the planner: %s", source.url, line, reason)

    # ---- each receipt -------------------------------------------------------------------

    async def _relay(
        self, source: ReceiptSource, receipts: list[Receipt], *, source_name: str
    ) -> list[tuple[int, str]]:
        """Relay each receipt not yet applied; the lines the planner refused, with why."""
        refused: list[tuple[int, str]] = []
        for r in receipts:
            async with self.db.pool.acquire() as conn:
                known = await store.get_receipt(conn, source.platform, r.ack_id)
            if known is not None and known.state == "applied":
                same = (known.plan_id, known.kind, known.acknowledged_on) == (
                    r.plan_id,
                    r.kind,
                    r.acknowledged_on,
                )
                if not same:
                    refused.append((r.line, f"ack {r.ack_id} was applied with other content"))
                continue  # applied before: nothing changes, nothing recorded
            request = PlanFilingRequest(
                plan_id=r.plan_id,
                platform=source.platform,
                ack_id=r.ack_id,
                acknowledged_on=r.acknowledged_on,
                kind=r.kind,
                recorded_by=ACTOR,
            )
            filing: PlanFiling | None = None
            reason: str | None = None
            try:
                filing = await self.bus.request(
                    subjects.rpc("planner", "filing"),
                    request,
                    PlanFiling,
                    timeout=self.rpc_timeout_s,
                )
            except TemporaryError as exc:  # nobody answered, or the planner's database away
                raise PlannerAway(f"the planner did not take receipt {r.ack_id}: {exc}") from exc
            except DomainError as exc:  # the planner refused it: not a retry's matter
                reason = f"{exc.code}: {exc}"
                refused.append((r.line, reason))
            await self._record(source, r, source_name, filing, reason)
        return refused

    async def _record(
        self,
        source: ReceiptSource,
        r: Receipt,
        source_name: str,
        filing: PlanFiling | None,
        reason: str | None,
    ) -> None:
        state = "applied" if filing is not None else "refused"
        async with self.db.transaction() as conn:
            await store.save_receipt(
                conn,
                platform=source.platform,
                ack_id=r.ack_id,
                plan_id=r.plan_id,
                kind=r.kind,
                acknowledged_on=r.acknowledged_on,
                source=source_name,
                line=r.line,
                state=state,
                reason=reason,
                flags=filing.flags if filing is not None else [],
            )
            await self.audit.append(
                conn,
                actor=ACTOR,
                action="platform.receipt" if filing is not None else "platform.receipt_refused",
                subject=r.plan_id,
                data={
                    "platform": source.platform,
                    "ack_id": r.ack_id,
                    "kind": r.kind,
                    "acknowledged_on": r.acknowledged_on.isoformat(),
                    "source": source_name,
                    "line": r.line,
                    **(
                        {"flags": filing.flags, "repeated": filing.repeated}
                        if filing is not None
                        else {"reason": reason}
                    ),
                },
            )


def _waiting_files(folder: Path, settle_s: float) -> list[str]:
    """The files waiting in the folder, by name: not hidden (a platform writing `.x.part`),
    not the `done/` and `refused/` folders, not changed within the last `settle_s`."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and now - p.stat().st_mtime >= settle_s
    )


def _move(folder: Path, name: str, to: str, why: str | None = None) -> None:
    """Move a read file aside (never delete it); a name taken there gets a numbered one."""
    target = folder / to
    target.mkdir(exist_ok=True)
    dest = target / name
    n = 1
    while dest.exists():
        dest = target / f"{name}.{n}"
        n += 1
    if why is not None:
        (target / f"{dest.name}.why").write_text(why, encoding="utf-8")
    os.replace(folder / name, dest)
