"""How dates, numbers and states are written for people in China (简体中文)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

TASK_STATUS: dict[str, str] = {
    "assigned": "待检查",
    "in_progress": "检查中",
    "awaiting_confirmation": "待确认",
    "result_recorded": "已录入",
    "published": "已公示",
    "merged": "已合并",
    "superseded": "已重新抽取",
    "cancelled": "已取消",
}

METHODS: dict[str, str] = {
    "on_site": "实地核查",
    "documents": "书面检查",
    "online": "网络监测",
    "commissioned": "委托检验检测",
}

WEEKDAYS = "一二三四五六日"


def day(value: date | str | None) -> str:
    """`2026年12月3日` (from a date or an ISO date as the services' JSON carries it); an empty
    string for none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}年{value.month}月{value.day}日"


def moment(value: datetime | str | None) -> str:
    """`2026年12月3日 15:04`, in China's time whatever zone the value carries."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    local = value.astimezone(CHINA) if value.tzinfo else value
    return f"{day(local.date())} {local:%H:%M}"


def number(value: int | float) -> str:
    """Digits grouped by thousands, as Chinese statistics print them (12,345)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def days_left(due: date, *, today: date) -> str:
    """`还剩3天` / `今天到期` / `已超期2天`."""
    delta = (due - today).days
    if delta > 0:
        return f"还剩{delta}天"
    if delta == 0:
        return "今天到期"
    return f"已超期{-delta}天"
