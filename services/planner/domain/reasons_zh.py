"""The schema's reasons in Chinese: a pydantic error of a rule file (or a test-case file) said
for policy staff, by the error's `type`, naming the same field and the same values.

Every other reason of the rule-set check is written in Chinese where its English is written
(`checks.py`, `checklists.py`, `holidays.py`, `yamlpos.py`, `ruleset.py`, `casetests.py`); the
validators of `contracts.rules` raise `RuleValueError`, which carries its Chinese (`zh`). What is
left is pydantic's own English ("Field required", "Input should be a valid integer"): this module
says it in Chinese. An error type it does not know keeps pydantic's English after
"取值不符合要求：".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIELD_ZH = {
    "ruleset": "规则集",
    "departments": "部门",
    "department": "部门",
    "risk_classes": "风险分类",
    "risk_class": "风险分类",
    "defaults": "默认值",
    "items": "抽查事项",
    "item": "抽查事项",
    "item_kind": "事项类别",
    "kind": "事项类别（general 一般检查事项 / priority 重点检查事项）",
    "key_supervision": "重点监管",
    "legal_basis": "法律依据",
    "basis": "法律依据",
    "methods": "检查方式",
    "applies_to": "适用对象",
    "industries": "行业代码",
    "checklist": "检查表",
    "question": "检查内容",
    "expects": "合规回答",
    "rules": "规则",
    "effective": "生效期间",
    "from": "生效日期",
    "to": "失效日期",
    "when": "条件",
    "then": "效果",
    "region": "区划代码",
    "set_ratio": "抽查比例",
    "multiply_ratio": "抽查比例倍数",
    "floor_ratio": "抽查比例下限",
    "cap_ratio": "抽查比例上限",
    "ratio": "抽查比例",
    "exclude": "不抽取",
    "require_method": "必须的检查方式",
    "forbid_method": "禁止的检查方式",
    "set_frequency": "抽查频次",
    "frequency": "抽查频次",
    "times": "次数",
    "months": "月数",
    "batch": "检查批次",
    "batches": "检查批次数",
    "size": "每批户数",
    "merge": "联合抽查",
    "group": "联合抽查组",
    "lead": "牵头部门",
    "holidays": "节假日安排",
    "year": "年份",
    "source": "通知名称和文号",
    "breaks": "放假安排",
    "start": "第一个放假日",
    "end": "最后一个放假日",
    "work": "调休上班日",
    "cases": "测试用例",
    "stratum": "分层",
    "expect": "期望结果",
    "n": "候选户数",
    "count": "抽取户数",
    "date": "日期",
    "name": "名称",
    "code": "代码",
}
"""Chinese names of rule-file fields (DESIGN §2 glossary), shown after the field path."""


def field_text(loc: tuple[Any, ...]) -> str:
    """`rules.1.then.cap_ratio（抽查比例上限）`: the path as the English names it, then the
    Chinese name of its last named part (else a space, to set the path off the text after)."""
    path = ".".join(str(p) for p in loc) or "(file)"
    last = next((p for p in reversed(loc) if isinstance(p, str)), None)
    name = FIELD_ZH.get(last) if last is not None else None
    return f"{path}（{name}）" if name else f"{path} "


_PATTERNS_ZH = {
    r"^[A-Za-z0-9._:-]+$": "只能由英文字母、数字和 . _ : - 组成，不能有空格或汉字",
    r"^[A-Za-z0-9._-]+$": "只能由英文字母、数字和 . _ - 组成，不能有空格或汉字",
    r"^\d{6}$": "应为6位区划代码，如 360202",
    r"^\d{2,6}$": "应为2到6位数字的区划代码（或其前几位），如 36、3602、360202",
    r"^[A-Z](\d{1,4})?$": "应为行业代码：一个大写字母，可加1到4位数字，如 C、F52",
}
"""The schema's patterns said in words (the regular expression is kept after them)."""


def _choices(expected: object) -> str:
    return str(expected).replace(" or ", "、").replace(", ", "、").replace("'", "")


def shape_zh(err: Mapping[str, Any]) -> str:
    """One pydantic error of a rule file in Chinese, naming its field."""
    loc = tuple(err.get("loc", ()))
    field = field_text(loc)
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    zh = getattr(ctx.get("error"), "zh", None)
    if kind == "value_error" and zh:
        return f"{field.rstrip()}：{zh}"
    if kind == "missing":
        return f"缺少必填字段 {field.rstrip()}"
    if kind == "extra_forbidden":
        return f"不认识的字段 {field.rstrip()}：这里不能写它（可能拼错了，或写错了位置）"
    if kind == "string_type":
        return f"{field}应为文本"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{field}应为整数"
    if kind in ("bool_type", "bool_parsing"):
        return f"{field}应为 true 或 false"
    if kind == "list_type":
        return f"{field}应为列表（每项一行，以“- ”开头）"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{field}应为“字段: 值”的映射"
    if kind in ("literal_error", "enum"):
        return f"{field}的取值应为 {_choices(ctx.get('expected'))} 之一"
    if kind == "greater_than_equal":
        return f"{field}不能小于 {ctx.get('ge')}"
    if kind == "greater_than":
        return f"{field}应大于 {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"{field}不能大于 {ctx.get('le')}"
    if kind == "less_than":
        return f"{field}应小于 {ctx.get('lt')}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        words = _PATTERNS_ZH.get(pattern)
        if words:
            return f"{field}的写法不对：{words}（{pattern}）"
        return f"{field}的写法不符合格式要求（{pattern}）"
    if kind in (
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    ):
        return f"{field}应为日期，写成 2026-01-01 这样的格式"
    if kind == "string_too_short":
        return (
            f"{field}不能为空"
            if ctx.get("min_length") == 1
            else (f"{field}至少要有 {ctx.get('min_length')} 个字符")
        )
    if kind == "string_too_long":
        return f"{field}最多 {ctx.get('max_length')} 个字符"
    if kind == "too_short":
        return f"{field}至少要有 {ctx.get('min_length')} 项"
    if kind == "too_long":
        return f"{field}最多 {ctx.get('max_length')} 项"
    return f"{field.rstrip()}：取值不符合要求：{msg}"
