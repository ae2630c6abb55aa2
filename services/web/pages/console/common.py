"""What every console page shares: the signed-in officer's context and refusals as messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.kit.errors import DomainError
from services.web.domain.console import DEPARTMENTS, ROLE_NAMES, refusal, sections_for
from services.web.sessions import Person


def today() -> date:
    """Today in the server's zone (China's in a deployment)."""
    return datetime.now(UTC).astimezone().date()


def context(who: Person, section: str, **extra: Any) -> dict[str, Any]:
    """The shell's context: the person, their navigation, the CSRF token."""
    return {
        "person": who,
        "role_name": ROLE_NAMES.get(who.account.role, who.account.role),
        "dept_name": DEPARTMENTS.get(who.account.department or "", who.account.department or ""),
        "sections": sections_for(who.account.role),
        "section": section,
        "csrf_token": who.csrf_token,
        "today": today(),
        "departments": DEPARTMENTS,
        **extra,
    }


def message_of(exc: DomainError) -> str:
    """A refusal in Chinese: the first detail's `msg_zh`, else a rule set's first error with its
    `reason_zh` after the code's sentence, else by code, else as sent."""
    for d in exc.details:
        if isinstance(d, dict) and d.get("msg_zh"):
            return str(d["msg_zh"])
    for d in exc.details:
        if isinstance(d, dict) and d.get("reason_zh"):
            where = f"{d.get('file')} 第 {d.get('line')} 行"
            return f"{refusal(exc.code, exc.message)}{where}：{d['reason_zh']}"
    return refusal(exc.code, exc.message)
