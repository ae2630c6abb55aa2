"""An exported catalogue against the active item files: what was added, changed and withdrawn,
and the item files edited to match — a proposed rule change, never a rewrite.

Edits are made in the YAML text, not by dumping data again: only the spans that change are
replaced (a changed name, legal basis or department is one scalar; a withdrawn item's block
becomes one comment line saying so; an added item is appended after the last item of its
department's file, in that file's indentation). Every other byte — comments, order, checklists,
quoting — stays as the author wrote it, so the console's file diff shows exactly the change.

An exported item is matched to a rule item by the item's `catalogue_code` (互联网+监管's
事项编码, when the rule files use codes of their own) or else its `code`. Only departments that
appear in the export can lose items: an export of one department withdraws nothing of another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import yaml

from contracts.rules import ItemKind, Method
from services.planner.domain.export import ExportedItem
from services.planner.domain.ruleset import is_rule_file

COMPARED = ("name", "legal_basis", "department")
"""The fields an export can change in an existing item (its kind, methods and checklist are
local decisions the export does not overrule)."""


@dataclass(frozen=True)
class FieldChange:
    """One field of an item: the active value and the exported one."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class ItemChange:
    """An item whose exported name, legal basis or department differs from the active one."""

    code: str
    name: str
    file: str
    line: int
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class WithdrawnItem:
    """An active item of an exported department that the export no longer lists."""

    code: str
    name: str
    department: str
    file: str
    line: int


@dataclass(frozen=True)
class AddedItem:
    """An exported item no rule file has, and the file it is appended to."""

    item: ExportedItem
    file: str


@dataclass(frozen=True)
class CatalogueDiff:
    """The proposed change: every difference, and the edited files (only those that change)."""

    added: tuple[AddedItem, ...]
    changed: tuple[ItemChange, ...]
    withdrawn: tuple[WithdrawnItem, ...]
    unchanged: int
    files: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether the export agrees with the active items."""
        return not (self.added or self.changed or self.withdrawn)

    def as_dict(self) -> dict[str, object]:
        """JSON-able form (the import record and the API answer)."""
        return {
            "added": [
                {
                    "code": a.item.code,
                    "name": a.item.name,
                    "department": a.item.department,
                    "legal_basis": a.item.legal_basis,
                    "kind": a.item.kind.value if a.item.kind else None,
                    "methods": [m.value for m in a.item.methods],
                    "line": a.item.line,
                    "file": a.file,
                }
                for a in self.added
            ],
            "changed": [
                {
                    "code": c.code,
                    "name": c.name,
                    "file": c.file,
                    "line": c.line,
                    "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields],
                }
                for c in self.changed
            ],
            "withdrawn": [
                {"code": w.code, "name": w.name, "department": w.department}
                | {"file": w.file, "line": w.line}
                for w in self.withdrawn
            ],
            "unchanged": self.unchanged,
            "files": sorted(self.files),
        }


@dataclass
class _Placed:
    """An item of a rule file with the nodes of its text."""

    file: str
    node: yaml.MappingNode
    values: dict[str, yaml.Node]

    def text(self, key: str) -> str:
        node = self.values.get(key)
        return str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""

    @property
    def key(self) -> str:
        return self.text("catalogue_code") or self.text("code")

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1


def _items_of(path: str, text: str) -> list[_Placed]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []  # not readable: `rules check` names it; the import leaves the file alone
    if not isinstance(root, yaml.MappingNode):
        return []
    out = []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items":
            if isinstance(value, yaml.SequenceNode):
                for node in value.value:
                    if isinstance(node, yaml.MappingNode):
                        values = {
                            k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)
                        }
                        out.append(_Placed(path, node, values))
    return out


def _scalar(text: str) -> str:
    """`text` as one YAML scalar on one line (quoted only when YAML needs it)."""
    dumped = yaml.safe_dump(text, allow_unicode=True, width=1_000_000)
    return dumped.removesuffix("\n").removesuffix("\n...").rstrip("\n")


def _last_end(node: yaml.Node) -> int:
    """Index just past the last character of a node's own text (before trailing comments)."""
    if isinstance(node, yaml.MappingNode) and node.value and node.flow_style is not True:
        return _last_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and node.flow_style is not True:
        return _last_end(node.value[-1])
    return int(node.end_mark.index)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """Index just past the newline ending the line holding `index` (or the text's end)."""
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def _added_text(item: ExportedItem, dash: str, key: str, today: date) -> str:
    kind = item.kind or ItemKind.GENERAL
    methods = item.methods or (Method.ON_SITE,)
    todo = [] if item.kind else ["检查类别"]
    todo += [] if item.methods else ["检查方式"]
    todo += ["适用范围", "检查表"]
    lines = [
        f"{dash}# 互联网+监管清单导入（{today.isoformat()}，导出第 {item.line} 行）："
        f"请核对补充{'、'.join(todo)}",
        f"{dash}- code: {_scalar(item.code)}",
        f"{key}name: {_scalar(item.name)}",
        f"{key}department: {_scalar(item.department)}",
        f"{key}kind: {kind.value}",
        f"{key}legal_basis: {_scalar(item.legal_basis)}",
        f"{key}methods: [{', '.join(m.value for m in methods)}]",
    ]
    return "\n".join(lines) + "\n"


def _target_file(dept: str, placed: Sequence[_Placed], paths: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for p in placed:
        if p.text("department") == dept:
            counts[p.file] = counts.get(p.file, 0) + 1
    if counts:
        return min(counts, key=lambda f: (-counts[f], f))
    name, n = f"items-{dept.lower()}.yaml", 1
    while name in paths:  # a file of that name holds none of its items: take another name
        n += 1
        name = f"items-{dept.lower()}-imported{'' if n == 2 else f'-{n - 1}'}.yaml"
    return name


def diff_catalogue(
    files: Mapping[str, str],
    exported: Sequence[ExportedItem],
    *,
    source: str,
    today: date,
) -> CatalogueDiff:
    """The export against the items of the rule files `files` ({path: text}); `source` names
    the export in the comments left where an item was withdrawn."""
    placed = [
        p for path in sorted(files) if is_rule_file(path) for p in _items_of(path, files[path])
    ]
    by_key = {p.key: p for p in placed}
    exported_keys = {e.code for e in exported}
    departments = {e.department for e in exported}
    # (start, end, replacement, order among insertions at one index): spans of each file.
    edits: dict[str, list[tuple[int, int, str, int]]] = {}
    changed: list[ItemChange] = []
    added: list[AddedItem] = []
    unchanged = 0
    for e in exported:
        p = by_key.get(e.code)
        if p is None:
            continue
        diffs = []
        for name in COMPARED:
            new = getattr(e, name)
            node = p.values.get(name)
            if p.text(name) != new and isinstance(node, yaml.ScalarNode):
                diffs.append(FieldChange(name, p.text(name), new))
                start, end = node.start_mark.index, node.end_mark.index
                original = files[p.file][start:end]
                tail = "\n" if original.endswith("\n") else ""
                edits.setdefault(p.file, []).append((start, end, _scalar(new) + tail, 0))
        if diffs:
            changed.append(ItemChange(p.text("code"), p.text("name"), p.file, p.line, tuple(diffs)))
        else:
            unchanged += 1
    withdrawn = []
    for p in placed:
        if p.key in exported_keys or p.text("department") not in departments:
            continue
        text = files[p.file]
        start = _line_start(text, p.node.start_mark.index)
        end = _line_end(text, _last_end(p.node) - 1)
        dash = text[start : p.node.start_mark.index].split("-")[0]
        note = (
            f"{dash}# 已撤销：{p.text('code')} {p.text('name')}"
            f"（{source} {today.isoformat()} 的互联网+监管清单中已无此事项）\n"
        )
        edits.setdefault(p.file, []).append((start, end, note, 0))
        withdrawn.append(
            WithdrawnItem(p.text("code"), p.text("name"), p.text("department"), p.file, p.line)
        )
    new_files: dict[str, str] = {}
    for seq, e in enumerate(exported):
        if e.code in by_key:
            continue
        target = _target_file(e.department, placed, list(files))
        added.append(AddedItem(e, target))
        in_file = [p for p in placed if p.file == target]
        if in_file:
            last = in_file[-1]
            text = files[target]
            lead = text[_line_start(text, last.node.start_mark.index) : last.node.start_mark.index]
            indent = lead.split("-")[0]  # the spaces before the item's "-"
            at = _line_end(text, _last_end(last.node) - 1)
            # Every item added to this file goes at the same index: one newline before the
            # first when the file lacks its last, and `seq` keeps them in the export's order.
            first = not any(s[0] == s[1] == at for s in edits.get(target, []))
            prefix = "" if text[:at].endswith("\n") or not first else "\n"
            edits.setdefault(target, []).append(
                (at, at, prefix + _added_text(e, indent, " " * len(lead), today), seq)
            )
        else:
            head = new_files.get(target) or (
                f"# 检查事项清单：{e.department}（由互联网+监管清单导入，请核对补充）。\nitems:\n"
            )
            new_files[target] = head + _added_text(e, "  ", "    ", today)
    out = dict(new_files)
    for path, spans in edits.items():
        text = files[path]
        # Later spans first, so earlier indexes stay valid; an insertion at the index where a
        # withdrawn block ends goes after it; of insertions at one index the export's last goes
        # in first, so each earlier one lands before it.
        for start, end, replacement, _ in sorted(spans, key=lambda s: (s[0], s[1], s[3]))[::-1]:
            text = text[:start] + replacement + text[end:]
        out[path] = text
    return CatalogueDiff(
        added=tuple(added),
        changed=tuple(changed),
        withdrawn=tuple(withdrawn),
        unchanged=unchanged,
        files=out,
    )
