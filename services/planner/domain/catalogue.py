"""The item catalogue (检查事项清单) of a rule set, as the public reads it.

The catalogue is public (the notice: 抽查事项清单向社会公开): `GET /items` answers it to the
inspector's phone app, the console and anyone else, each item with its department's name and
its checklist (检查表). It is the rule files' catalogue as written, in their order (files by
name, items in file order); nothing here decides anything.
"""

from __future__ import annotations

from contracts.planner import (
    CatalogueItem,
    CatalogueQuestion,
    ItemCatalogue,
    ItemsReply,
    PlanItem,
)
from contracts.rules import Item, ItemKind
from services.planner.domain.resolve import plan_item
from services.planner.domain.ruleset import RuleSet


def catalogue(
    ruleset: RuleSet, *, department: str | None = None, kind: ItemKind | None = None
) -> ItemCatalogue:
    """Every item of `ruleset`, or those of one department and/or one kind."""
    return ItemCatalogue(
        rules_version=ruleset.version,
        items=[
            _entry(ruleset, item)
            for item in ruleset.items.values()
            if (department is None or item.department == department)
            and (kind is None or item.kind == kind)
        ],
    )


def catalogue_item(ruleset: RuleSet, code: str) -> CatalogueItem | None:
    """One item of `ruleset` by its code, or None."""
    item = ruleset.items.get(code)
    return None if item is None else _entry(ruleset, item)


def items_by_code(ruleset: RuleSet, codes: list[str]) -> ItemsReply:
    """The items of these codes as a task carries them (the order asked, each once), and the
    codes the catalogue does not have: what the draw checks a triggered task's items against."""
    found: list[PlanItem] = []
    unknown: list[str] = []
    for code in dict.fromkeys(codes):
        i = ruleset.items.get(code)
        if i is None:
            unknown.append(code)
            continue
        found.append(plan_item(i))
    return ItemsReply(rules_version=ruleset.version, items=found, unknown=unknown)


def _entry(ruleset: RuleSet, item: Item) -> CatalogueItem:
    # The check makes every item's department one of the rule set's (else it is refused).
    department = next(d for d in ruleset.meta.departments if d.code == item.department)
    labels = [] if item.key_supervision is True else list(item.key_supervision)
    return CatalogueItem(
        code=item.code,
        name=item.name,
        department=department,
        kind=item.kind,
        legal_basis=item.legal_basis,
        methods=list(item.methods),
        applies_to=item.applies_to,
        expertise=list(item.expertise),
        key_supervision=bool(item.key_supervision),
        key_supervision_labels=labels,
        checklist=[
            CatalogueQuestion(id=q.id, question=q.question, basis=q.basis, expects=q.expects)
            for q in item.checklist
        ],
    )
