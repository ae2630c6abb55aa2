"""统一社会信用代码 (USCC), GB 32100-2015: structure and check character.

Layout of the 18 characters:
  1      登记管理部门代码 (registration authority: 1-9, or a letter such as A, N, Y)
  2      机构类别代码 (kind of organisation within that authority)
  3-8    登记管理机关行政区划码 (GB/T 2260 region of the registering office, digits)
  9-17   主体标识码 (organisation code)
  18     校验码 (check character)
The alphabet is 0-9 and A-Z without I, O, S, V, Z (31 characters); character values are their
index in that alphabet. The check character is ALPHABET[(31 - sum(value_i * 3**i mod 31)) % 31].

python-stdnum's `stdnum.cn.uscc.validate` insists that the first eight characters are digits,
which refuses real codes registered by authorities coded with letters (e.g. N… 农业农村部门,
Y… 其他). Here positions 1-2 may be any character of the alphabet, as in the standard.
The region part is *not* checked against today's GB/T 2260 table: it records where the code was
issued, and codes stay valid for life after regions are renamed or merged.
"""

from __future__ import annotations

from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Weights 3**i mod 31 for i = 0..16, as tabulated in the standard.
WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE: Final = {c: i for i, c in enumerate(ALPHABET)}
_DIGITS: Final = frozenset("0123456789")
# Per position, the weighted value of every allowed character (None where not allowed), so
# that validating 5 million codes is 17 dictionary look-ups each and nothing more.
_POSITION_TABLES: Final = tuple(
    {c: (_VALUE[c] * w) for c in (ALPHABET if i < 2 or i >= 8 else "0123456789")}
    for i, w in enumerate(WEIGHTS)
)


def check_character(body: str) -> str:
    """Return the check character for the first 17 characters of a USCC.

    Raises ValueError when `body` is not 17 characters of the USCC alphabet in the right places.
    """
    if len(body) != 17:
        raise ValueError("a USCC body has 17 characters")
    total = 0
    for table, c in zip(_POSITION_TABLES, body, strict=True):
        v = table.get(c)
        if v is None:
            raise ValueError(f"character {c!r} is not allowed here")
        total += v
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> tuple[str, str] | None:
    """Why `code` is not a valid USCC, as (中文, English); None when it is valid.

    The code must already be in canonical form (upper case, no spaces): see `normalise`.
    """
    if len(code) == 18:
        # Fast path, taken by nearly every row of a bulk import: one C-level loop over the
        # position tables; any character not allowed at its place raises KeyError.
        try:
            total = sum(map(dict.__getitem__, _POSITION_TABLES, code))
        except KeyError:
            pass
        else:
            if code[17] == ALPHABET[(31 - total % 31) % 31]:
                return None
    if len(code) != 18:
        return (f"长度应为18位，实际为{len(code)}位", f"must be 18 characters, got {len(code)}")
    total = 0
    for i, (table, c) in enumerate(zip(_POSITION_TABLES, code, strict=False)):
        v = table.get(c)
        if v is None:
            if 2 <= i < 8:
                return (
                    f"第{i + 1}位应为数字（登记管理机关行政区划码）",
                    f"character {i + 1} must be a digit (region of the registering office)",
                )
            return (
                f"第{i + 1}位字符“{c}”不在代码字符集中（不含I、O、S、V、Z）",
                f"character {i + 1} {c!r} is not in the alphabet (0-9, A-Z without I O S V Z)",
            )
        total += v
    expected = ALPHABET[(31 - total % 31) % 31]
    if code[17] != expected:
        return (
            f"校验码错误：应为“{expected}”，实际为“{code[17]}”",
            f"wrong check character: expected {expected!r}, got {code[17]!r}",
        )
    return None


def is_valid(code: str) -> bool:
    """True when `code` is a canonical, valid USCC."""
    return problem(code) is None


def normalise(raw: str) -> str:
    """Canonical form of a USCC as people type it: surrounding spaces stripped, upper case."""
    return raw.strip().upper()


def make(body: str) -> str:
    """Complete a 17-character body with its check character (for generators and tests)."""
    return body + check_character(body)
