"""Parsing of the fields of directory rows, shared by entity rows (`rows`) and inspector rows
(`inspector_rows`): each helper returns the clean value and appends a `FieldError` (the field
and the reason in Chinese and English) instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from services.registry.domain import uscc as uscc_mod

_TRUE: Final = frozenset({"1", "true", "t", "yes", "y", "是", "在册", "列入"})
_FALSE: Final = frozenset({"", "0", "false", "f", "no", "n", "否", "未列入"})
_SPLIT: Final = re.compile(r"[;；|]")
MAX_LABEL: Final = 32


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a row."""

    field: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        """JSON form for rejects files and error bodies."""
        return {"field": self.field, "reason_zh": self.zh, "reason_en": self.en}


def clean_text(v: Any) -> str:
    """A value as trimmed text ("" for None)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    return str(v).strip()


def split_list(v: Any) -> list[str]:
    """A list value: a JSON list, or text split on ";", "；" or "|"; trimmed, without empty
    or repeated items."""
    if v is None:
        return []
    items = [clean_text(x) for x in v] if isinstance(v, list) else _SPLIT.split(clean_text(v))
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out


def parse_date(v: Any, name: str, errors: list[FieldError]) -> date | None:
    """A YYYY-MM-DD date (None when empty); a FieldError naming `name` when invalid."""
    s = v.strip() if v.__class__ is str else clean_text(v)
    if not s:
        return None
    if len(s) == 10 and s[4] == "-" and s[7] == "-" and s[:4].isdigit():
        try:
            d = date.fromisoformat(s)
        except ValueError:
            pass
        else:
            if d.year >= 1900:
                return d
    errors.append(
        FieldError(
            name, f"日期“{s}”无效，应为YYYY-MM-DD", f"invalid date {s!r}, expected YYYY-MM-DD"
        )
    )
    return None


def parse_bool(v: Any, name: str, errors: list[FieldError]) -> bool:
    """A yes/no value (in Chinese or English); a FieldError naming `name` when neither."""
    if isinstance(v, bool):
        return v
    s = clean_text(v).lower()
    if s in _FALSE:
        return False
    if s in _TRUE:
        return True
    errors.append(FieldError(name, f"“{s}”不是是/否值", f"{s!r} is not a yes/no value"))
    return False


def parse_labels(v: Any, name: str, errors: list[FieldError]) -> list[str]:
    """A list of labels (`split_list`), each at most MAX_LABEL characters."""
    items = split_list(v)
    for x in items:
        if len(x) > MAX_LABEL:
            errors.append(
                FieldError(
                    name,
                    f"标签“{x[:20]}…”超过{MAX_LABEL}个字符",
                    f"label {x[:20]!r}… is longer than {MAX_LABEL} characters",
                )
            )
    return items


def canonical_labels(raw: str) -> bool:
    """Whether `raw` is a label list exactly as the validator stores it: labels joined by ";",
    each trimmed, none empty, repeated or too long."""
    errors: list[FieldError] = []
    items = parse_labels(raw, "tags", errors)
    return not errors and ";".join(items) == raw


def missing(name: str) -> FieldError:
    """The error of a required field left empty."""
    return FieldError(name, "必填项为空", "required field is empty")


def one_of(name: str, value: str, allowed: frozenset[str]) -> FieldError:
    """The error of a value outside its allowed set."""
    shown = "、".join(sorted(allowed))
    return FieldError(
        name,
        f"“{value}”不在允许值中（{shown}）",
        f"{value!r} is not one of: {', '.join(sorted(allowed))}",
    )


def validate_uscc_field(name: str, raw: Any, errors: list[FieldError]) -> str:
    """Normalise and check one USCC; append a FieldError naming `name` when it is bad."""
    code = uscc_mod.normalise(clean_text(raw))
    if not code:
        errors.append(missing(name))
        return code
    why = uscc_mod.problem(code)
    if why is not None:
        errors.append(
            FieldError(name, f"统一社会信用代码“{code}”无效：{why[0]}", f"USCC {code!r}: {why[1]}")
        )
    return code
