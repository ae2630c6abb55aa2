"""The freeze stream: `code\\tUSCC` lines out of PostgreSQL, turned into stored candidate lists.

The lines arrive ordered by stratum and USCC. Each delivery from `COPY … TO STDOUT` is cut into
runs of one stratum with bytes operations (`domain.freeze.split_strata`); a run is hashed and
kept. When its stratum ends the list is cut into 1 MB blocks for `snapshot_blocks` (deflated and
written in batches by one background `COPY` at a time) and uploaded to the object store (a few
uploads at a time). A list larger than `SPOOL_BYTES` goes to a spool file as it arrives, so
memory holds at most one large list's tail, the batches in flight and the lists being uploaded.
"""

from __future__ import annotations

import asyncio
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO

from services.registry.domain.freeze import CandidateHasher, object_name, split_strata
from services.registry.store import snapshots

BLOCK_BYTES = 1 << 20
BATCH_BYTES = 8 << 20
SPOOL_BYTES = 16 << 20
UPLOADS_IN_FLIGHT = 32
BATCHES_IN_FLIGHT = 3
# An upload gets the object's name and its content (bytes, or a spool file for a large list).
Uploader = Callable[[str, bytes | Path], Awaitable[None]]


def cut_blocks(data: bytes, limit: int = BLOCK_BYTES) -> list[bytes]:
    """`data` ("USCC\\n" lines) in pieces of at most `limit` bytes, each ending with a line."""
    out = []
    start = 0
    while len(data) - start > limit:
        end = data.rindex(b"\n", start, start + limit) + 1
        out.append(data[start:end])
        start = end
    if start < len(data):
        out.append(data[start:])
    return out


def _deflate(batch: list[tuple[str, str, int, bytes]]) -> list[tuple[str, str, int, bytes, bool]]:
    return [(a, b, c, zlib.compress(data, 1), True) for a, b, c, data in batch]


class StreamWriter:
    """Receives the freeze stream (`feed`) and stores every stratum's list (`close`)."""

    def __init__(
        self, *, wconn: Any, snapshot_id: str, strata: dict[bytes, str], upload: Uploader
    ) -> None:
        self.wconn = wconn
        self.snapshot_id = snapshot_id
        self.strata = strata  # stratum code → stratum id
        self.upload = upload
        self.done: dict[str, tuple[int, str]] = {}
        self.pending = b""
        self.code: bytes | None = None
        self.hasher = CandidateHasher()
        self.parts: list[bytes] = []
        self.size = 0
        self.block_no = 0
        self.spool: BinaryIO | None = None
        self.spool_dir: tempfile.TemporaryDirectory[str] | None = None
        self.batch: list[tuple[str, str, int, bytes]] = []
        self.batch_bytes = 0
        self.batches: asyncio.Queue[list[tuple[str, str, int, bytes]] | None] = asyncio.Queue(
            BATCHES_IN_FLIGHT
        )
        self.copier = asyncio.create_task(self._copy_batches())
        self.uploads: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(UPLOADS_IN_FLIGHT)

    async def feed(self, data: bytes) -> None:
        """One delivery of `COPY … TO STDOUT` (any number of bytes)."""
        buf = self.pending + data if self.pending else bytes(data)
        cut = buf.rfind(b"\n") + 1
        self.pending = buf[cut:]
        for code, run, lines in split_strata(buf[:cut]):
            if code != self.code:
                await self._finish()
                if code not in self.strata:
                    raise RuntimeError(f"freeze stream: unknown stratum code {code!r}")
                self.code = code
            self.hasher.add_block(run, lines=lines)
            self.parts.append(run)
            self.size += len(run)
            if self.size >= SPOOL_BYTES:
                await self._spill()

    async def _spill(self) -> None:
        """Move the full blocks of a large list to PostgreSQL and its spool file."""
        data = b"".join(self.parts)
        blocks = cut_blocks(data)
        keep = blocks.pop() if len(blocks[-1]) < BLOCK_BYTES else b""
        if self.spool is None:
            if self.spool_dir is None:
                self.spool_dir = tempfile.TemporaryDirectory(prefix="freeze-")
            name = (self.code or b"list").decode()
            self.spool = (Path(self.spool_dir.name) / f"{name}.txt").open("w+b")
        for b in blocks:
            self.spool.write(b)
            await self._block(b)
        self.parts = [keep] if keep else []
        self.size = len(keep)

    async def _block(self, data: bytes) -> None:
        assert self.code is not None
        self.batch.append((self.snapshot_id, self.strata[self.code], self.block_no, data))
        self.block_no += 1
        self.batch_bytes += len(data)
        if self.batch_bytes >= BATCH_BYTES:
            await self._send_batch()

    async def _send_batch(self) -> None:
        if self.batch:
            await self._put(self.batch)
            self.batch, self.batch_bytes = [], 0

    async def _put(self, batch: list[tuple[str, str, int, bytes]] | None) -> None:
        # A failed copier must not leave us waiting for room in its queue forever.
        put = asyncio.ensure_future(self.batches.put(batch))
        await asyncio.wait({put, self.copier}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            self.copier.result()

    async def _copy_batches(self) -> None:
        while (batch := await self.batches.get()) is not None:
            # Deflated in a thread (zlib lets go of the GIL) while the stream goes on: the
            # database then writes a third of the bytes.
            records = await asyncio.to_thread(_deflate, batch)
            await snapshots.copy_blocks(self.wconn, records)

    async def _finish(self) -> None:
        """Close the current stratum: its last blocks, commitment and upload."""
        if self.code is None:
            return
        stratum_id = self.strata[self.code]
        data = b"".join(self.parts)
        for b in cut_blocks(data):
            await self._block(b)
        content: bytes | Path = data
        if self.spool is not None:
            self.spool.write(data)
            self.spool.close()
            content = Path(self.spool.name)
            self.spool = None
        self.done[stratum_id] = (self.hasher.n, self.hasher.hexdigest())
        await self._upload(object_name(self.snapshot_id, stratum_id), content)
        self.code = None
        self.hasher = CandidateHasher()
        self.parts, self.size, self.block_no = [], 0, 0

    async def _upload(self, name: str, content: bytes | Path) -> None:
        await self.slots.acquire()
        for t in [t for t in self.uploads if t.done()]:
            self.uploads.discard(t)
            t.result()

        async def run() -> None:
            try:
                await self.upload(name, content)
            finally:
                self.slots.release()

        self.uploads.add(asyncio.create_task(run()))

    async def upload_empty(self, stratum_id: str) -> None:
        """Store the empty list of a stratum that matched nothing."""
        self.done[stratum_id] = (0, CandidateHasher().hexdigest())
        await self._upload(object_name(self.snapshot_id, stratum_id), b"")

    async def end(self) -> None:
        """The stream ended: finish its last stratum."""
        if self.pending:
            raise RuntimeError("freeze stream ended inside a line")
        await self._finish()

    async def close(self) -> None:
        """Wait for every write and upload."""
        await self._send_batch()
        await self._put(None)
        await self.copier
        await asyncio.gather(*self.uploads)
        self.uploads.clear()
        if self.spool_dir is not None:
            self.spool_dir.cleanup()

    async def abort(self) -> None:
        """Stop background work after a failure."""
        self.copier.cancel()
        for t in self.uploads:
            t.cancel()
        await asyncio.gather(self.copier, *self.uploads, return_exceptions=True)
        if self.spool is not None:
            self.spool.close()
        if self.spool_dir is not None:
            self.spool_dir.cleanup()
