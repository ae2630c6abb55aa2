from datetime import UTC, datetime, timedelta

from contracts.common import Role
from services.web.domain.people import (
    LockoutPolicy,
    SessionPolicy,
    after_failure,
    check_new_account,
    check_password,
    is_locked,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_passwords_need_length_three_kinds_and_not_the_name() -> None:
    assert check_password("Jian-cha-2026", username="li", min_length=10) == []
    assert [p.msg_zh for p in check_password("Ab1-", username="li", min_length=10)] == [
        "密码至少10位"
    ]
    weak = check_password("jianchajiancha", username="li", min_length=10)
    assert len(weak) == 1 and "三类" in weak[0].msg_zh
    named = check_password("Wangfang-2026", username="wangfang", min_length=10)
    assert [p.msg_zh for p in named] == ["密码不得包含用户名"]


def test_accounts_of_inspectors_are_tied_to_the_roster_and_a_department() -> None:
    problems = check_new_account(
        username="li", display_name="李明", role=Role.INSPECTOR, department=None, inspector_id=None
    )
    assert {p.field for p in problems} == {"department", "inspector_id"}
    problems = check_new_account(
        username="x", display_name=" ", role=Role.AUDITOR, department=None, inspector_id="36000001"
    )
    assert {p.field for p in problems} == {"username", "display_name", "inspector_id"}
    assert (
        check_new_account(
            username="zhang.san",
            display_name="张三",
            role=Role.AUDITOR,
            department=None,
            inspector_id=None,
        )
        == []
    )


def test_the_fifth_failure_locks_and_the_count_starts_again() -> None:
    policy = LockoutPolicy(failures=5, minutes=15)
    failed, until = 0, None
    for _ in range(4):
        failed, until = after_failure(failed, now=NOW, policy=policy)
        assert until is None
    assert failed == 4
    failed, until = after_failure(failed, now=NOW, policy=policy)
    assert (failed, until) == (0, NOW + timedelta(minutes=15))
    assert is_locked(until, now=NOW + timedelta(minutes=14))
    assert not is_locked(until, now=NOW + timedelta(minutes=15))
    assert not is_locked(None, now=NOW)


def test_a_session_ends_when_idle_and_at_its_maximum_age() -> None:
    policy = SessionPolicy(idle_minutes=30, max_hours=12)
    assert policy.expires_at(created_at=NOW, now=NOW) == NOW + timedelta(minutes=30)
    late = NOW + timedelta(hours=11, minutes=50)
    assert policy.expires_at(created_at=NOW, now=late) == NOW + timedelta(hours=12)
