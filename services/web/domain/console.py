"""The officers' console in words and rules: which pages a role opens, the draw's states and
refusals in Chinese, a company's ticket, and the rows of the exports.

Pure: the pages ask here, the services decide. Who may do a step is decided again by the
service that takes it (every service checks the token's role); the console only hides what a
role cannot do and answers 403 pages for what it must not open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.common import STATS_ROLES, Role


@dataclass(frozen=True)
class Section:
    """One entry of the console's navigation."""

    key: str
    label: str
    href: str
    roles: tuple[Role, ...]


SECTIONS = (
    Section("plans", "抽查计划", "/console/plans", (Role.PLANNER, Role.POLICY, Role.AUDITOR)),
    Section("draws", "公开抽取", "/console/draws", (Role.DRAW_OFFICER, Role.AUDITOR)),
    Section("rules", "规则管理", "/console/rules", (Role.POLICY,)),
    Section("audit", "审计", "/console/audit", (Role.AUDITOR,)),
    # The leaders' figures (no leader role: the officers who run 双随机 and the auditors).
    Section("stats", "统计分析", "/console/stats", STATS_ROLES),
)

# Roles the console opens for at all (an inspector has 掌上查, not the console).
CONSOLE_ROLES = (Role.PLANNER, Role.POLICY, Role.DRAW_OFFICER, Role.AUDITOR, Role.OPERATOR)

ROLE_NAMES: dict[str, str] = {
    Role.POLICY: "政策规则人员",
    Role.PLANNER: "计划编制人员",
    Role.DRAW_OFFICER: "抽取操作员",
    Role.INSPECTOR: "执法检查人员",
    Role.AUDITOR: "审计人员",
    Role.REGISTRY_OWNER: "名录库管理员",
    Role.OPERATOR: "系统管理员",
}

DEPARTMENTS: dict[str, str] = {
    "SCJG": "市场监管",
    "SW": "税务",
    "STHJ": "生态环境",
}


def sections_for(role: Role) -> list[Section]:
    """The console sections a role sees, in the navigation's order."""
    return [s for s in SECTIONS if role in s.roles]


def roles_of(key: str) -> tuple[Role, ...]:
    """The roles that open a section's pages."""
    return next(s.roles for s in SECTIONS if s.key == key)


# The section each role works in most; the others are a click away in the navigation.
PRIMARY: dict[Role, str] = {
    Role.POLICY: "rules",
    Role.PLANNER: "plans",
    Role.DRAW_OFFICER: "draws",
    Role.AUDITOR: "audit",
}


def console_home(role: Role) -> str:
    """Where an officer lands: their role's main section, else the console's front page."""
    found = {s.key: s.href for s in sections_for(role)}
    return found.get(PRIMARY.get(role, ""), "/console/")


DRAW_STATES: dict[str, str] = {
    "freezing": "冻结名单中",
    "committed": "已公布承诺值，待取种子",
    "seeded": "已取种子，抽取中",
    "selected": "已抽取，选派检查人员中",
    "completed": "已完成",
    "superseded": "已被重新抽取取代",
}

SEED_SOURCES: dict[str, str] = {
    "dice": "现场掷骰",
    "beacon": "公共随机信标",
    "parties": "多方承诺—揭示",
    "demo": "演示用随机数",
}

UNSTAFFED: dict[str, str] = {
    "region": "本区域没有可派的检查人员",
    "department": "没有所需部门的检查人员",
    "active": "没有在岗的检查人员",
    "certificate": "没有持有效执法证的检查人员",
    "expertise": "没有具备该事项专业领域的检查人员",
    "recusal": "符合条件的检查人员均须回避",
    "last_inspector": "符合条件的检查人员均为上次检查该主体的人员",
    "capacity": "符合条件的检查人员任务已满",
    "team_size": "符合条件的检查人员不足两名",
    "joint_departments": "联合检查的部门未能各派一名检查人员",
}


def unstaffed_text(reason: str | None) -> str:
    """Why a task has no team, in Chinese: the draw writes `constraint: details`."""
    if not reason:
        return ""
    code = reason.split(":", 1)[0].strip()
    return UNSTAFFED.get(code, reason)


PROGRESS: dict[str, str] = {
    "not_started": "待检查",
    "in_progress": "检查中",
    "result_recorded": "已录入结果",
    "cancelled": "已取消",
}

# Why an audit chain breaks at an entry, by the kind `/audit/verify` names (services/kit/chain.py).
CHAIN_BREAKS: dict[str, str] = {
    "altered": "记录内容与其哈希值不符（该条记录被改动过）",
    "rewritten": "记录与其在 AUDIT 流上的副本不一致（被改写并重算了哈希值）",
    "missing": "记录缺失（被删除）",
    "link": "记录所带的前一条哈希值与前一条记录不符（链条被断开或插入）",
    "head": "记录与公布的链头不一致",
    "copy": "AUDIT 流上的副本本身有误",
}


# The services' refusals of a ceremony step, by their code, as the officer reads them.
REFUSALS: dict[str, str] = {
    "already_drawn": "该计划已有抽取；如需重新抽取，请在原抽取页面写明理由提出。",
    "already_committed": "该抽取已公布承诺值。",
    "seed_before_commitment": "承诺值公布之前不能给出种子。",
    "seed_already_given": "该抽取已有种子，不能再次给出。",
    "superseded": "该抽取已被重新抽取取代。",
    "wrong_state": "该抽取当前所处的步骤不允许此操作。",
    "reason_required": "重新抽取须写明理由（至少4个字）。",
    "redraw_pending": "已有一项重新抽取的请求等待确认；请由另一名抽取人员确认，或先撤回。",
    "no_redraw_pending": "没有待确认的重新抽取请求。",
    "second_officer_required": "提出重新抽取的人员不能自己确认，须由另一名抽取人员确认。",
    "redraw_after_results": (
        "该抽取已有任务开始检查或录入结果，不能重新抽取；结果有误的请提交更正。"
    ),
    "not_seeded": "该抽取尚未取得种子。",
    "not_committed": "该抽取尚未公布承诺值。",
    "plan_invalid": "计划未通过检查，请按各栏提示修改。",
    "rules_invalid": "规则集未通过检查。",
    "rules_unusable": "现行规则集在本服务中无法使用，请启用一套通过检查的规则集。",
    "forbidden": "您的账号无权进行此操作。",
    "conflict": "该操作与当前状态冲突。",
    "not_found": "找不到该对象。",
}

# Seeds the draw refuses, by the start of its message (the service answers in English).
_SEED_REFUSALS = (
    ("a dice seed is decimal digits only", "掷骰种子只能是数字0—9。"),
    ("a dice seed needs at least", "掷骰种子至少需要20位数字。"),
    ("a beacon seed", "信标值须为信标公布的十六进制输出，至少32位。"),
    ("demo seeds are not allowed", "本系统不允许使用演示种子。"),
    ("unknown seed source", "未知的种子来源。"),
    # The parties' commit-reveal (services/draw/domain/seeds.py).
    ("party_id ", "参与方代号只能由字母、数字和 . _ : - 组成（例如 jijian-1）。"),
    ("the secret of", "秘密值与该参与方登记的承诺值不符。"),
    ("a secret needs at least", "秘密值至少需要16个字符。"),
    ("a secret has no surrounding", "秘密值首尾不能有空格，也不能含制表符或换行。"),
    ("registration is closed", "已开始揭示，不能再登记参与方。"),
    ("at least 2 parties must register", "至少两个参与方登记后才能开始揭示。"),
    ("a commitment is 64", "承诺值须为64位小写十六进制的SHA-256值。"),
    ("a party", "多方承诺—揭示的参与方信息有误。"),
)
# The same, by the end of the message ("party 'jijian' is already registered").
_PARTY_REFUSALS = (
    ("is already registered", "该参与方已登记。"),
    ("has already revealed", "该参与方已揭示。"),
    ("is not registered", "没有登记该参与方。"),
)


def refusal(code: str, message: str) -> str:
    """A service's refusal in Chinese: by its code, else by its message, else as sent."""
    for start, zh in _SEED_REFUSALS:
        if message.startswith(start):
            return zh
    if message.startswith("party "):
        for end, zh in _PARTY_REFUSALS:
            if message.endswith(end):
                return zh
    return REFUSALS.get(code, message)


def ticket(seed: str, stratum_id: str, uscc: str) -> str:
    """A company's ticket in a stratum (DESIGN §6.4): the same bytes as the draw's."""
    return hashlib.sha256(f"{seed}|{stratum_id}|{uscc}".encode()).hexdigest()


def groups_of(text: str, size: int = 8) -> list[str]:
    """A hash in groups of `size` characters, to read it out in the room."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def ratio(bp: int | None) -> str:
    """Basis points as a percentage (`500` → `5%`, `250` → `2.5%`); empty for none."""
    if bp is None:
        return ""
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


def team_text(team: Iterable[Mapping[str, Any]]) -> str:
    """`王芳（市场监管）、李强（税务）`."""
    out = []
    for m in team:
        dept = str(m.get("department", ""))
        out.append(f"{m.get('name') or m.get('inspector_id')}（{DEPARTMENTS.get(dept, dept)}）")
    return "、".join(out)


SELECTION_HEADERS = ("分层", "序号", "统一社会信用代码", "主体名称", "签号（ticket）", "任务编号")
TASK_HEADERS = (
    "任务编号",
    "批次",
    "统一社会信用代码",
    "主体名称",
    "区划",
    "检查事项",
    "检查部门",
    "联合检查",
    "检查期限",
    "检查组",
    "执法人员工号",
    "未能派员原因",
    "进度",
)


def selection_rows(
    record: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]]
) -> list[tuple[str, ...]]:
    """One row per selected company, stratum by stratum in ticket order, with its name and
    task from the draw's tasks (a company of several strata has one visit)."""
    by_uscc: dict[str, Mapping[str, Any]] = {}
    for row in tasks:
        task = row["task"]
        by_uscc.setdefault(task["uscc"], task)
    seed = str(record["seed"])
    out: list[tuple[str, ...]] = []
    for stratum in record["strata"]:
        for i, uscc in enumerate(stratum["selected"], start=1):
            task = by_uscc.get(uscc, {})
            out.append(
                (
                    stratum["stratum_id"],
                    str(i),
                    uscc,
                    str(task.get("entity_name", "")),
                    ticket(seed, stratum["stratum_id"], uscc),
                    str(task.get("task_id", "")),
                )
            )
    return out


def task_rows(tasks: Iterable[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    """One row per task of a draw, as the tasks table shows it."""
    out: list[tuple[str, ...]] = []
    for row in tasks:
        t = row["task"]
        reason = t.get("unstaffed_reason")
        out.append(
            (
                t["task_id"],
                str(t.get("batch", "")),
                t["uscc"],
                t.get("entity_name", ""),
                t.get("region_code", ""),
                "、".join(f"{i['code']} {i['name']}" for i in t.get("items", [])),
                "、".join(DEPARTMENTS.get(d, d) for d in t.get("departments", [])),
                "是" if t.get("joint") else "否",
                f"{t.get('period_start', '')}至{t.get('period_end', '')}",
                team_text(t.get("team", [])),
                "、".join(m["inspector_id"] for m in t.get("team", [])),
                unstaffed_text(reason),
                "已并入" + str(row["merged_into"])
                if row.get("merged_into")
                else PROGRESS.get(str(row.get("progress", "")), str(row.get("progress") or "")),
            )
        )
    return out
