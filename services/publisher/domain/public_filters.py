"""The public site's filters (一公开): what a visitor may narrow the notices by, checked.

Every filter comes from a URL anyone can type, so each value is checked against the shape its
codes have (years, department and item codes, GB/T 2260 region codes, result categories, a
search text) before it reaches SQL, and paging is clamped: a page is at most `MAX_LIMIT` rows,
and the store reads only that page (indexes, never whole tables; see migration 007).

A region code that ends in `00` names a prefecture (`360200`) or a province (`360000`): it
matches every region under it. A result category matches its sub-categories too (`A`, 发现问题待
后续处理, takes in 2, B, C, …), as the national table nests them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.publisher.domain.categories import CategoryTable

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 1_000_000
MAX_QUERY = 50
YEARS = range(2000, 2101)
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,39}", re.ASCII)
REGION = re.compile(r"[0-9]{6}", re.ASCII)
USCC_LENGTH = 18


class FilterRefused(ValueError):
    """A filter value that cannot be a code of its kind."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: {value!r} is not a valid value")
        self.field = field
        self.value = value


@dataclass(frozen=True, slots=True)
class Search:
    """A search text, as the store matches it: a USCC prefix (upper case ASCII letters and
    digits) or a part of the name; a full 18-character code matches only that entity."""

    text: str

    @property
    def uscc_like(self) -> bool:
        """Whether the text may be (the start of) a USCC."""
        return self.text.isascii() and self.text.isalnum()

    @property
    def full_uscc(self) -> bool:
        """Whether the text is a whole USCC (matched exactly, never as a name part)."""
        return self.uscc_like and len(self.text) == USCC_LENGTH


@dataclass(frozen=True, slots=True)
class NoticeFilter:
    """The filters of the task and result notices and of the company search."""

    year: int | None = None
    department: str | None = None
    item: str | None = None
    region: str | None = None
    categories: tuple[str, ...] = ()
    """Category codes a result must have one of (the asked one and its sub-categories)."""
    draw: str | None = None
    plan: str | None = None
    search: Search | None = None
    offset: int = 0
    limit: int = DEFAULT_LIMIT

    @property
    def region_prefix(self) -> str | None:
        """The region as a code prefix: `360202` → itself, `360200` → `3602`, `360000` → `36`."""
        if self.region is None:
            return None
        code = self.region
        while code.endswith("00") and len(code) > 2:
            code = code[:-2]
        return code


def _code(field: str, value: str | None) -> str | None:
    v = (value or "").strip()
    if not v:
        return None
    if not CODE.fullmatch(v):
        raise FilterRefused(field, v)
    return v


def search_text(value: str | None) -> Search | None:
    """A search text, trimmed; ASCII letters and digits upper-cased (USCCs are upper case);
    control characters refused; at most `MAX_QUERY` characters."""
    v = (value or "").strip()
    if not v:
        return None
    if len(v) > MAX_QUERY or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in v):
        raise FilterRefused("q", v)
    return Search(v.upper() if v.isascii() and v.isalnum() else v)


def category_codes(table: CategoryTable, code: str) -> tuple[str, ...]:
    """`code` and every category nested under it, in the table's order."""
    if table.by_code.get(code) is None:
        raise FilterRefused("category", code)
    wanted = {code}
    grew = True
    while grew:
        grew = False
        for c in table.all():
            if c.parent in wanted and c.code not in wanted:
                wanted.add(c.code)
                grew = True
    return tuple(c.code for c in table.all() if c.code in wanted)


def notice_filter(
    *,
    year: int | None = None,
    department: str | None = None,
    item: str | None = None,
    region: str | None = None,
    category: str | None = None,
    draw: str | None = None,
    plan: str | None = None,
    q: str | None = None,
    offset: int | None = None,
    limit: int | None = None,
    categories: CategoryTable | None = None,
) -> NoticeFilter:
    """The checked filter; `FilterRefused` names the first value that cannot be right."""
    if year is not None and year not in YEARS:
        raise FilterRefused("year", str(year))
    reg = (region or "").strip() or None
    if reg is not None and not REGION.fullmatch(reg):
        raise FilterRefused("region", reg)
    cat = _code("category", category)
    cats: tuple[str, ...] = ()
    if cat is not None:
        if categories is None:
            raise FilterRefused("category", cat)
        cats = category_codes(categories, cat)
    return NoticeFilter(
        year=year,
        department=_code("department", department),
        item=_code("item", item),
        region=reg,
        categories=cats,
        draw=_code("draw", draw),
        plan=_code("plan", plan),
        search=search_text(q),
        offset=min(max(0, offset or 0), MAX_OFFSET),
        limit=min(max(1, limit or DEFAULT_LIMIT), MAX_LIMIT),
    )
