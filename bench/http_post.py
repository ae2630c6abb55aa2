"""Benchmark: CPU per POST of the relay's disclosure client, against the alternatives.

POSTs a result-sized JSON body to the publisher benchmark's disclosure endpoint (a raw asyncio
HTTP/1.1 server in its own process) with `--in-flight` requests at once over a pool of
`--window` keep-alive connections, and prints posts/s and this process's CPU per POST for:

- `relay`: services/publisher/http_post.py (aiohttp), what the relay uses;
- `raw`: the hand-written HTTP/1.1 client the relay used before (bench/rawpost.py);
- `httpx`: an httpx.AsyncClient with the same pool size and no default headers.

    .venv/bin/python bench/http_post.py [--n 10000] [--in-flight 500] [--window 128] [CLIENT…]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.rawpost import HttpPoster as RawPoster  # noqa: E402
from services.publisher.http_post import HttpPoster  # noqa: E402
from spotcheck.embedded import free_port  # noqa: E402

BODY = b'{"result_id":"R-1","items":[' + b'{"code":"1","name":"x"},' * 20 + b"{}]}"


class HttpxPoster:
    """httpx with a pool of `connections` and only the caller's headers."""

    def __init__(self, url: str, *, connections: int, timeout_s: float) -> None:
        self.url = url
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(
            limits=limits, timeout=httpx.Timeout(timeout_s, pool=None), trust_env=False
        )
        self.client.headers.clear()

    async def post(self, body: bytes, headers: dict[str, str]) -> Any:
        return (await self.client.post(self.url, content=body, headers=headers)).status_code

    async def aclose(self) -> None:
        await self.client.aclose()


async def measure(name: str, poster: Any, n: int, in_flight: int) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    cpu0, t0 = time.process_time(), time.perf_counter()
    for start in range(0, n, in_flight):
        await asyncio.gather(
            *(
                poster.post(BODY, {**headers, "Idempotency-Key": f"{name}-{i}"})
                for i in range(start, min(n, start + in_flight))
            )
        )
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await poster.aclose()
    print(f"{name:>6}: {n / wall:8,.0f} posts/s, client CPU {cpu * 1e6 / n:6,.0f} µs per POST")


async def run(args: argparse.Namespace, port: int) -> None:
    for _ in range(100):  # wait for the endpoint
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    url = f"http://127.0.0.1:{port}/results"
    makers = {"relay": HttpPoster, "raw": RawPoster, "httpx": HttpxPoster}
    print(f"{args.n} POSTs, {args.in_flight} in flight, pool of {args.window}")
    for name in args.clients:
        poster = makers[name](url, connections=args.window, timeout_s=30)
        await measure(name, poster, args.n, args.in_flight)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--in-flight", type=int, default=500)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("clients", nargs="*", default=["relay", "raw", "httpx"])
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "publisher.py"), "--serve-disclosure", str(port)],
        cwd=ROOT,
    )
    try:
        asyncio.run(run(args, port))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
