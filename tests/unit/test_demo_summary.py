"""`spotcheck demo`'s summary prints where the public site is (一公开), each draw's page on it,
and the publisher's open data."""

from __future__ import annotations

from rich.console import Console

from spotcheck.demo import summary

URLS = {
    "registry": "http://127.0.0.1:8101",
    "planner": "http://127.0.0.1:8102",
    "draw": "http://127.0.0.1:8103",
    "publisher": "http://127.0.0.1:8104",
    "web": "http://127.0.0.1:8100",
}


def test_the_summary_prints_the_public_sites_address() -> None:
    record = {"draw_id": "D-1", "plan_id": "P-1", "strata": [{"stratum_id": "S", "n": 9, "k": 1}]}
    s = summary.build(
        county={"entities": 600, "inspectors": 16},
        rules_version="v" * 64,
        plans=[{"strata": [{"stratum_id": "S", "risk_class": "B"}]}],
        draws=[{"record": record, "tasks": [], "verified": True}],
        results={},
        public_results=[],
        deliveries=[],
        deadlines=[],
        urls=URLS,
    )
    console = Console(record=True, width=160)
    summary.render(s, console)
    text = console.export_text()
    assert "public site (一公开)" in text
    for path in ("/", "/items", "/plans", "/tasks", "/results", "/draws", "/draws/D-1"):
        assert f"http://127.0.0.1:8100{path}\n" in text, path
    assert "http://127.0.0.1:8104/public/results.csv" in text
