"""How a 互联网+监管 catalogue export names its columns and writes its codes: `ExportMapping`.

The default (`DEFAULT_MAPPING`) is what the public 互联网+监管 item lists show; a province whose
export differs writes a mapping file in the platforms' shared format (`deploy/platforms/
hlwjg.yaml`, direction inbound, record `catalogue_item`), checked against `VOCABULARY` with
every error's file and line, and `export_mapping` turns it into an `ExportMapping`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts.rules import ItemKind, Method
from services.kit.mapping import LoadedMapping, MappingError, MappingInvalid, Vocabulary

FIELDS = ("code", "name", "department", "kind", "methods", "legal_basis")
REQUIRED = ("code", "name", "department", "legal_basis")
FIELD_ZH = {
    "code": "事项编码",
    "name": "事项名称",
    "department": "实施部门",
    "kind": "检查类别",
    "methods": "检查方式",
    "legal_basis": "设定依据",
}


@dataclass(frozen=True)
class ExportMapping:
    """How an export names an item's fields and writes its code lists.

    `fields`: our field → the export's column (CSV header) or key (JSON). `kinds` and `methods`:
    the export's words → our codes. `departments`: the export's 实施部门 → a department code
    (the rule set's codes and names are understood without it). `records`: the JSON key holding
    the list of items when the file is an object (a bare list needs none)."""

    fields: Mapping[str, str]
    kinds: Mapping[str, ItemKind] = field(default_factory=dict)
    methods: Mapping[str, Method] = field(default_factory=dict)
    departments: Mapping[str, str] = field(default_factory=dict)
    records: tuple[str, ...] = ("items", "data", "rows", "list")


DEFAULT_MAPPING = ExportMapping(
    fields=dict(FIELD_ZH),  # the public lists head their columns with the fields' own names
    kinds={
        "一般检查事项": ItemKind.GENERAL,
        "一般事项": ItemKind.GENERAL,
        "一般": ItemKind.GENERAL,
        "重点检查事项": ItemKind.PRIORITY,
        "重点事项": ItemKind.PRIORITY,
        "重点": ItemKind.PRIORITY,
    },
    methods={
        "现场检查": Method.ON_SITE,
        "实地检查": Method.ON_SITE,
        "实地核查": Method.ON_SITE,
        "书面检查": Method.DOCUMENTS,
        "书面核查": Method.DOCUMENTS,
        "网络监测": Method.ONLINE,
        "网络检查": Method.ONLINE,
        "网上核查": Method.ONLINE,
        "委托检验检测": Method.COMMISSIONED,
        "委托检测": Method.COMMISSIONED,
        "委托审计": Method.COMMISSIONED,
        "专业机构核查": Method.COMMISSIONED,
    },
)
"""互联网+监管's item list as its public pages show it (事项编码, 事项名称, 实施部门, 检查类别,
检查方式, 设定依据). A province confirms the column names and words of its own export and
overrides them (docs/rules.md §10)."""


# ---- the mapping file (deploy/platforms/hlwjg.yaml, the platforms' shared format) ----------

CATALOGUE_RECORD = "catalogue_item"
VOCABULARY = Vocabulary(
    records={CATALOGUE_RECORD: frozenset(FIELDS)},
    closed_codes={
        "item_kinds": frozenset(k.value for k in ItemKind),
        "methods": frozenset(m.value for m in Method),
    },
    open_codes=frozenset({"departments"}),
)
"""What an inbound catalogue mapping may name: the item's fields, the kinds and methods (each
mapped, all of them), and the province's department names (any)."""


def export_mapping(loaded: LoadedMapping) -> ExportMapping:
    """The `ExportMapping` a checked inbound mapping file describes; `MappingInvalid` naming the
    file when it has no `catalogue_item` record or leaves out a field every item needs. The
    default's common synonyms (一般事项, 实地检查…) are understood beside the file's words."""
    m = loaded.mapping
    record = m.records.get(CATALOGUE_RECORD)
    fields = {} if record is None else {f.from_: f.name for f in record.fields if f.from_}
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise MappingInvalid(
            [
                MappingError(
                    loaded.file,
                    1,
                    f"records.{CATALOGUE_RECORD} must map {', '.join(missing)}",
                    f"records.{CATALOGUE_RECORD} 须写出 {'、'.join(FIELD_ZH[f] for f in missing)}"
                    " 对应的列",
                )
            ]
        )
    codes = {f.from_: f.codes for f in (record.fields if record else []) if f.codes}

    def words(field_name: str) -> dict[str, str]:
        listed = codes.get(field_name)
        return {} if listed is None else {v: k for k, v in m.codes[listed].items()}

    return ExportMapping(
        fields={f: fields.get(f, DEFAULT_MAPPING.fields[f]) for f in FIELDS},
        kinds={**DEFAULT_MAPPING.kinds, **{w: ItemKind(c) for w, c in words("kind").items()}},
        methods={**DEFAULT_MAPPING.methods, **{w: Method(c) for w, c in words("methods").items()}},
        departments=words("department"),
    )
