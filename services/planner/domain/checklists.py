"""The meaning of items' checklists (检查表): what their schema cannot see.

A checklist is the list of questions an inspector answers on site for one item (是 / 否 /
不适用, with a note). The schema (`contracts.rules.ChecklistQuestion`) already refuses an
unknown field, an empty question and a malformed id, each with its field and line. What is
left is the one rule across questions: an id names one question of its item (a result and the
phone app refer to a question by it), so no id repeats within an item. The same id in two
items is fine: Q1 of one item is not Q1 of another.

Every problem names the file, the line of the repeated id and the field
(`items.0.checklist.2.id`), like the shape errors of the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.rules import Item
from services.planner.domain.checks import Problem
from services.planner.domain.yamlpos import Located


def check_checklists(path: str, located: Located, items: Sequence[Item]) -> list[Problem]:
    """Every repeated question id in the checklists of one file's items, in file order."""
    out: list[Problem] = []
    for i, item in enumerate(items):
        first: dict[str, int] = {}  # question id -> index of the question that has it
        for j, question in enumerate(item.checklist):
            where = ("items", i, "checklist", j, "id")
            if question.id not in first:
                first[question.id] = j
                continue
            k = first[question.id]
            first_line = located.line_of(("items", i, "checklist", k, "id"))
            out.append(
                (
                    path,
                    located.line_of(where),
                    f"{item.code} {item.name}",
                    f"items.{i}.checklist.{j}.id: duplicate id {question.id!r}, already the id"
                    f" of items.{i}.checklist.{k} (line {first_line}): each question of"
                    " an item needs its own id",
                    f"items.{i}.checklist.{j}.id（检查表问题编号）：编号 {question.id} 重复，"
                    f"已是 items.{i}.checklist.{k}（第 {first_line} 行）的编号："
                    "同一抽查事项的检查表中每个问题须有自己的编号",
                )
            )
    return out
