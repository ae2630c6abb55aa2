"""Browser tests: Debian's Chromium (`apt-get install -y chromium fonts-noto-cjk`; `make test`
installs them) driven by Playwright for Python against a real stack with a small demo in it.

Fixtures (all of this package's tests share one stack and one browser):
- `chromium` (package, autouse): the Chromium executable. Missing browser or Chinese font:
  the tests are skipped saying what to install — and fail instead under CI=true, which must run
  them. Checked before the stack starts, so a skip costs nothing.
- `browser_stack` (package): a `Seeded` stack — `spotcheck up` on free ports with the embedded
  NATS and PostgreSQL (`tests/stack.py`, as the e2e tests start it), then `spotcheck demo
  --no-serve` with a small county; `.urls[service]` and the demo's `.summary`. Stopped with
  `spotcheck down` after the last browser test.
- `browser` (package): headless Chromium, launched once.
- `phone` / `desktop` (function): a fresh page in a context of its own — a 390×844 touch
  phone at device scale 3, or a 1280×800 desktop; both zh-CN in Asia/Shanghai.
The checks (`assert_accessible`, `assert_fits_width`, `save_screenshot`) are in `checks.py`.

Why not pytest-playwright's fixtures: they are session-scoped, and while a sync Playwright
lives it marks its own event loop as running in the main thread between calls; every
pytest-asyncio test that runs after this package in the same session (`make test` runs them
all) then fails with "Cannot run the event loop while another loop is running". Here the
Playwright instance is package-scoped: it stops after the last browser test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.stack import Running, cli, started_stack

INSTALL = "apt-get install -y chromium fonts-noto-cjk"
# Without these the closed network here refuses Chromium's own background connections
# (updates, sync, field trials), slowly; --no-sandbox because the tests may run as root.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The browser's own language: date fields and the file button as a Chinese phone shows them.
    "--lang=zh-CN",
)
CHINESE_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# The county of the browser stack: small (the demo takes seconds), enough for every page to
# show plans, draws, tasks and results.
DEMO_ARGS = ("demo", "--no-serve", "--json", "--entities", "600", "--inspectors", "16")

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 800},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
# The console is "desktop first, usable on a tablet": a 768×1024 touch tablet, portrait.
TABLET: dict[str, Any] = {
    "viewport": {"width": 768, "height": 1024},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


@dataclass
class Seeded(Running):
    """The browser tests' stack, with the summary `spotcheck demo --json` printed."""

    summary: dict[str, Any]


def _has_chinese_font() -> bool:
    """Whether fontconfig (which Chromium asks) knows a Chinese font."""
    if shutil.which("fc-list"):
        found = subprocess.run(
            ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30
        )
        return bool(found.stdout.strip())
    return CHINESE_FONT.exists()


def missing() -> str | None:
    """What the browser tests lack on this machine, in one sentence; None when nothing."""
    if not shutil.which("chromium"):
        return f"Debian's chromium is not installed ({INSTALL}; `make test` does it)"
    if not _has_chinese_font():
        return f"no Chinese font is installed ({INSTALL}; `make test` does it)"
    return None


@pytest.fixture(scope="package", autouse=True)
def chromium() -> str:
    """The Chromium to drive; skips the browser tests (fails them under CI=true) without it."""
    why = missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {why}")
        pytest.skip(why)
    path = shutil.which("chromium")
    assert path
    return path


@pytest.fixture(scope="package")
def browser_stack() -> Iterator[Seeded]:
    """A real stack (`spotcheck up`) with the small demo county in it."""
    with started_stack("spotcheck-browser-") as running:
        demo = cli(running, *DEMO_ARGS, timeout=600)
        assert demo.returncode == 0, demo.stderr[-3000:]
        yield Seeded(**vars(running), summary=json.loads(demo.stdout))


@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[Browser]:
    """Headless Chromium, launched once for the package."""
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS)
        )
        yield launched
        launched.close()


def _page(browser: Browser, options: dict[str, Any]) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(**options)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A page on a phone: 390×844 CSS px, touch, device scale 3, zh-CN, Asia/Shanghai."""
    yield from _page(browser, PHONE)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    """A page on a desktop: 1280×800, zh-CN, Asia/Shanghai."""
    yield from _page(browser, DESKTOP)
