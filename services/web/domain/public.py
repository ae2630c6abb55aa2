"""The public site's (一公开) small decisions, pure: paging, what a search text is, how codes
are written for people (ratios, stratum ids), what text from the directories may show, where a
preference link may send the visitor back to, and the validators caches compare.

Names come from the registry's import files, so anything may be in them. The templates escape
HTML (Jinja2 autoescape); `display_text` also takes out what HTML escaping leaves alone: control
characters and the Unicode direction marks that make "公司\u202egnp.exe" read backwards.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PAGE_SIZE = 20
MAX_PAGE = 5000
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC = re.compile(f"[{USCC_ALPHABET}]{{18}}", re.ASCII)
STRATUM_ID = re.compile(r"[A-Za-z0-9._:-]+", re.ASCII)
# C0 and C1 controls, and the bidirectional embeddings, overrides and isolates (and the marks
# that only steer them): never shown, whatever the data says.
HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TEXT_SIZES = ("normal", "large")


def display_text(value: object) -> str:
    """Text from the data as a page shows it: control and direction characters removed (HTML
    escaping is the template's)."""
    if value is None:
        return ""
    return HIDDEN.sub("", str(value))


def is_uscc(text: str) -> bool:
    """Whether `text` has the shape of a unified social credit code (18 characters of its
    alphabet, upper case)."""
    return bool(USCC.fullmatch(text))


def search_text(raw: str | None, *, limit: int = 50) -> str:
    """What a visitor typed into the search box, as the search takes it: hidden characters
    removed, trimmed, a code upper-cased, at most `limit` characters."""
    text = display_text(raw or "").strip()[:limit]
    return text.upper() if text.isascii() and text.isalnum() else text


@dataclass(frozen=True, slots=True)
class Pager:
    """Page `number` (1-based) of `total` rows, `size` a page."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        """The first row of this page (0-based)."""
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max(1, -(-self.total // self.size))

    @property
    def previous(self) -> int | None:
        """The page before, if any."""
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        """The page after, if any."""
        return self.number + 1 if self.number < self.pages else None

    @property
    def first_row(self) -> int:
        """The 1-based number of this page's first row (0 when there is none)."""
        return min(self.offset + 1, self.total) if self.total else 0

    @property
    def last_row(self) -> int:
        """The 1-based number of this page's last row."""
        return min(self.offset + self.size, self.total)

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and `around` either side of this one;
        None where numbers are left out (shown as …)."""
        keep = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        shown = sorted(n for n in keep if 1 <= n <= self.pages)
        out: list[int | None] = []
        for n in shown:
            if out and out[-1] is not None and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out


def page_number(raw: str | int | None) -> int:
    """A page number from a URL: anything that is not 1..MAX_PAGE is page 1."""
    try:
        n = int(raw or 1)
    except (TypeError, ValueError):
        return 1
    return n if 1 <= n <= MAX_PAGE else 1


def year_of(raw: str | int | None, *, default: int | None = None) -> int | None:
    """A year from a URL (2000..2100), else `default`."""
    try:
        n = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return default
    return n if n is not None and 2000 <= n <= 2100 else default


def ratio(bp: int | None) -> str:
    """Basis points as a percentage, exactly (`25` → `0.25%`, `500` → `5%`)."""
    if bp is None:
        return ""
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


@dataclass(frozen=True, slots=True)
class StratumName:
    """What a plan's stratum id says (`2026.SCJG-002.A.360202`): year, item, risk class and
    region; `joint` for a joint inspection's stratum (`2026.SW-002:joint.360281`)."""

    year: str
    item: str
    risk_class: str
    region: str
    joint: bool


def stratum_name(stratum_id: str) -> StratumName | None:
    """The parts of a stratum id of the usual shape, or None (only the character set of a
    stratum id is normative: any other shape is shown as it is)."""
    parts = stratum_id.split(".")
    if len(parts) == 4 and parts[0].isdigit():
        return StratumName(parts[0], parts[1], parts[2], parts[3], joint=False)
    if len(parts) == 3 and parts[0].isdigit() and parts[1].endswith(":joint"):
        return StratumName(parts[0], parts[1].removesuffix(":joint"), "", parts[2], joint=True)
    return None


def back_to(raw: str | None) -> str:
    """Where a preference link may send the visitor back to: a path of this site, else `/`."""
    text = (raw or "").strip()
    parts = urlsplit(text)
    if (
        not text.startswith("/")
        or text.startswith("//")
        or "\\" in text
        or parts.scheme
        or parts.netloc
        or HIDDEN.search(text)
    ):
        return "/"
    return text


def text_size(raw: str | None) -> str:
    """A text size preference: `large` (适老化) or `normal`."""
    return raw if raw in TEXT_SIZES else "normal"


def etag(body: bytes, *, weak: bool = True) -> str:
    """A validator of these bytes (SHA-256, shortened): weak for pages, whose bytes are one
    rendering of the same facts; strong for files served byte for byte."""
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    return f"W/{tag}" if weak else tag


def matches_etag(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names this validator (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in if_none_match.split(","))


def year_tasks(
    tasks: Sequence[Mapping[str, Any]], year: int
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """A company's tasks of `year` (by plan year or period start): those drawn at random (not
    merged into another visit), and its triggered checks (触发检查), which were not drawn."""
    of_year = [
        t
        for t in tasks
        if t.get("plan_year") == year or str(t["period_start"]).startswith(str(year))
    ]
    drawn = [
        t for t in of_year if t.get("kind", "random") == "random" and t["progress"] != "merged"
    ]
    return drawn, [t for t in of_year if t.get("kind") == "triggered"]
