"""Stand-ins for the outside platforms, each a real HTTP server (or a batch job watching a
drop folder) speaking a mapping file.

A `FakePlatform` reads the mapping it is given the way the platform's interface document would
have it: the body in the mapping's charset (JSON, optionally wrapped, or a form), the bearer
token, every required field present; anything else is refused (400/401/422), so a test sees
what a real platform would refuse. It keeps the first effect of each idempotency key and
counts every call, and can lose the reply to a first call (the effect happened, the relay
does not know) or be stopped and started again on the same port (down, then back).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import socket
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from services.kit.mapping import PlatformMapping


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakePlatform:
    """One platform's receiving end for one record kind."""

    def __init__(self, mapping: PlatformMapping, *, kind: str, token: str | None) -> None:
        self.mapping = mapping
        self.kind = kind
        self.token = token
        self.required = [f.name for f in mapping.records[kind].fields if f.required]
        self.calls: Counter[str] = Counter()
        self.effects: dict[str, dict[str, str]] = {}
        self.bodies: defaultdict[str, set[bytes]] = defaultdict(set)
        self.refusals: list[str] = []
        self.lose_first_reply = False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/receive"
        self._runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        self.calls[key] += 1
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return self._refuse(401, "bad token")
        charset = "GB18030" if self.mapping.encoding == "gb18030" else "utf-8"
        if not request.headers.get("Content-Type", "").endswith(f"charset={charset}"):
            return self._refuse(400, f"not {charset}: {request.headers.get('Content-Type')}")
        raw = await request.read()
        try:
            record = self._parse(raw)
        except (UnicodeDecodeError, ValueError, KeyError) as exc:
            return self._refuse(400, f"unreadable: {exc}")
        missing = [f for f in self.required if not record.get(f)]
        if missing:
            return self._refuse(422, f"missing {missing}")
        self.bodies[key].add(raw)
        first = key not in self.effects
        self.effects.setdefault(key, record)
        if first and self.lose_first_reply:
            return web.Response(status=503, text="busy")  # the effect happened all the same
        return web.json_response({"ok": True})

    def _parse(self, raw: bytes) -> dict[str, str]:
        encoding = self.mapping.encoding
        t = self.mapping.transport
        if t is not None and t.kind == "http-form":
            # strict: a value not in the mapping's encoding fails to decode
            return dict(parse_qsl(raw.decode("ascii"), encoding=encoding, errors="strict"))
        doc: Any = json.loads(raw.decode(encoding))
        return dict(doc[t.wrap] if t is not None and t.wrap else doc)

    def _refuse(self, status: int, why: str) -> web.Response:
        self.refusals.append(why)
        return web.Response(status=status, text=why)

    async def start(self) -> None:
        """Listen on this platform's port (the same port after a stop)."""
        app = web.Application()
        app.router.add_post("/receive", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        """Stop listening: connections are refused until `start` again."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class DropWatcher:
    """A platform's batch job on a drop folder: takes each finished file away as it appears
    (files starting with `.` are still being written and are left alone), reads it as the
    mapping says (CSV in its encoding, a header and one row) and keeps it by file name."""

    def __init__(self, mapping: PlatformMapping, *, folder: Path, kind: str) -> None:
        self.mapping = mapping
        self.folder = folder / (mapping.records[kind].path or "")
        self.required = [f.name for f in mapping.records[kind].fields if f.required]
        self.taken: Counter[str] = Counter()  # file name → times taken
        self.records: dict[str, dict[str, str]] = {}
        self.refusals: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def scan(self) -> None:
        """Take every finished file now."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            raw = path.read_bytes()
            path.unlink()
            self.taken[path.name] += 1
            try:
                rows = list(csv.reader(io.StringIO(raw.decode(self.mapping.encoding))))
                header, row = rows
                record = dict(zip(header, row, strict=True))
            except (UnicodeDecodeError, ValueError) as exc:
                self.refusals.append(f"{path.name}: {exc}")
                continue
            missing = [f for f in self.required if not record.get(f)]
            if missing:
                self.refusals.append(f"{path.name}: missing {missing}")
            self.records.setdefault(path.name, record)

    async def _run(self) -> None:
        while True:
            await asyncio.to_thread(self.scan)
            await asyncio.sleep(0.02)  # the batch job's polling interval

    def start(self) -> None:
        """Watch in the background until `stop`."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop watching, then take what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.scan)
