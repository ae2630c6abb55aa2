"""Who sees which tasks on the phone, and the list's filters."""

from __future__ import annotations

import pytest

from contracts.common import Role
from contracts.publisher import TaskStatus
from services.kit.errors import Forbidden, Invalid
from services.publisher.domain.task_list import (
    Reader,
    Scope,
    TaskQuery,
    check_may_read,
    check_query,
    scope_of,
)


def test_each_role_sees_its_own_tasks() -> None:
    assert scope_of(Reader(Role.INSPECTOR, "I-1")) == Scope(inspector_id="I-1")
    assert scope_of(Reader(Role.PLANNER, "p", "scjg")) == Scope(department="scjg")
    assert scope_of(Reader(Role.AUDITOR, "a")) == Scope()
    assert scope_of(Reader(Role.OPERATOR, "o")) == Scope()
    with pytest.raises(Forbidden):
        scope_of(Reader(Role.PLANNER, "p"))  # a planner without a department
    with pytest.raises(Forbidden):
        scope_of(Reader(Role.DRAW_OFFICER, "d"))


def test_an_inspector_outside_the_team_is_refused_in_both_languages() -> None:
    team, depts = ("I-1", "I-2"), ("scjg",)
    check_may_read(Reader(Role.INSPECTOR, "I-2"), task_id="T-1", team=team, departments=depts)
    check_may_read(Reader(Role.PLANNER, "p", "scjg"), task_id="T-1", team=team, departments=depts)
    with pytest.raises(Forbidden) as caught:
        check_may_read(Reader(Role.INSPECTOR, "I-9"), task_id="T-1", team=team, departments=depts)
    assert caught.value.code == "not_on_team"
    assert "not on the team" in caught.value.message and "检查组" in caught.value.message
    assert caught.value.details[0]["msg_zh"]
    with pytest.raises(Forbidden):
        check_may_read(Reader(Role.PLANNER, "p", "sw"), task_id="T-1", team=team, departments=depts)


def test_filters_are_checked_all_at_once() -> None:
    assert check_query(status=None, q=None, limit=None, offset=None) == TaskQuery()
    assert check_query(status="published", q="  青花 ", limit=500, offset=0) == TaskQuery(
        status=TaskStatus.PUBLISHED, q="青花", limit=500, offset=0
    )
    assert check_query(status="", q="   ", limit=1, offset=7).q is None
    with pytest.raises(Invalid) as caught:
        check_query(status="done", q="x" * 101, limit=501, offset=-1)
    got = {d["type"]: d["loc"] for d in caught.value.details}
    assert got == {
        "status_unknown": ["query", "status"],
        "limit_out_of_range": ["query", "limit"],
        "offset_negative": ["query", "offset"],
        "query_too_long": ["query", "q"],
    }
    with pytest.raises(Invalid):
        check_query(status=None, q=None, limit=0, offset=None)
    # An offset past PostgreSQL's integer is refused here, not by the database (a 500).
    with pytest.raises(Invalid) as caught:
        check_query(status=None, q=None, limit=None, offset=10**20)
    assert [d["type"] for d in caught.value.details] == ["offset_out_of_range"]
    assert check_query(status=None, q=None, limit=None, offset=2**31 - 1).offset == 2**31 - 1
