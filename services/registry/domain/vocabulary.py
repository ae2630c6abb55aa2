"""The vocabularies rows are checked against: header aliases, entity types, statuses, risk
classes (configuration: A–D by default, A–E in some provinces), inspector expertise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

# Column headers as Chinese spreadsheets write them, mapped to field names.
HEADER_ALIASES: Final = {
    "统一社会信用代码": "uscc",
    "名称": "name",
    "企业名称": "name",
    "主体类型": "entity_type",
    "市场主体类型": "entity_type",
    "区划代码": "region_code",
    "行政区划代码": "region_code",
    "行业代码": "industry_code",
    "国民经济行业代码": "industry_code",
    "登记状态": "status",
    "经营异常名录": "abnormal",
    "信用风险分类": "risk_class",
    "风险分类日期": "risk_class_date",
    "标签": "tags",
    "重点监管": "key_supervision",
    "地址": "address",
    "住所": "address",
    "成立日期": "established",
    "工号": "inspector_id",
    "姓名": "name",
    "部门": "department",
    "所属部门": "department",
    "负责区域": "region_codes",
    "执法证号": "certificate_no",
    "执法证有效期": "certificate_expiry",
    "专业领域": "expertise",
    "状态": "status",
    "人员状态": "status",
    "承载量": "capacity",
    "回避": "recusal_usccs",
    "回避声明": "recusal_usccs",
    "recusals": "recusal_usccs",
}

# Why an inspector is kept off an entity (回避事由): the code stored, and the words accepted for
# it after the USCC ("USCC:近亲属", "USCC：曾任职", or the code itself).
RECUSAL_RELATIONS: Final = {
    "declared": ("申报回避", ("申报", "申报回避")),
    "relative": ("近亲属在该单位任职或持股", ("近亲属", "亲属", "近亲属任职")),
    "former_employee": ("曾在该单位任职", ("曾任职", "曾在该单位任职", "原单位")),
    "interest": ("本人持股或有其他经济利益", ("持股", "经济利益", "利益")),
    "other": ("其他利害关系", ("其他", "其他利害关系")),
}

DEFAULT_RISK_CLASSES: Final = ("A", "B", "C", "D")
DEFAULT_ENTITY_TYPES: Final = (
    "企业",
    "个体工商户",
    "农民专业合作社",
    "外商投资企业",
    "分支机构",
    "其他",
)
DEFAULT_STATUSES: Final = ("存续", "在业", "停业", "清算", "吊销", "注销", "迁出", "撤销")
DEFAULT_EXPERTISE: Final = (
    "食品",
    "特种设备",
    "计量",
    "价格",
    "广告",
    "网络交易",
    "药品",
    "医疗器械",
    "化妆品",
    "工业产品",
    "标准化",
    "认证认可",
    "知识产权",
    "登记注册",
    "合同",
    "反不正当竞争",
    "消费者权益",
    # The names the shipped item catalogue (rules/items-*.yaml) requires; a test keeps the two
    # in step, so that every item of the shipped rules can be staffed.
    "产品质量",
    "广告监管",
    "网络交易监管",
    "食品安全",
    "税收征管",
    "发票管理",
    "环境执法",
    "环境影响评价",
)
# Key-supervision labels (重点监管领域, the `key_supervision` column). Labels are free text on
# import (a province may name more), but an item's `key_supervision` in the rule files matches
# them exactly: these are the spellings the shipped catalogue, the demo county and the
# synthetic generator share (a test keeps them in step).
KEY_SUPERVISION_LABELS: Final = (
    "食品生产",
    "食品经营",
    "药品",
    "医疗器械",
    "化妆品",
    "特种设备",
    "危险化学品",
)
INSPECTOR_STATUSES: Final = {
    "active": "active",
    "在岗": "active",
    "在职": "active",
    "on_leave": "on_leave",
    "休假": "on_leave",
    "离岗": "on_leave",
    "retired": "retired",
    "退休": "retired",
    "离职": "retired",
}


@dataclass(frozen=True)
class Vocabulary:
    """The configurable sets rows are checked against (risk classes A–D by default, A–E…)."""

    risk_classes: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_RISK_CLASSES))
    entity_types: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_ENTITY_TYPES))
    statuses: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_STATUSES))
    expertise: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_EXPERTISE))
