"""The web service calls the other services over real HTTP: serve their apps on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import uvicorn

from spotcheck.embedded import free_port


@pytest.fixture
async def serve_app() -> AsyncIterator[Callable[[Any], Any]]:
    """`url = await serve_app(app)`: the app on 127.0.0.1 and a free port until the test ends."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def serve(app: Any) -> str:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        servers.append((server, task))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)


@pytest.fixture
def serve_app_in_thread() -> Iterator[Callable[[Any], str]]:
    """`url = serve_app_in_thread(app)`: like `serve_app`, on a thread with its own event loop.

    For a server the services call with blocking I/O: the kit's token verifier fetches a JWKS
    with urllib (PyJWKClient) on the event loop, which on the test's own loop would wait for a
    server that loop can no longer run.
    """
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(app: Any) -> str:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"serve-{port}", daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
