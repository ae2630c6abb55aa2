import asyncio, os
from typing import Any
from services.draw import app as draw_app

async def test_x(run_service: Any) -> None:
    await run_service(draw_app.spec)
    await asyncio.sleep(float(os.environ.get("SLEEP", "1")))
