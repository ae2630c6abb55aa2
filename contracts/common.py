"""Types every service uses: roles, the one error shape, ping."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from contracts.base import Contract


class Role(StrEnum):
    """Roles carried in bearer tokens (DESIGN §8)."""

    POLICY = "policy"
    PLANNER = "planner"
    DRAW_OFFICER = "draw_officer"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"
    REGISTRY_OWNER = "registry_owner"
    # Runs the platform: dead letters, replays, deadline reports.
    OPERATOR = "operator"
    # A body receiving a referral (移送): case handling or a judicial organ's liaison. It
    # records the acknowledgement and the outcome of its cases, when its system does not
    # publish them on NATS (`cases.v1.referral.*`), and nothing else.
    AGENCY = "agency"


# Roles whose work is tied to one department: a token of one of them names its department
# (`dept`), or it is refused everywhere and never minted (services/kit/auth.py).
DEPARTMENT_ROLES = frozenset({Role.PLANNER, Role.INSPECTOR})

# Who reads the statistics (`GET /stats/...` of every service, the console's 统计分析): the
# leaders' page has no role of its own; the officers who run 双随机 and its auditors read it.
STATS_ROLES = (Role.AUDITOR, Role.PLANNER, Role.POLICY, Role.DRAW_OFFICER, Role.OPERATOR)


class ErrorDetail(Contract):
    """One reason a request was refused; `loc` points at the field (and line) at fault."""

    loc: list[str | int] = []
    msg: str
    type: str = "invalid"
    msg_zh: str | None = None


class ErrorInfo(Contract):
    """What failed, in one sentence, plus every detailed reason."""

    code: str
    message: str
    details: list[dict[str, Any]] = []
    request_id: str | None = None


class ErrorBody(Contract):
    """The one JSON error shape of every HTTP endpoint and every failed NATS request."""

    error: ErrorInfo


class PingRequest(Contract):
    """Asks a service whether it is alive."""


class PingReply(Contract):
    """A service's answer to `rpc.ping`."""

    service: str
    version: str
    instance: str
