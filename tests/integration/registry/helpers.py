"""Helpers for the registry integration tests: chunked import over HTTP, waiting."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from contracts.common import Role
from services.registry.domain.rows import ENTITY_FIELDS
from spotcheck.commands.registry import chunks, file_format


async def http_import(
    svc: Any, kind: str, path: Path, *, rows_per_chunk: int = 1000, commit: bool = True
) -> dict[str, Any]:
    """What `spotcheck registry import` does, through the service's HTTP API."""
    auth = svc.auth(Role.REGISTRY_OWNER)
    r = await svc.http.post("/imports", json={"kind": kind, "source": path.name}, headers=auth)
    assert r.status_code == 201, r.text
    import_id = r.json()["import_id"]
    rejects: list[dict[str, Any]] = []
    rejected = 0
    for chunk in chunks(path, rows_per_chunk):
        r = await svc.http.post(
            f"/imports/{import_id}/chunks/{chunk.number}",
            params={"first_line": chunk.first_line, "format": file_format(path)},
            content=chunk.data,
            headers=auth,
        )
        assert r.status_code == 200, r.text
        rejects += r.json()["rejects"]
        rejected += r.json()["rejected"]
    if not commit:
        return {"import_id": import_id, "rejected": rejected, "rejects": rejects}
    r = await svc.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    body["rejects"] = rejects + body["rejects"]
    return body


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until it is true or fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


# One ordinary operating enterprise of 昌江区; tests override the fields their case is about.
ENTITY_DEFAULTS = {
    "entity_type": "企业",
    "region_code": "360202",
    "industry_code": "F5211",
    "status": "存续",
    "abnormal": "0",
    "risk_class": "B",
    "risk_class_date": "2025-03-01",
    "tags": "",
    "key_supervision": "",
    "address": "昌江大道1号",
    "established": "2015-01-01",
}


def entity_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """An entity import file (UTF-8, the registry's columns) of `rows`: each row gives at least
    `uscc` and `name`, the rest falls back to `ENTITY_DEFAULTS`."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(ENTITY_FIELDS)
        for row in rows:
            full = {**ENTITY_DEFAULTS, **row}
            w.writerow([full[field] for field in ENTITY_FIELDS])
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    """Write a small CSV in the given encoding ("utf-8", "utf-8-sig", "gb18030")."""
    text = ",".join(header) + "\r\n" + "".join(",".join(r) + "\r\n" for r in rows)
    path.write_bytes(text.encode(encoding))
    return path


def dumps(obj: Any) -> bytes:
    """JSON bytes for publishing raw test events."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")
