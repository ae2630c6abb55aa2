"""Benchmark: a draw verified in the visitor's browser (the public site's 验证 button,
`services/web/static/public/verify.js`, WebCrypto SHA-256) beside `tools/verify_draw.py` (Python,
hashlib) on the same data, fetched over HTTP from the same server by both.

Two cases:
- the largest demo draw (most candidates over all strata) on the public site of a stack
  started here (`spotcheck up` + `spotcheck demo`, or `--web URL` of one already running);
- one stratum of 100,000 candidates (synthetic, valid USCCs; record computed here with
  hashlib), served with a page that holds only the verifier by a small server of this script.

Browser time: from the click on 验证 until the verdict is on the page (the page measures it:
downloads, hashing, selection, drawing the verdicts), Debian's Chromium headless. Python time:
the tool's whole run as a person types it (interpreter start included), best of the runs.
Target: the browser within 3× of the tool.

    .venv/bin/python bench/verify_browser.py [--entities 30000] [--runs 3] [--web URL]
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from services.registry.library import entity_uscc  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

TOOL = ROOT / "tools" / "verify_draw.py"
VERIFY_JS = ROOT / "services" / "web" / "static" / "public" / "verify.js"
WORKER_JS = VERIFY_JS.with_name("verify-worker.js")
SEED = "31415926535897932384626433832795"
BP = 500
HARNESS = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>verify</title><script type="module" src="/verify.js"></script></head><body>
<section data-verifier data-record="/record.json" data-candidates="/candidates/{stratum_id}.txt">
<p data-needs-js hidden><button type="button" data-verify-button disabled>验证</button></p>
<p data-verify-status></p><p data-verify-summary></p>
<span data-verify-seed></span><span data-verify-commitment></span>
</section></body></html>"""


# ---- the synthetic 100,000-candidate stratum ---------------------------------------------


def synthetic_draw(n: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A record of one stratum of `n` candidates, its selection computed with hashlib."""
    sid = f"2026.BENCH-{n}.B.360202"
    usccs = sorted({entity_uscc(91, "360202", i) for i in range(n)})
    assert len(usccs) == n
    body = "".join(u + "\n" for u in usccs).encode()
    k = min(n, (n * BP + 9999) // 10000)
    tickets = sorted((hashlib.sha256(f"{SEED}|{sid}|{u}".encode()).hexdigest(), u) for u in usccs)
    digest = hashlib.sha256(body).hexdigest()
    commitment = hashlib.sha256(f"{sid}\t{n}\t{k}\t{digest}\n".encode()).hexdigest()
    record = {
        "spec": "spotcheck-draw/1",
        "draw_id": f"BENCH-{n}",
        "plan_id": "BENCH",
        "rules_version": "bench",
        "seed": SEED,
        "seed_source": "dice",
        "commitment_sha256": commitment,
        "strata": [
            {
                "stratum_id": sid,
                "n": n,
                "bp": BP,
                "k": k,
                "candidates_sha256": digest,
                "selected": [u for _, u in tickets[:k]],
            }
        ],
    }
    return record, {sid: body}


@contextmanager
def serve(record: dict[str, Any], lists: dict[str, bytes]) -> Iterator[str]:
    """The harness page, verify.js, the record and the lists on 127.0.0.1 (a secure context
    for WebCrypto) until the block ends."""
    files = {
        "/": (HARNESS.encode(), "text/html; charset=utf-8"),
        "/verify.js": (VERIFY_JS.read_bytes(), "text/javascript"),
        "/verify-worker.js": (WORKER_JS.read_bytes(), "text/javascript"),
        "/record.json": (json.dumps(record).encode(), "application/json"),
        **{
            f"/candidates/{sid}.txt": (body, "text/plain; charset=utf-8")
            for sid, body in lists.items()
        },
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(self.path.split("?")[0])
            if found is None:
                self.send_error(404)
                return
            body, ctype = found
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


# ---- timing ----------------------------------------------------------------------------


def browser_seconds(page: Page, url: str) -> float:
    """Open the page, click 验证, wait for the verdict; the page's own measure (seconds)."""
    page.goto(url)
    page.get_by_role("button", name="验证").click()
    page.wait_for_selector("[data-verifier][data-state=done]", timeout=600_000)
    section = page.locator("[data-verifier]")
    assert section.get_attribute("data-ok") == "true", page.locator(
        "[data-verify-summary]"
    ).inner_text()
    return float(section.get_attribute("data-seconds") or "nan")


def tool_seconds(record_url: str, lists_url: str) -> float:
    """One run of the tool as a person types it (a fresh interpreter)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(TOOL), record_url, lists_url], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0 and done.stdout.startswith("OK"), done
    return elapsed


def downloaded(record_url: str, lists_url: str, into: Path) -> tuple[str, str]:
    """The record and every list copied into a folder: the tool's pure computing time."""
    record = httpx.get(record_url, timeout=120).content
    (into / "record.json").write_bytes(record)
    for s in json.loads(record)["strata"]:
        body = httpx.get(f"{lists_url}{s['stratum_id']}.txt", timeout=120).content
        (into / f"{s['stratum_id']}.txt").write_bytes(body)
    return str(into / "record.json"), str(into)


def _list(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def compare(
    name: str,
    runs: int,
    browser: Callable[[], float],
    tool: Callable[[], float],
    local: Callable[[], float],
) -> dict[str, Any]:
    """Alternate the runs: the browser, the tool over HTTP (the same files from the same
    server), the tool on local copies; best against best (median against median too)."""
    b: list[float] = []
    t: list[float] = []
    f: list[float] = []
    for _ in range(runs):
        b.append(browser())
        t.append(tool())
        f.append(local())
    out = {
        "case": name,
        "ratio_best": min(b) / min(t),
        "ratio_median": statistics.median(b) / statistics.median(t),
        "ratio_local": min(b) / min(f),
    }
    print(
        f"{name}\n"
        f"    browser (verify.js, WebCrypto)   best {min(b):6.2f} s   runs {_list(b)}\n"
        f"    verify_draw.py over HTTP         best {min(t):6.2f} s   runs {_list(t)}\n"
        f"    verify_draw.py on local files    best {min(f):6.2f} s   runs {_list(f)}\n"
        f"    ratio browser / tool over HTTP   {out['ratio_best']:.2f}× "
        f"(median {out['ratio_median']:.2f}×); / tool on local files {out['ratio_local']:.2f}×",
        flush=True,
    )
    return out


@contextmanager
def demo_site(entities: int, web: str | None) -> Iterator[str]:
    """The public site's address: given, or a stack started here with the demo in it."""
    if web:
        yield web.rstrip("/")
        return
    from tests.stack import cli, started_stack

    with started_stack("spotcheck-bench-verify-") as running:
        started = time.perf_counter()
        demo = cli(
            running, "demo", "--no-serve", "--json", "--entities", str(entities), timeout=3600
        )
        assert demo.returncode == 0, demo.stderr[-3000:]
        print(
            f"demo county of {entities:,} entities ready in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        yield running.urls["web"]


def largest_draw(web: str) -> tuple[str, int, int]:
    """The demo draw with the most candidates (of this year's on the site's 抽取记录): id,
    candidates, strata."""
    best: tuple[str, int, int] | None = None
    plans = httpx.get(f"{web}/draws", timeout=60)
    plans.raise_for_status()
    for draw_id in sorted(set(re.findall(r'href="/draws/(D-[0-9a-f]+)"', plans.text))):
        record = httpx.get(f"{web}/draws/{draw_id}/record.json", timeout=120).json()
        n = sum(s["n"] for s in record["strata"])
        if best is None or n > best[1]:
            best = (draw_id, n, len(record["strata"]))
    assert best is not None, "no draw on the site"
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=30_000, help="the demo county's size")
    ap.add_argument("--candidates", type=int, default=100_000, help="the synthetic stratum's n")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--web", help="a running public site (skips starting a stack)")
    args = ap.parse_args()

    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout
    print(f"Python {sys.version.split()[0]} · {version.strip()}")
    results = []
    tmp = tempfile.TemporaryDirectory(prefix="bench-verify-")
    for sub in ("demo", "synthetic"):
        (Path(tmp.name) / sub).mkdir()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=list(CHROMIUM_ARGS)
        )
        page = chromium.new_context(locale="zh-CN").new_page()
        with demo_site(args.entities, args.web) as web:
            draw_id, n, strata = largest_draw(web)
            print(f"largest demo draw {draw_id}: {n:,} candidates in {strata} strata", flush=True)
            urls = (f"{web}/draws/{draw_id}/record.json", f"{web}/draws/{draw_id}/candidates/")
            files = downloaded(*urls, Path(tmp.name) / "demo")
            results.append(
                compare(
                    f"demo draw {draw_id} ({n:,} candidates, {strata} strata)",
                    args.runs,
                    lambda: browser_seconds(page, f"{web}/draws/{draw_id}"),
                    lambda: tool_seconds(*urls),
                    lambda: tool_seconds(*files),
                )
            )
        record, lists = synthetic_draw(args.candidates)
        k = record["strata"][0]["k"]
        with serve(record, lists) as url:
            urls = (url + "/record.json", url + "/candidates/")
            files = downloaded(*urls, Path(tmp.name) / "synthetic")
            results.append(
                compare(
                    f"one stratum of {args.candidates:,} candidates ({k:,} drawn at 5%)",
                    args.runs,
                    lambda: browser_seconds(page, url + "/"),
                    lambda: tool_seconds(*urls),
                    lambda: tool_seconds(*files),
                )
            )
        chromium.close()
    tmp.cleanup()
    worst = max(r["ratio_best"] for r in results)
    strict = max(r["ratio_local"] for r in results)
    print(
        f"worst ratio to the tool over HTTP {worst:.2f}× (target ≤ 3×: "
        f"{'met' if worst <= 3 else 'NOT met'}); to the tool on local files {strict:.2f}×"
    )


if __name__ == "__main__":
    main()
