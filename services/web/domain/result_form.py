"""The 掌上查 result form: its fields to a result submission, and refusals back to its fields.

Field names are flat so that a plain HTML form, the offline queue (which stores the form's
entries as they were) and the server agree without any script: `items-<i>-category`,
`items-<i>-q-<question id>`, `items-<i>-note-<question id>`, `rectify_by`, `rep_name`, …
A refusal from the publisher names its place as a path (`["items", 1, "category"]`); `field_of`
turns it back into the field's name, so the message is shown next to what the person typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ANSWERS = {"yes": "是", "no": "否", "na": "不适用"}


@dataclass
class FormProblems:
    """Refusals by field name; `general` holds those that belong to no one field."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str | None, message: str) -> None:
        """File one message under its field (or as general)."""
        if name is None:
            self.general.append(message)
        else:
            self.by_field.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def submission_from_form(
    form: Mapping[str, Any],
    *,
    task_id: str,
    item_codes: Sequence[str],
    checklists: Mapping[str, Sequence[str]],
    attachments: Sequence[dict[str, Any]],
    confirmed_at: str,
) -> tuple[dict[str, Any], FormProblems]:
    """The JSON body of `POST /results` from the form's fields, and what is missing in a way
    the publisher would not name (an unanswered question, a representative without a name)."""
    problems = FormProblems()
    items: list[dict[str, Any]] = []
    for i, code in enumerate(item_codes):
        answers = []
        for qid in checklists.get(code, ()):
            answer = _text(form, f"items-{i}-q-{qid}")
            if answer not in ANSWERS:
                problems.add(f"items-{i}-q-{qid}", "请回答此项检查内容")
                continue
            answers.append(
                {"question_id": qid, "answer": answer, "note": _text(form, f"items-{i}-note-{qid}")}
            )
        category = _text(form, f"items-{i}-category")
        if not category:
            problems.add(f"items-{i}-category", "请选择检查结果")
        items.append(
            {
                "item_code": code,
                "category": category,
                "problems": _text(form, f"items-{i}-problems"),
                "rooted_at_approval": _text(form, f"items-{i}-rooted") == "on",
                "answers": answers,
            }
        )
    body: dict[str, Any] = {
        "task_id": task_id,
        "check_date": _text(form, "check_date"),
        "method": _text(form, "method"),
        "method_record": method_record_from_form(form),
        "items": items,
        "confirmations": [],
        "attachments": list(attachments),
    }
    rectify_by = _text(form, "rectify_by")
    rectification = _text(form, "rectification")
    refer = _text(form, "refer") == "on"
    if rectify_by or rectification or refer:
        body["follow_up"] = {
            "rectify_by": rectify_by or None,
            "rectification": rectification,
            "refer": refer,
        }
    rep_name = _text(form, "rep_name")
    if rep_name:
        if _text(form, "rep_confirmed") != "on":
            problems.add("rep_confirmed", "请由企业代表当面确认")
        body["representative"] = {"name": rep_name, "confirmed_at": confirmed_at}
    elif _text(form, "rep_confirmed") == "on":
        problems.add("rep_name", "请填写确认的企业代表姓名")
    key = _text(form, "idempotency_key")
    if key:
        body["idempotency_key"] = key[:100]
    corrects = _text(form, "corrects_version")
    if corrects.isdigit():
        body["corrects_version"] = int(corrects)
        body["correction_reason"] = _text(form, "correction_reason")
    return body, problems


def method_record_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the chosen method requires (`MethodRecord`), from the fields of all four: the
    publisher asks only for the chosen one's, so what was typed for another is dropped here
    rather than kept against a method that was not used."""
    method = _text(form, "method")
    if method == "on_site":
        return {"place": _text(form, "place")}
    if method == "documents":
        lines = _text(form, "documents").splitlines()
        return {"documents": [line.strip() for line in lines if line.strip()]}
    if method == "online":
        return {"url": _text(form, "url"), "platform": _text(form, "platform")}
    return {}


# Paths of the submission whose field on the form has another name.
_RENAMED = {
    ("follow_up", "rectify_by"): "rectify_by",
    ("follow_up", "rectification"): "rectification",
    ("follow_up", "refer"): "refer",
    ("representative", "name"): "rep_name",
    ("representative",): "rep_name",
    ("follow_up",): "rectify_by",
    ("method_record", "place"): "place",
    ("method_record", "documents"): "documents",
    ("method_record", "url"): "url",
    ("method_record", "platform"): "url",
}
# Reasons about the attachments as a whole that belong to another file field than the photos.
_BY_TYPE = {"method_report_missing": "report"}


def field_of(loc: Sequence[Any]) -> str | None:
    """The form field a refusal's path points at; None when it concerns the whole result."""
    path = [p for p in loc if p != "body"]
    if not path:
        return None
    if path[0] == "items" and len(path) >= 2 and isinstance(path[1], int):
        i = path[1]
        if len(path) >= 4 and path[2] == "answers" and isinstance(path[3], int):
            return f"items-{i}-answers"
        return f"items-{i}-{path[2]}" if len(path) >= 3 else f"items-{i}-category"
    key = tuple(path[:2]) if len(path) >= 2 else tuple(path[:1])
    if key in _RENAMED:
        return _RENAMED[key]
    if tuple(path[:1]) in _RENAMED:
        return _RENAMED[tuple(path[:1])]
    if path[0] in ("check_date", "method", "corrects_version", "correction_reason"):
        return str(path[0])
    if path[0] == "attachments":
        return "photos"
    return None


# The request checks' own reasons (pydantic's error types), in words an inspector reads.
_PYDANTIC_ZH = (
    ("missing", "请填写此项"),
    ("date", "请填写正确的日期"),
    ("datetime", "请填写正确的日期和时间"),
    ("literal_error", "请从选项中选择"),
    ("enum", "请从选项中选择"),
    ("string_too_long", "内容过长"),
    ("string_too_short", "请填写此项"),
    ("too_short", "至少需要一项"),
    ("bool", "请勾选或不勾选"),
    ("int", "请填写数字"),
)


def problems_from_refusal(details: Sequence[Mapping[str, Any]]) -> FormProblems:
    """A publisher refusal's reasons, filed by the field each concerns (Chinese first)."""
    problems = FormProblems()
    for d in details:
        kind = str(d.get("type") or "")
        message = str(
            d.get("msg_zh")
            or next((zh for prefix, zh in _PYDANTIC_ZH if kind.startswith(prefix)), "")
            or d.get("msg")
            or ""
        )
        name = _BY_TYPE.get(kind) or field_of(list(d.get("loc") or []))
        problems.add(name, message)
    return problems
