"""Result categories of the national disclosure system (检查结果), read from shipped data.

The table lives in `services/publisher/data/result_categories.json` so that policy staff can
change which categories count as violations (→ referral) or trigger credit and licensing
feedback or joint punishment (联合惩戒) without touching code. A submission may name a
category by code (canonical) or by its name or an older spelling; both resolve to the code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Category:
    """One result category."""

    code: str
    name: str
    parent: str | None
    violation: bool
    referral: bool
    credit_feedback: bool
    licensing_feedback: bool
    aliases: tuple[str, ...] = ()
    joint_punishment: bool = False


@dataclass(frozen=True, slots=True)
class CategoryTable:
    """The categories by code, with lookup by code, name or alias."""

    version: str
    by_code: dict[str, Category]
    _by_label: dict[str, str]

    def resolve(self, label: str) -> Category | None:
        """The category a submitted label names (code, name or alias), or None."""
        code = self._by_label.get(label.strip())
        return None if code is None else self.by_code[code]

    def all(self) -> list[Category]:
        """Every category, in the table's order."""
        return list(self.by_code.values())

    def any_violation(self, codes: Iterable[str]) -> bool:
        """Whether any of these category codes counts as a violation."""
        return any(self.by_code[c].violation for c in codes)

    def needs_referral(self, codes: Iterable[str]) -> bool:
        """Whether any of these category codes is referred to case handling."""
        return any(self.by_code[c].referral for c in codes)

    def needs_credit_feedback(self, codes: Iterable[str]) -> bool:
        """Whether any of these category codes is shared with the credit-risk system."""
        return any(self.by_code[c].credit_feedback for c in codes)

    def needs_licensing_feedback(self, codes: Iterable[str]) -> bool:
        """Whether any of these category codes is fed back to registration/approval."""
        return any(self.by_code[c].licensing_feedback for c in codes)


def build_table(data: dict[str, Any]) -> CategoryTable:
    """Check and index a category table given as parsed JSON."""
    by_code: dict[str, Category] = {}
    by_label: dict[str, str] = {}
    for row in data["categories"]:
        cat = Category(
            code=str(row["code"]),
            name=str(row["name"]),
            parent=row.get("parent"),
            violation=bool(row["violation"]),
            referral=bool(row["referral"]),
            credit_feedback=bool(row["credit_feedback"]),
            licensing_feedback=bool(row["licensing_feedback"]),
            aliases=tuple(str(a) for a in row.get("aliases", [])),
            # A table without the column (an older one) names no category for it.
            joint_punishment=bool(row.get("joint_punishment", False)),
        )
        if cat.code in by_code:
            raise ValueError(f"category code {cat.code} appears twice")
        if cat.referral and not cat.violation:
            raise ValueError(f"category {cat.code} is referred but not a violation")
        if cat.joint_punishment and not cat.violation:
            raise ValueError(f"category {cat.code} leads to joint punishment but is no violation")
        by_code[cat.code] = cat
        for label in (cat.code, cat.name, *cat.aliases):
            if label in by_label and by_label[label] != cat.code:
                raise ValueError(f"label {label!r} names two categories")
            by_label[label] = cat.code
    for cat in by_code.values():
        if cat.parent is not None and cat.parent not in by_code:
            raise ValueError(f"category {cat.code} has unknown parent {cat.parent}")
    return CategoryTable(version=str(data["version"]), by_code=by_code, _by_label=by_label)


def load_categories() -> CategoryTable:
    """The shipped category table."""
    text = (
        resources.files("services.publisher")
        .joinpath("data/result_categories.json")
        .read_text(encoding="utf-8")
    )
    return build_table(json.loads(text))
