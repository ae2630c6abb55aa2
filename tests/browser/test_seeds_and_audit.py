"""The ceremony's other two seeds in the console, and the audit page finding a tampered entry,
on a desktop (1280×800) with the new states on a phone (390×844) too:

- the parties' commit-reveal: a draw officer and the discipline office's auditor each register
  the SHA-256 of a secret (computed in the browser, the secret never sent), then reveal; the
  last reveal derives the seed and the draw runs to its selection;
- a public beacon's value typed as published, to the selection;
- an audit entry altered in PostgreSQL: the auditor's page names the broken chain and entry
  (and the entry restored, the chain is whole again for the other tests).

Each draw is of a plan of this module's own, so the demo's draws stay as they were.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from contracts.common import Role
from services.draw.domain.seeds import derive_party_seed, secret_commitment
from tests.browser.conftest import DESKTOP, PHONE, Seeded
from tests.browser.officers import approved_plan, call, check_page, sign_in, sql

OFFICER_SECRET = "抽取人员的秘密：7f3a9c1e5b"
AUDITOR_SECRET = "纪检监督的秘密：0b8e2d46a1"
BEACON = "4c1d2e3f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"


def _start_through_the_page(page: Page, stack: Seeded, title: str) -> str:
    """A draw officer starts the plan's draw on 公开抽取; the draw's id."""
    sign_in(page, stack, "draw-officer", "/console/draws")
    page.get_by_role("button", name=f"开始抽取：{title}").click()
    expect(page.get_by_role("status").filter(has_text="已冻结候选名单")).to_be_visible()
    return page.url.rsplit("/", 1)[-1].split("?")[0]


def _register(page: Page, party_id: str, secret: str) -> None:
    """Register a party: its code, and its secret typed into the helper, which puts the
    secret's SHA-256 (computed in the browser) into the commitment field."""
    page.get_by_label("参与方代号（字母、数字或 . _ : -，如 jijian-1）").fill(party_id)
    page.get_by_label("在本机计算：输入秘密值（不会发送）").fill(secret)
    expect(page.get_by_label("秘密值的 SHA-256（64位十六进制）")).to_have_value(
        secret_commitment(secret)
    )
    page.get_by_role("button", name="登记参与方").click()


def _reveal(page: Page, party_id: str, secret: str) -> None:
    page.get_by_label(f"{party_id} 的秘密值").fill(secret)
    page.locator("table tr", has_text=party_id).get_by_role("button", name="揭示").click()


def _scroll_to(where: Locator) -> None:
    """Bring a part of the page to the top of the screen, for the screenshot of that step."""
    where.evaluate(
        "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY"
        " - (document.querySelector('.top')?.offsetHeight || 0) - 16)"
    )


def _done(page: Page, text: str) -> None:
    """The step's outcome, in the status line at the top of the page."""
    expect(page.locator("p.alert[role=status]")).to_have_text(text)


def _selection_shown(page: Page, stack: Seeded, draw_id: str) -> dict[str, Any]:
    """The record's selection is on the page; the record."""
    record: dict[str, Any] = call(
        stack, "GET", "draw", f"/draws/{draw_id}/record", role=Role.AUDITOR
    )
    selected = [u for s in record["strata"] for u in s["selected"]]
    assert selected
    expect(page.get_by_text(f"共抽取 {len(selected)} 户")).to_be_visible()
    for uscc in selected[:3]:
        expect(page.get_by_role("cell", name=uscc, exact=True).first).to_be_visible()
    return record


def test_the_parties_commit_then_reveal_and_the_draw_runs(
    browser_stack: Seeded, browser: Browser
) -> None:
    stack = browser_stack
    plan = approved_plan(stack, "浏览器测试：多方承诺—揭示的抽查计划")
    officer = browser.new_context(**DESKTOP)
    auditor = browser.new_context(**DESKTOP)
    try:
        page = officer.new_page()
        draw_id = _start_through_the_page(page, stack, plan["title"])

        # A party's code is letters and digits: a Chinese name is refused at its field, in
        # Chinese, with nothing typed lost.
        _register(page, "抽取人员", OFFICER_SECRET)
        expect(page.locator("#party-error")).to_have_text(
            "参与方代号只能由字母、数字和 . _ : - 组成（例如 jijian-1）。"
        )
        expect(page.get_by_label("参与方代号（字母、数字或 . _ : -，如 jijian-1）")).to_have_value(
            "抽取人员"
        )
        _register(page, "officer", OFFICER_SECRET)
        _done(page, "参与方已登记。")
        expect(page.locator(".table-wrap[aria-labelledby=parties-h] tbody tr")).to_have_count(1)
        # Alone, no reveal: a seed takes at least two parties.
        _reveal(page, "officer", OFFICER_SECRET)
        expect(page.locator("#reveal-officer-error")).to_have_text(
            "至少两个参与方登记后才能开始揭示。"
        )

        # The discipline office's auditor registers on their own screen.
        witness = auditor.new_page()
        sign_in(witness, stack, "auditor", f"/console/draws/{draw_id}")
        expect(witness.get_by_role("heading", level=3, name="多方承诺—揭示")).to_be_visible()
        assert witness.get_by_role("button", name="确认种子并抽取").count() == 0  # no dice
        _register(witness, "jijian", AUDITOR_SECRET)
        _done(witness, "参与方已登记。")
        expect(witness.locator("tbody tr", has_text="jijian")).to_contain_text(
            secret_commitment(AUDITOR_SECRET)[:16]
        )
        _scroll_to(witness.locator("#parties-h"))
        check_page(witness, "console-parties-registered-desktop")
        status = call(stack, "GET", "draw", f"/draws/{draw_id}", role=Role.AUDITOR)
        assert {p["party_id"]: p["commitment_sha256"] for p in status["parties"]} == {
            "officer": secret_commitment(OFFICER_SECRET),
            "jijian": secret_commitment(AUDITOR_SECRET),
        }
        assert all(p["secret"] is None for p in status["parties"])  # nothing revealed yet

        # Reveals: a wrong secret is refused at its row; the right one is taken.
        _reveal(witness, "jijian", AUDITOR_SECRET + "x")
        expect(witness.locator("#reveal-jijian-error")).to_have_text(
            "秘密值与该参与方登记的承诺值不符。"
        )
        _reveal(witness, "jijian", AUDITOR_SECRET)
        _done(witness, "秘密值已揭示。等待其余参与方揭示。")
        expect(witness.locator("tbody tr", has_text="jijian")).to_contain_text("已揭示")
        # Registration closed with the first reveal: the form is refused.
        _register(witness, "late-1", "迟到的一方的秘密：ffffffff")
        expect(witness.locator("#party-error")).to_have_text("已开始揭示，不能再登记参与方。")

        # The last reveal derives the seed, and the draw runs to its selection.
        page.goto(f"{stack.urls['web']}/console/draws/{draw_id}")
        _reveal(page, "officer", OFFICER_SECRET)
        _done(page, "各参与方均已揭示，已由各方秘密值得出种子，抽取和选派已完成。")
        record = _selection_shown(page, stack, draw_id)
        seed = derive_party_seed([("officer", OFFICER_SECRET), ("jijian", AUDITOR_SECRET)])
        assert (record["seed"], record["seed_source"]) == (seed, "parties")
        expect(page.get_by_text("种子（多方承诺—揭示）")).to_be_visible()
        expect(page.locator(".hash.seed")).to_have_text(seed)
        # Each party's commitment and secret beside the seed, for anyone to recompute it.
        shown = page.locator("table.parties tbody tr")
        expect(shown).to_have_count(2)
        expect(shown.filter(has_text="jijian")).to_contain_text(AUDITOR_SECRET)
        expect(shown.filter(has_text="officer")).to_contain_text(secret_commitment(OFFICER_SECRET))
        _scroll_to(page.locator("#s2-h"))
        check_page(page, "console-parties-completed-desktop")
        # The public record shows each party's commitment and secret, to check by anyone.
        published = {p["party_id"]: p for p in record["seed_parties"]}
        assert published["jijian"]["secret"] == AUDITOR_SECRET
        assert published["officer"]["commitment_sha256"] == secret_commitment(OFFICER_SECRET)
    finally:
        officer.close()
        auditor.close()

    # The same page on a phone: the parties' table and the selection fit its width.
    phone = browser.new_context(**PHONE)
    try:
        small = phone.new_page()
        sign_in(small, stack, "auditor", f"/console/draws/{draw_id}")
        expect(small.get_by_text("种子（多方承诺—揭示）")).to_be_visible()
        _scroll_to(small.locator("#s2-h"))
        check_page(small, "console-parties-completed-phone")
    finally:
        phone.close()


def test_a_beacon_value_seeds_the_draw(browser_stack: Seeded, desktop: Page) -> None:
    stack = browser_stack
    plan = approved_plan(stack, "浏览器测试：公共随机信标的抽查计划")
    draw_id = _start_through_the_page(desktop, stack, plan["title"])
    beacon = desktop.get_by_label("信标输出值（十六进制，照公布原样，至少32位）")
    beacon.fill("4c1d2e3f")  # too short: refused at its field, kept
    desktop.get_by_role("button", name="确认信标值并抽取").click()
    expect(desktop.locator("#seed-beacon-error")).to_have_text(
        "信标值须为信标公布的十六进制输出，至少32位。"
    )
    expect(beacon).to_have_value("4c1d2e3f")
    expect(beacon).to_have_attribute("aria-invalid", "true")
    _scroll_to(desktop.locator("#s2-h"))
    check_page(desktop, "console-beacon-refused-desktop")
    beacon.fill(BEACON)
    desktop.get_by_role("button", name="确认信标值并抽取").click()
    expect(desktop.get_by_role("status").filter(has_text="种子已记录")).to_be_visible()
    record = _selection_shown(desktop, stack, draw_id)
    assert (record["seed"], record["seed_source"]) == (BEACON, "beacon")
    expect(desktop.get_by_text("种子（公共随机信标）")).to_be_visible()
    expect(desktop.locator(".hash.seed")).to_have_text(BEACON)
    _scroll_to(desktop.locator("#s2-h"))
    check_page(desktop, "console-beacon-completed-desktop")


def test_the_audit_page_names_a_tampered_entry(browser_stack: Seeded, browser: Browser) -> None:
    stack = browser_stack
    assert call(stack, "GET", "draw", "/audit/verify", role=Role.AUDITOR)["ok"]
    # The draw service's latest seed entry (this module's draws made some), forged in place.
    row = sql(
        stack,
        "SELECT seq, subject, data::text AS data FROM draw.audit_log"
        " WHERE action = 'draw.seeded' ORDER BY seq DESC LIMIT 1",
    )[0]
    seq, original = row["seq"], row["data"]
    forged = {**json.loads(original), "seed": "12345678901234567890"}
    sql(
        stack,
        "UPDATE draw.audit_log SET data = $2::jsonb WHERE seq = $1",
        seq,
        json.dumps(forged),
    )
    try:
        verified = call(stack, "GET", "draw", "/audit/verify", role=Role.AUDITOR)
        assert (verified["ok"], verified["broken_at"], verified["kind"]) == (False, seq, "altered")
        for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(**options)
            try:
                page = context.new_page()
                sign_in(page, stack, "auditor", "/console/audit")
                alert = page.get_by_role("alert")
                expect(alert).to_contain_text("发现 1 条审计链断裂")
                expect(alert).to_contain_text(
                    f"公开抽取（draw）的审计链自第 {seq} 条记录起断裂："
                    "记录内容与其哈希值不符（该条记录被改动过）"
                )
                # The entry as it now stands: who, what, which draw, the forged seed.
                expect(alert).to_contain_text("draw.seeded")
                expect(alert.get_by_role("link", name=row["subject"])).to_be_visible()
                expect(alert).to_contain_text("12345678901234567890")
                chains = page.locator("table.chains tbody tr")
                draw_row = chains.filter(has_text="公开抽取")
                expect(draw_row).to_contain_text("链条断裂")
                expect(draw_row).to_contain_text(f"第 {seq} 条：记录内容与其哈希值不符")
                for other in ("名录库", "计划与规则", "结果公示", "账号与登录"):
                    expect(chains.filter(has_text=other)).to_contain_text("完整")
                check_page(page, f"console-audit-broken-{name}")
                if name == "desktop":
                    # The link lists the entries of that draw, the broken one marked.
                    alert.get_by_role("link", name=row["subject"]).click()
                    marked = page.locator("table.entries tbody tr.broken")
                    expect(marked).to_have_count(1)
                    expect(marked).to_contain_text(f"#{seq} 断点")
                    expect(marked).to_contain_text("draw.seeded")
            finally:
                context.close()
    finally:
        sql(stack, "UPDATE draw.audit_log SET data = $2::jsonb WHERE seq = $1", seq, original)
    # Restored: whole again, for the other tests and for the record.
    assert call(stack, "GET", "draw", "/audit/verify", role=Role.AUDITOR)["ok"]
