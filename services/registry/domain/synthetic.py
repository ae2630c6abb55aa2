"""Realistic synthetic directories for tests and benchmarks (`spotcheck registry generate`).

Rows are written to a text stream as they are made, so 5 million entities need no more memory
than a handful. Every USCC is valid and unique, every region and industry code is real; the mix
of entity types, statuses, risk classes and tags is shaped like a province's register. A `bad`
share of rows is made invalid on purpose (wrong check character, unknown code, bad date,
duplicate USCC …) to exercise the rejects path. The same seed gives the same files.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, TextIO

from services.registry.domain import uscc as uscc_mod
from services.registry.domain.codes import Code, counties_in, industries, regions
from services.registry.domain.rows import ENTITY_FIELDS, INSPECTOR_FIELDS

_BODY_SPACE: Final = 31**7
# Multiplying a counter by a number coprime with 31**7 permutes the space: codes look random
# but can never repeat.
_SPREAD: Final = 1_000_000_007
_ALPHA: Final = uscc_mod.ALPHABET

# Share of entities per GB/T 4754 section (门类), per mille; the rest is spread evenly.
_SECTION_WEIGHTS: Final = {
    "F": 380,
    "H": 110,
    "C": 120,
    "L": 70,
    "O": 70,
    "A": 50,
    "I": 30,
    "E": 40,
    "M": 30,
    "G": 30,
    "K": 15,
    "R": 15,
    "P": 10,
    "Q": 10,
    "N": 5,
    "D": 5,
    "J": 5,
    "B": 5,
}
_TYPES: Final = (("企业", 91, 400), ("个体工商户", 92, 560), ("农民专业合作社", 93, 25))
_STATUSES: Final = (
    ("存续", 860),
    ("在业", 30),
    ("吊销", 45),
    ("注销", 45),
    ("迁出", 10),
    ("停业", 5),
    ("清算", 5),
)
_RISK: Final = (("A", 200), ("B", 540), ("C", 190), ("D", 40), ("", 30))
# The mixes other generators (the demo county) reuse: registration statuses and risk classes
# with their weights per thousand entities.
STATUS_WEIGHTS: Final = _STATUSES
RISK_WEIGHTS: Final = _RISK
_LICENCES: Final = {
    "F": ("食品经营", "药品经营", "医疗器械经营", "化妆品经营", "网络交易"),
    "H": ("食品经营", "特种设备使用"),
    "C": ("食品生产", "工业产品生产许可", "特种设备使用", "计量器具使用"),
    "L": ("广告发布",),
    "O": ("特种设备使用",),
    "I": ("网络交易",),
}
_FREE_LABELS: Final = ("小微企业", "连锁经营", "农村市场", "旅游景区", "校园周边", "个转企")
_KEY: Final = ("食品生产", "药品", "特种设备", "危险化学品", "医疗器械")
_NAME_PARTS: Final = tuple("华兴盛达恒鑫瑞祥德信新宏丰源明泰安昌景瓷赣红绿青云山江湖金")
_SURNAMES: Final = (
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 高 钟 曾 邱 熊 谢".split()
)
_GIVEN: Final = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华辉斌鹏宇婷雪")
_ROADS: Final = "人民 解放 建设 中山 胜利 新华 珠山 昌江 迎宾 滨江 光明 朝阳".split()
_DEPARTMENTS: Final = (
    "综合执法",
    "食品安全监督",
    "特种设备安全监察",
    "计量与标准化",
    "价格监督检查",
    "网络交易监督",
    "广告监督管理",
)
_EXPERTISE: Final = (
    "食品",
    "特种设备",
    "计量",
    "价格",
    "广告",
    "网络交易",
    "药品",
    "化妆品",
    "工业产品",
)


@dataclass(frozen=True)
class Counts:
    """What a generator run wrote."""

    rows: int
    bad: int


def _weighted(rng: random.Random, items: list[str], weights: list[int]) -> Callable[[], str]:
    cum: list[int] = []
    total = 0
    for w in weights:
        total += w
        cum.append(total)
    choices = rng.choices

    def pick() -> str:
        return choices(items, cum_weights=cum)[0]

    return pick


def _province_counties(province: str | None) -> list[str]:
    prefix = province or ""
    counties = counties_in(prefix)
    if not counties:
        raise ValueError(f"no counties for province prefix {province!r}")
    return counties


def _industry_picker(rng: random.Random) -> Callable[[], str]:
    classes = industries().at_level("class")
    codes = [c.code for c in classes]
    weights = []
    per_section: dict[str, int] = {}
    for c in classes:
        per_section[c.code[0]] = per_section.get(c.code[0], 0) + 1
    for c in classes:
        w = _SECTION_WEIGHTS.get(c.code[0], 2)
        # spread a section's share over its classes (x1000 keeps integers meaningful)
        weights.append(max(1, w * 1000 // per_section[c.code[0]]))
    return _weighted(rng, codes, weights)


def entity_uscc(kind: int, region: str, serial: int) -> str:
    """A valid USCC for the `serial`-th synthetic entity (unique per serial below 31**7)."""
    n = (serial * _SPREAD) % _BODY_SPACE
    chars = []
    for _ in range(7):
        n, r = divmod(n, 31)
        chars.append(_ALPHA[r])
    return uscc_mod.make(f"{kind}{region}MA{''.join(chars)}")


def write_entities(
    out: TextIO,
    count: int,
    *,
    province: str | None = "36",
    bad: float = 0.0,
    seed: int = 2026,
    on_progress: Callable[[int], None] | None = None,
) -> Counts:
    """Write `count` entity rows (CSV with header, UTF-8) to `out`."""
    rng = random.Random(seed)
    counties = _province_counties(province)
    table = regions()
    place = {c: _place_name(table.by_code, c) for c in counties}
    pick_industry = _industry_picker(rng)
    pick_status = _weighted(rng, [s for s, _ in _STATUSES], [w for _, w in _STATUSES])
    pick_risk = _weighted(rng, [s for s, _ in _RISK], [w for _, w in _RISK])
    type_names = [t for t, _, _ in _TYPES]
    kind_of = {t: k for t, k, _ in _TYPES}
    pick_type = _weighted(rng, type_names, [w for _, _, w in _TYPES])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ENTITY_FIELDS)
    start = date(1990, 1, 1).toordinal()
    span = date(2025, 12, 31).toordinal() - start
    risk_start = date(2024, 1, 1).toordinal()
    rand = rng.random
    randrange = rng.randrange
    choice = rng.choice
    bad_rows = 0
    previous = ""
    for i in range(count):
        region = choice(counties)
        etype = pick_type()
        industry = pick_industry()
        code = entity_uscc(kind_of[etype], region, i)
        section = industry[0]
        head = choice(_NAME_PARTS) + choice(_NAME_PARTS)
        if etype == "个体工商户":
            name = f"{place[region]}{head}{industries().by_code[industry].name[:4]}店"
        elif etype == "农民专业合作社":
            name = f"{place[region]}{head}种养专业合作社"
        else:
            name = f"江西{head}{industries().by_code[industry].name[:4]}有限公司"
        risk = pick_risk()
        tags: list[str] = []
        licences = _LICENCES.get(section)
        if licences and rand() < 0.6:
            tags.append(choice(licences))
        if rand() < 0.15:
            tags.append(choice(_FREE_LABELS))
        key = choice(_KEY) if rand() < 0.02 else ""
        row = [
            code,
            name,
            etype,
            region,
            industry,
            pick_status(),
            "1" if rand() < 0.05 else "0",
            risk,
            date.fromordinal(risk_start + randrange(700)).isoformat() if risk else "",
            ";".join(tags),
            key,
            f"{place[region]}{choice(_ROADS)}路{randrange(1, 999)}号",
            date.fromordinal(start + randrange(span)).isoformat(),
        ]
        if bad and rand() < bad:
            _spoil_entity(rng, row, previous)
            bad_rows += 1
        previous = code
        writer.writerow(row)
        if on_progress is not None and (i + 1) % 100_000 == 0:
            on_progress(i + 1)
    return Counts(count, bad_rows)


def _place_name(by_code: dict[str, Code], code: str) -> str:
    return by_code[code].name


def _spoil_entity(rng: random.Random, row: list[str], previous: str) -> None:
    how = rng.randrange(7)
    if how == 0:  # wrong check character
        c = row[0][17]
        row[0] = row[0][:17] + ("0" if c != "0" else "1")
    elif how == 1:
        row[3] = "999999"
    elif how == 2:
        row[4] = "Z9999"
    elif how == 3:
        row[12] = "2020-13-45"
    elif how == 4:
        row[7], row[8] = "Z", "2025-01-01"
    elif how == 5:
        row[1] = ""
    elif previous:  # duplicate USCC within the file
        row[0] = previous
    else:
        row[2] = "未知类型"


_RECUSAL_WORDS = ("近亲属", "曾任职", "持股", "其他")


def write_inspectors(
    out: TextIO,
    count: int,
    *,
    province: str | None = "36",
    bad: float = 0.0,
    seed: int = 2026,
    recusal_pool: list[str] | None = None,
) -> Counts:
    """Write `count` inspector rows (CSV with header, UTF-8) to `out`."""
    rng = random.Random(seed + 1)
    counties = _province_counties(province)
    table = regions()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INSPECTOR_FIELDS)
    pool = recusal_pool or []
    bad_rows = 0
    for i in range(count):
        home = rng.choice(counties)
        served = [home, *rng.sample(counties, k=min(len(counties), rng.randrange(0, 3)))]
        served = list(dict.fromkeys(served))
        department = f"{_place_name(table.by_code, home)}市场监督管理局{rng.choice(_DEPARTMENTS)}科"
        status = rng.choices(["active", "on_leave", "retired"], weights=[90, 6, 4])[0]
        recusals = rng.sample(pool, k=min(len(pool), rng.randrange(0, 3))) if pool else []
        # about half of the declarations say why (近亲属, 曾任职, …)
        recusals = [
            f"{u}:{rng.choice(_RECUSAL_WORDS)}" if rng.random() < 0.5 else u for u in recusals
        ]
        row = [
            f"{(province or 'CN')}{i:06d}",
            rng.choice(_SURNAMES)
            + rng.choice(_GIVEN)
            + (rng.choice(_GIVEN) if rng.random() < 0.6 else ""),
            department,
            ";".join(served),
            f"{(province or '00')}{rng.randrange(10**9, 10**10)}",
            (date(2026, 1, 1) + timedelta(days=rng.randrange(1800))).isoformat(),
            ";".join(rng.sample(_EXPERTISE, k=rng.randrange(1, 4))),
            status,
            str(rng.randrange(20, 81)),
            ";".join(recusals),
        ]
        if bad and rng.random() < bad:
            how = rng.randrange(3)
            if how == 0:
                row[3] = "999999"
            elif how == 1:
                row[5] = "not-a-date"
            else:
                row[9] = "91360202MA35000000"
            bad_rows += 1
        writer.writerow(row)
    return Counts(count, bad_rows)
