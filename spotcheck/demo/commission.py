"""Part of step 6 of the demo: one item handed to a testing body (委托检验检测).

A product-quality item (SCJG-004, 产品质量监督抽查) of one task that gets a result now is
commissioned to a testing body by the team's first member; the body's report comes back with
the conclusion that the sample result for that item implies (合格 for 未发现问题, 不合格 for a
finding), so that the result recorded afterwards agrees with it. A rerun finds the commission
there and leaves it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from contracts.common import Role
from services.kit.auth import issue_token
from spotcheck.client import Api, ApiError
from spotcheck.demo.common import Demo

ITEM = "SCJG-004"
BODY = "江西省产品质量监督检验院（演示）"
QUALIFICATION = "CMA 161400000000（演示）"
_FINDINGS_NOT_FROM_A_REPORT = {"1", "6", "7", "8", "F", "9", "10", "11", "12"}
WAIT_S = 120.0


def _pick(
    by_inspector: Mapping[str, Sequence[Mapping[str, Any]]],
    methods: Mapping[str, Sequence[str]],
) -> tuple[str, Mapping[str, Any], str] | None:
    """(inspector, submission, conclusion) of the first submission with a product-quality
    item, of a task that may be commissioned, whose sample category a report can give."""
    for inspector, subs in sorted(by_inspector.items()):
        for sub in subs:
            if "commissioned" not in methods.get(str(sub["task_id"]), ()):
                continue
            for item in sub["items"]:
                if item["item_code"] != ITEM:
                    continue
                if item["category"] == "1":
                    return inspector, sub, "conforming"
                if item["category"] not in _FINDINGS_NOT_FROM_A_REPORT:
                    return inspector, sub, "nonconforming"
    return None


def commission_one(
    demo: Demo,
    api: Api,
    key: bytes,
    departments: Mapping[str, str],
    by_inspector: Mapping[str, Sequence[Mapping[str, Any]]],
    tasks: Sequence[Mapping[str, Any]],
) -> str | None:
    """Commission one product-quality item and record the report; the task's id, or None when
    no submission has such an item."""
    methods = {str(t["task_id"]): list(t.get("methods") or []) for t in tasks}
    picked = _pick(by_inspector, methods)
    if picked is None:
        demo.note("no result of this run checks product quality: nothing commissioned")
        return None
    inspector, sub, conclusion = picked
    task_id = str(sub["task_id"])
    token = issue_token(key, role=Role.INSPECTOR, sub=inspector, dept=departments[inspector])
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + WAIT_S
    while True:  # the publisher may not have heard of the task yet (task.assigned on its way)
        try:
            task = api.get(f"/tasks/{task_id}", headers=headers)
            break
        except ApiError as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    if task.get("commissions"):
        return task_id
    day = date.fromisoformat(str(sub["check_date"]))
    opening = {
        "item_code": ITEM,
        "kind": "test",
        "body_name": BODY,
        "qualification_no": QUALIFICATION,
        "subject": "现场抽取样品 2 件，封样送检",
        "commissioned_on": day.isoformat(),
    }
    opened = api.post(f"/tasks/{task_id}/commissions", json=opening, headers=headers)
    text = f"检验报告（演示）：{task_id} {ITEM} 结论 {conclusion}".encode()
    stored = api.post("/attachments", content=text, headers=headers)
    report = {
        "report": {
            "name": "检验报告.txt",
            "sha256": stored["sha256"],
            "size": stored["size"],
            "content_type": "text/plain; charset=utf-8",
            "kind": "report",
        },
        "conclusion": conclusion,
        # the report is back within the check day's week, never after today
        "reported_on": min(day + timedelta(days=5), date.today()).isoformat(),
    }
    api.post(f"/commissions/{opened['commission_id']}/report", json=report, headers=headers)
    demo.note(
        f"commissioned {ITEM} of task {task_id} to a testing body; its report came back "
        f"{'合格' if conclusion == 'conforming' else '不合格'}, and the result agrees"
    )
    return task_id
