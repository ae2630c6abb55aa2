"""The demo county: 昌江区 (360202, 景德镇市), its entity directory and inspector roster.

The files match the shipped rules, so that every item of the catalogue has entities to draw and
inspectors who can check them: tags are the ones the items' `applies_to` name (网络经营,
排污许可, 特种设备), departments are the rule set's department codes (SCJG, SW, STHJ), and each
inspector's expertise comes from the items of his or her department. Industries lean to what
昌江区 is (porcelain: GB/T 4754 C307x 陶瓷制品制造) on top of a county's usual retail and catering.

`spotcheck registry generate` spreads a province's register over many counties and uses labels
of its own; this module reuses its pure parts (valid, unique USCCs; the GB/T 2260 and 4754
tables) and writes one county. Rows are streamed; the same seed gives the same files, and the
first N rows of a larger run equal a run of N rows.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, TextIO

from services.registry.library import (
    ENTITY_FIELDS,
    INSPECTOR_FIELDS,
    entity_uscc,
    industries,
    regions,
    synthetic,
)

REGION: Final = "360202"
NEIGHBOUR: Final = "360203"  # 珠山区: a few inspectors also serve it (cross-region teams)
SEED: Final = 2026

# Per mille of entities per GB/T 4754 section; C is mostly porcelain (see _CERAMICS_SHARE).
_SECTION_WEIGHTS: Final = {
    "F": 360,
    "C": 150,
    "H": 120,
    "L": 60,
    "O": 60,
    "A": 40,
    "E": 40,
    "I": 30,
    "M": 30,
    "G": 30,
    "K": 15,
    "R": 20,
    "P": 10,
    "Q": 10,
    "N": 5,
    "D": 5,
    "J": 5,
}
_CERAMICS_SHARE: Final = 0.55  # of manufacturing entities
_TYPES: Final = (("企业", 91, 400), ("个体工商户", 92, 570), ("农民专业合作社", 93, 30))
_STATUSES: Final = synthetic.STATUS_WEIGHTS
_RISK: Final = synthetic.RISK_WEIGHTS
_FREE_LABELS: Final = ("小微企业", "连锁经营", "个转企", "旅游景区", "校园周边")
_NAME_PARTS: Final = tuple("华兴盛达恒鑫瑞祥德信新宏丰源明泰安昌景瓷窑青花玲珑粉彩釉")
_SURNAMES: Final = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高钟曾邱熊谢余程汪")
_GIVEN: Final = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华辉斌鹏宇婷雪")
_ROADS: Final = ("新厂", "昌江大道", "瓷都大道", "里村", "西市", "丽阳", "鲇鱼山", "荷塘", "吕蒙")
# Shares of the roster per department (the rest goes to the first).
_DEPARTMENT_SHARES: Final = {"SCJG": 0.6, "SW": 0.2, "STHJ": 0.2}
_DEPARTMENT_NAMES: Final = {
    "SCJG": "昌江区市场监督管理局",
    "SW": "国家税务总局景德镇市昌江区税务局",
    "STHJ": "景德镇市生态环境局昌江分局",
}


@dataclass(frozen=True)
class CountyCounts:
    """What was written: entities and inspectors, and expertise left out for the registry."""

    entities: int
    inspectors: int
    per_department: Mapping[str, int]
    dropped_expertise: tuple[str, ...]


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> Callable[[], str]:
    items = [p[0] for p in pairs]
    cum: list[int] = []
    total = 0
    for _, w in pairs:
        total += w
        cum.append(total)

    def pick() -> str:
        return rng.choices(items, cum_weights=cum)[0]

    return pick


def _industry_picker(rng: random.Random) -> Callable[[], str]:
    classes = industries().at_level("class")
    per_section: dict[str, list[str]] = {}
    for c in classes:
        per_section.setdefault(c.code[0], []).append(c.code)
    pick_section = _weighted(rng, [(s, w) for s, w in _SECTION_WEIGHTS.items() if s in per_section])
    ceramics = [c for c in per_section["C"] if c.startswith("C307")]

    def pick() -> str:
        section = pick_section()
        if section == "C" and rng.random() < _CERAMICS_SHARE:
            return rng.choice(ceramics)
        return rng.choice(per_section[section])

    return pick


def _tags(rng: random.Random, section: str, etype: str) -> list[str]:
    """Labels the shipped items' `applies_to` use, with realistic shares per section."""
    tags: list[str] = []
    if section in ("F", "I") and rng.random() < 0.25:
        tags.append("网络经营")
    if section == "C" and etype != "个体工商户" and rng.random() < 0.35:
        tags.append("排污许可")
    if section in ("C", "H", "O") and rng.random() < 0.06:
        tags.append("特种设备")
    if rng.random() < 0.12:
        tags.append(rng.choice(_FREE_LABELS))
    return tags


def _key_supervision(rng: random.Random, industry: str) -> str:
    """The key-supervision field (重点监管领域) of an entity: empty for most."""
    if industry[:3] in ("C13", "C14", "C15") and rng.random() < 0.6:
        return "食品生产"
    if industry[:3] in ("F52", "H62") and rng.random() < 0.03:
        return "食品经营"
    if industry.startswith("C26") and rng.random() < 0.3:
        return "危险化学品"
    return ""


def write_entities(out: TextIO, count: int, *, seed: int = SEED) -> int:
    """Write `count` entities of 昌江区 (CSV with header, UTF-8); returns the rows written."""
    rng = random.Random(seed)
    table = industries()
    place = regions().by_code[REGION].name
    pick_industry = _industry_picker(rng)
    pick_status = _weighted(rng, _STATUSES)
    pick_risk = _weighted(rng, _RISK)
    pick_type = _weighted(rng, [(t, w) for t, _, w in _TYPES])
    kind_of = {t: k for t, k, _ in _TYPES}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ENTITY_FIELDS)
    start = date(1995, 1, 1).toordinal()
    span = date(2025, 12, 31).toordinal() - start
    risk_start = date(2025, 1, 1).toordinal()
    for i in range(count):
        etype = pick_type()
        industry = pick_industry()
        section = industry[0]
        head = rng.choice(_NAME_PARTS) + rng.choice(_NAME_PARTS)
        trade = table.by_code[industry].name[:4]
        if etype == "个体工商户":
            name = f"景德镇市{place}{head}{trade}店"
        elif etype == "农民专业合作社":
            name = f"景德镇市{place}{head}种养专业合作社"
        else:
            name = f"景德镇{head}{trade}有限公司"
        risk = pick_risk()
        writer.writerow(
            [
                entity_uscc(kind_of[etype], REGION, i),
                name,
                etype,
                REGION,
                industry,
                pick_status(),
                "1" if rng.random() < 0.04 else "0",
                risk,
                date.fromordinal(risk_start + rng.randrange(300)).isoformat() if risk else "",
                ";".join(_tags(rng, section, etype)),
                _key_supervision(rng, industry),
                f"江西省景德镇市{place}{rng.choice(_ROADS)}路{rng.randrange(1, 999)}号",
                date.fromordinal(start + rng.randrange(span)).isoformat(),
            ]
        )
    return count


def department_sizes(count: int, departments: Sequence[str]) -> dict[str, int]:
    """How many of `count` inspectors each department gets (every department at least 2)."""
    sizes = {d: max(2, int(count * _DEPARTMENT_SHARES.get(d, 0.1))) for d in departments}
    first = departments[0]
    sizes[first] = max(2, count - sum(v for d, v in sizes.items() if d != first))
    return sizes


def write_inspectors(
    out: TextIO,
    count: int,
    *,
    expertise: Mapping[str, Sequence[str]],
    accepted_expertise: frozenset[str] | None = None,
    recusal_pool: Sequence[str] = (),
    seed: int = SEED,
) -> CountyCounts:
    """Write about `count` inspectors of the departments in `expertise` (department code →
    the expertise its items need). Expertise the registry does not accept
    (`accepted_expertise`) is left out and reported."""
    rng = random.Random(seed + 1)
    departments = list(expertise)
    sizes = department_sizes(count, departments)
    wanted = {x for xs in expertise.values() for x in xs}
    dropped = sorted(wanted - accepted_expertise) if accepted_expertise is not None else []
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INSPECTOR_FIELDS)
    written = 0
    for dept in departments:
        needs = [x for x in expertise[dept] if x not in dropped]
        for n in range(sizes[dept]):
            served = [REGION] + ([NEIGHBOUR] if rng.random() < 0.2 else [])
            # Most inspectors know most of their department's fields; a few are specialists.
            known = [x for x in needs if rng.random() < 0.8] or needs[:1]
            status = rng.choices(["active", "on_leave", "retired"], weights=[92, 5, 3])[0]
            expiry = date(2027, 1, 1) + timedelta(days=rng.randrange(1400))
            if rng.random() < 0.04:  # an expired certificate: never drawn
                expiry = date(2026, 6, 30)
            recusals = (
                rng.sample(list(recusal_pool), k=min(len(recusal_pool), rng.randrange(0, 3)))
                if recusal_pool and rng.random() < 0.3
                else []
            )
            writer.writerow(
                [
                    f"CJ-{dept}-{n + 1:03d}",
                    rng.choice(_SURNAMES)
                    + rng.choice(_GIVEN)
                    + (rng.choice(_GIVEN) if rng.random() < 0.6 else ""),
                    dept,
                    ";".join(served),
                    f"赣{REGION}{dept}{rng.randrange(10**6, 10**7)}",
                    expiry.isoformat(),
                    ";".join(known),
                    status,
                    str(rng.randrange(30, 61)),
                    ";".join(recusals),
                ]
            )
            written += 1
    return CountyCounts(
        entities=0, inspectors=written, per_department=sizes, dropped_expertise=tuple(dropped)
    )


def department_name(code: str) -> str:
    """The full name of a demo department (for display)."""
    return _DEPARTMENT_NAMES.get(code, code)


def first_usccs(path: Path, n: int) -> list[str]:
    """The USCCs of the first `n` entities of a written file (recusal candidates)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [row[0] for _, row in zip(range(n), reader, strict=False)]


def describe_files(entities: Path, inspectors: Path) -> dict[str, Any]:
    """Counts of what the files hold, for the summary."""
    types: Counter[str] = Counter()
    risk: Counter[str] = Counter()
    n = 0
    with entities.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            n += 1
            types[row["entity_type"]] += 1
            risk[row["risk_class"] or "未分类"] += 1
    depts: Counter[str] = Counter()
    m = 0
    with inspectors.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            m += 1
            depts[row["department"]] += 1
    mix = ", ".join(f"{k} {v:,}" for k, v in types.most_common())
    mix += "; risk " + " ".join(f"{k} {v:,}" for k, v in sorted(risk.items()))
    return {
        "entities": n,
        "inspectors": m,
        "mix": mix,
        "departments": ", ".join(f"{k} {v}" for k, v in depts.items()),
    }
