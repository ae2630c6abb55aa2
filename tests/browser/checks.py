"""What every browser test checks on a page, and the screenshots it leaves for the docs.

- `assert_accessible(page)`: axe-core (vendored in `vendor/axe-core/`, see its README) run with
  the WCAG 2.0/2.1 A and AA rules; fails listing every violation of impact serious or critical.
  GB/T 37668-2019 follows WCAG, so these are the rules a Chinese public site is held to.
- `assert_fits_width(page)`: nothing sticks out sideways (a phone must not scroll horizontally);
  a table that is wider than the screen scrolls inside its own box instead.
- `save_screenshot(page, name)`: `tests/browser/screenshots/<name>.png` (git-ignored), or under
  `SPOTCHECK_SCREENSHOTS` when that is set.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("SPOTCHECK_SCREENSHOTS") or HERE / "screenshots")

# WCAG 2.0 and 2.1, levels A and AA (axe's tag names).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
FAILING_IMPACTS = ("serious", "critical")
NODES_SHOWN = 3


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page, *, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every impact).

    axe is evaluated through the DevTools protocol rather than added as a <script>: the pages
    forbid scripts of their own by CSP, and the test must not need them to relax it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }""",
        list(tags),
    )
    return result


def assert_accessible(
    page: Page,
    *,
    tags: tuple[str, ...] = WCAG_TAGS,
    impacts: tuple[str, ...] = FAILING_IMPACTS,
) -> None:
    """Fail listing every axe violation of the given impacts (serious, critical): its rule id,
    what it asks, and the first few elements it found."""
    bad = [v for v in axe_violations(page, tags=tags) if v["impact"] in impacts]
    if not bad:
        return
    lines = [f"{len(bad)} accessibility violation(s) on {page.url}:"]
    for v in bad:
        more = len(v["targets"]) - NODES_SHOWN
        shown = ", ".join(v["targets"][:NODES_SHOWN]) + (f" (+{more} more)" if more > 0 else "")
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} — {shown} ({v['helpUrl']})")
    raise AssertionError("\n".join(lines))


def assert_fits_width(page: Page) -> None:
    """The page is no wider than the screen (`scrollWidth <= clientWidth` of the document);
    else name the elements that stick out.

    Not `innerWidth`: in a mobile context (`is_mobile`) Chromium widens the layout viewport to
    the content, so `innerWidth` grows with an overflowing table (556 px on a 390 px phone)
    and the comparison always holds. `clientWidth` stays the width the viewport meta tag asks
    for (`width=device-width`: 390)."""
    widths: dict[str, Any] = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const clipped = (el) => {
                for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
                    if (getComputedStyle(a).overflowX !== 'visible') return true;
                }
                return false;
            };
            const out = [];
            for (const el of document.body.querySelectorAll('*')) {
                const right = el.getBoundingClientRect().right;
                const parent = el.parentElement.getBoundingClientRect().right;
                if (right > width + 0.5 && parent <= width + 0.5 && !clipped(el)) {
                    const cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
                    out.push(`${el.tagName.toLowerCase()}${cls} (to ${Math.round(right)} px)`);
                }
            }
            return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
        }"""
    )
    assert widths["scroll"] <= widths["width"], (
        f"{page.url} is {widths['scroll']} px wide on a {widths['width']} px screen; "
        f"sticking out: {', '.join(widths['out']) or '?'}"
    )


def save_screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save what the page shows (the first screen, or the whole page) as `<name>.png` in the
    screenshots folder, one image pixel per CSS pixel (a phone's 390 px, not its device's
    1,170: small enough for the guide); return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, scale="css")
    return path
