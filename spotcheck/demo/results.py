"""Sample results, as the assigned inspectors would record them (掌上查).

Pure and deterministic: which tasks get a result, the outcome, the check date and the method
all follow from the SHA-256 of the task id, so a rerun builds the same submissions (and the
publisher skips the ones it already has). Outcomes use the categories of the national
disclosure system (services/publisher/data/result_categories.json) in a realistic mix: most
entities pass, some had problems corrected on the spot, a few cannot be found at their address
or broke a rule and are referred to case handling.

Check dates lie in the past, inside the task's period: most in late October and November 2026,
some in September (published later than 20 working days after the check: overdue) and some in
late October (close to their deadline: at risk).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

# (weight, category per item, which item gets it, problem text) — "all" applies to every item,
# "one" to one item of the task (the others pass).
_OUTCOMES: Final = (
    (66, "1", "all", ""),
    (5, "F", "all", ""),
    (9, "E", "one", "现场发现问题，已当场责令改正"),
    (4, "6", "all", "通过登记的住所（经营场所）无法联系"),
    (5, "VIOLATION", "one", ""),
    (2, "7", "all", ""),
    (1, "8", "all", "拒绝、阻碍检查，情节严重"),
)
# A violation's category and wording depend on the item's department and item.
_VIOLATION_BY_ITEM: Final = {
    "SCJG-001": ("B", "未按规定公示2025年度年度报告中的社保信息"),
    "SCJG-002": ("D", "实际经营场所与登记住所不一致，未办理变更登记"),
    "SCJG-005": ("4", "使用未经检定的计量器具"),
    "SCJG-006": ("D", "广告中使用“最佳”“第一”等绝对化用语"),
    "SCJG-007": ("D", "网店首页未公示营业执照信息"),
    "SCJG-004": ("4", "抽检产品铅、镉溶出量不合格"),
}
_VIOLATION_OTHER_DEPT: Final = ("5", "违反本部门相关规定，移送相关部门处理")
_FIRST_RESULT_DAY: Final = date(2026, 9, 7)


@dataclass(frozen=True)
class Plan:
    """How many of the staffed tasks get a result now (per mille), and the last check day."""

    share_per_mille: int = 600
    today: date = date(2026, 11, 24)


def _h(task_id: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{task_id}".encode()).digest()[:8], "big")


def chosen(task_id: str, share_per_mille: int) -> bool:
    """Whether this task has its result recorded in the demo."""
    return _h(task_id, "chosen") % 1000 < share_per_mille


def check_date(task_id: str, period_start: date, period_end: date, today: date) -> date:
    """The day of the visit: in the period, not after `today` (see the module docstring)."""
    pick = _h(task_id, "date") % 100
    if pick < 12:  # September: published too late
        day = _FIRST_RESULT_DAY + timedelta(days=_h(task_id, "d") % 18)
    elif pick < 25:  # late October: close to the deadline
        day = date(2026, 10, 26) + timedelta(days=_h(task_id, "d") % 5)
    else:
        day = date(2026, 11, 2) + timedelta(days=_h(task_id, "d") % 19)
    last = min(period_end, today)
    if day > last:
        day = last
    if day < period_start:
        day = period_start
    return day


def _outcome(task_id: str) -> tuple[str, str, str]:
    total = sum(w for w, *_ in _OUTCOMES)
    n = _h(task_id, "outcome") % total
    for weight, category, scope, problems in _OUTCOMES:
        if n < weight:
            return category, scope, problems
        n -= weight
    raise AssertionError("weights cover every value")


def items_of(task_id: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The per-item outcome of one task."""
    category, scope, problems = _outcome(task_id)
    out = []
    culprit = _h(task_id, "item") % len(items)
    for i, item in enumerate(items):
        code = str(item["code"])
        if scope == "one" and i != culprit:
            out.append({"item_code": code, "category": "1"})
            continue
        if category == "VIOLATION":
            if str(item.get("department", "SCJG")) == "SCJG":
                cat, text = _VIOLATION_BY_ITEM.get(code, ("D", "违反市场监管相关规定"))
            else:
                cat, text = _VIOLATION_OTHER_DEPT
            out.append({"item_code": code, "category": cat, "problems": text})
        else:
            entry: dict[str, Any] = {"item_code": code, "category": category}
            if problems:
                entry["problems"] = problems
            if category == "6":
                entry["rooted_at_approval"] = True
            out.append(entry)
    return out


def method_of(methods: Sequence[str]) -> str:
    """The way the check was done: on site when the task allows it."""
    if "on_site" in methods or not methods:
        return "on_site"
    return str(methods[0])


def method_record_of(
    task: Mapping[str, Any], method: str, day: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the method requires (`MethodRecord`) and the attachments it names: the place of an
    on-site check, the documents read, the shop watched online and a saved copy of its page, the
    testing body's report."""
    name = str(task.get("entity_name") or task["uscc"])
    if method == "on_site":
        return {"place": f"{name}登记的经营场所"}, []
    if method == "documents":
        return {"documents": ["营业执照", "2025年度年度报告", "进货查验记录"]}, []
    if method == "online":
        record = {"platform": "网络交易平台", "url": f"https://shop.example.cn/{task['uscc']}"}
        text = f"{day.isoformat()} 网络监测页面存档：{name}".encode()
        kind, file = "capture", "网页存档.txt"
    else:
        record, kind, file = {}, "report", "检验检测报告.txt"
        text = f"{name} 委托检验检测报告（演示）".encode()
    return record, [
        {
            "name": file,
            "sha256": hashlib.sha256(text).hexdigest(),
            "size": len(text),
            "content_type": "text/plain; charset=utf-8",
            "content_base64": base64.b64encode(text).decode(),
            "kind": kind,
        }
    ]


def submission(task: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """The result body (`ResultSubmission`) of one staffed task as its first member submits it
    from the phone: their own confirmation only (each other member confirms with their own
    sign-in), and an idempotency key, as the phone's offline queue sends."""
    task_id = str(task["task_id"])
    day = check_date(
        task_id,
        date.fromisoformat(str(task["period_start"])),
        date.fromisoformat(str(task["period_end"])),
        today,
    )
    method = method_of(list(task.get("methods") or []))
    record, attachments = method_record_of(task, method, day)
    return {
        "task_id": task_id,
        "check_date": day.isoformat(),
        "method": method,
        "method_record": record,
        "attachments": attachments,
        "items": items_of(task_id, list(task["items"])),
        "confirmations": [
            {
                "inspector_id": str(task["team"][0]["inspector_id"]),
                "confirmed_at": f"{day.isoformat()}T16:30:00+08:00",
            }
        ],
        "idempotency_key": f"demo-{task_id}",
    }


def submissions_by_inspector(
    tasks: Iterable[Mapping[str, Any]], *, plan: Plan = Plan()
) -> dict[str, list[dict[str, Any]]]:
    """The chosen staffed tasks' results, grouped by the inspector who enters them (the first
    member of the team: 谁检查、谁录入); the other members confirm them."""
    out: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        if not task.get("team") or not chosen(str(task["task_id"]), plan.share_per_mille):
            continue
        by = str(task["team"][0]["inspector_id"])
        out.setdefault(by, []).append(submission(task, today=plan.today))
    return out
