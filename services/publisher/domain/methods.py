"""Check methods (检查方式): the codes of the rule files and the names inspectors use.

The notice names 实地核查、书面检查、网络监测 and 委托检验检测; the rule files and every task
carry the codes of `contracts.rules.Method`. A result may give either; the publisher keeps and
publishes the code, so that "was this method allowed for this task?" compares like with like.
"""

from __future__ import annotations

from contracts.rules import Method

NAMES: dict[str, Method] = {
    "实地核查": Method.ON_SITE,
    "实地检查": Method.ON_SITE,
    "现场检查": Method.ON_SITE,
    "书面检查": Method.DOCUMENTS,
    "书面核查": Method.DOCUMENTS,
    "网络监测": Method.ONLINE,
    "网络检查": Method.ONLINE,
    "委托检验检测": Method.COMMISSIONED,
    "检验检测": Method.COMMISSIONED,
}
NAMES_ZH: dict[Method, str] = {
    Method.ON_SITE: "实地核查",
    Method.DOCUMENTS: "书面检查",
    Method.ONLINE: "网络监测",
    Method.COMMISSIONED: "委托检验检测",
}


def resolve(value: str) -> Method | None:
    """The method a submitted code or name stands for, or None when it is none of them."""
    text = value.strip()
    try:
        return Method(text.lower())
    except ValueError:
        return NAMES.get(text)


def describe(codes: tuple[str, ...]) -> tuple[str, str]:
    """Codes as an English and a Chinese list, for reasons ("documents, online" / "书面检查、…")."""
    known = {m.value: m for m in Method}
    zh = [NAMES_ZH[known[c]] if c in known else c for c in codes]
    return ", ".join(codes), "、".join(zh)
