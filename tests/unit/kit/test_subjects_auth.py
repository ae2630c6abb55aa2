import time

import jwt
import pytest

from contracts import subjects
from contracts.common import Role
from services.kit.auth import TokenVerifier, issue_token
from services.kit.bus import nak_delay
from services.kit.envelope import event_type
from services.kit.errors import Forbidden, Unauthorized


def test_event_subjects_and_streams_never_capture_rpc() -> None:
    assert subjects.event("draw", "task.assigned") == "spotcheck.v1.draw.task.assigned"
    assert (
        subjects.event("publisher", "result.published", "360202", "SCJG")
        == "spotcheck.v1.publisher.result.published.360202.SCJG"
    )
    for service in subjects.SERVICES:
        for pattern in subjects.stream_subjects(service):
            assert ".rpc" not in pattern
    with pytest.raises(ValueError):
        subjects.event("draw", "no.such.event")
    with pytest.raises(ValueError):
        subjects.event("publisher", "result.published", "bad.token")


def test_cloudevents_type_drops_qualifiers() -> None:
    subject = "spotcheck.v1.publisher.result.published.360202.SCJG"
    assert event_type(subject) == "spotcheck.v1.publisher.result.published"


def test_nak_delay_doubles_and_caps() -> None:
    assert [nak_delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert nak_delay(50) == 30.0


def test_tokens_roundtrip_and_are_checked() -> None:
    key = b"k" * 32
    verifier = TokenVerifier(key=key)
    principal = verifier.verify(issue_token(key, role=Role.PLANNER, dept="SCJG", sub="li"))
    assert (principal.role, principal.dept, principal.sub) == (Role.PLANNER, "SCJG", "li")
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(issue_token(key, role=Role.AUDITOR, ttl_s=-10))
    with pytest.raises(Unauthorized, match="invalid"):
        verifier.verify(issue_token(b"x" * 32, role=Role.AUDITOR))
    with pytest.raises(Unauthorized):
        verifier.verify("not-a-token")
    assert time.time() > 0


@pytest.mark.parametrize("role", [Role.PLANNER, Role.INSPECTOR])
def test_a_department_role_needs_its_department(role: Role) -> None:
    key = b"k" * 32
    verifier = TokenVerifier(key=key)
    with pytest.raises(ValueError, match="must name a department"):
        issue_token(key, role=role, sub="li")
    with pytest.raises(ValueError, match="must name a department"):
        issue_token(key, role=role, sub="li", dept="")
    base = {"sub": "li", "role": role.value, "exp": int(time.time()) + 60}
    base |= {"iss": "spotcheck", "aud": "spotcheck"}
    for claims in (base, base | {"dept": ""}, base | {"dept": None}):
        with pytest.raises(Forbidden, match="must name the department") as refused:
            verifier.verify(jwt.encode(claims, key, algorithm="HS256"))
        assert refused.value.code == "department_missing"
    with pytest.raises(Unauthorized, match="dept must be a string"):
        verifier.verify(jwt.encode(base | {"dept": 7}, key, algorithm="HS256"))
    assert verifier.verify(issue_token(key, role=role, sub="li", dept="SW")).dept == "SW"


def test_other_roles_need_no_department() -> None:
    key = b"k" * 32
    verifier = TokenVerifier(key=key)
    for role in (r for r in Role if r not in (Role.PLANNER, Role.INSPECTOR)):
        assert verifier.verify(issue_token(key, role=role, sub="x")).dept is None
