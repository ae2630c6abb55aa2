"""NATS subjects and stream names (DESIGN §4).

Events: `spotcheck.v1.<service>.<event>[.<region>.<dept>]`; request/reply:
`spotcheck.v1.<service>.rpc.<verb>`. Each service has one stream for its events; `AUDIT` holds
the audit trail and denies delete and purge.
"""

from __future__ import annotations

import re

from contracts.events import event_names

VERSION = "v1"
PREFIX = f"spotcheck.{VERSION}"
# `web` (the human faces) has no events of its own: no stream, only its audit and ping.
SERVICES = ("registry", "planner", "draw", "publisher", "web")

AUDIT_STREAM = "AUDIT"
AUDIT_SUBJECT_PREFIX = f"{PREFIX}.audit"

# Subjects of systems outside spotcheck that we consume.
CREDIT_RISK_CLASS_UPDATED = "credit.v1.risk_class.updated"
CREDIT_RISK_CLASS_FULL = "credit.v1.risk_class.full"
CREDIT_STREAM = "CREDIT"
# The receiving bodies of referrals (case handling, judicial organs): they publish here that
# a referral was received and how its case ended; the publisher records both on the task.
CASES_REFERRAL_ACKNOWLEDGED = "cases.v1.referral.acknowledged"
CASES_REFERRAL_CONCLUDED = "cases.v1.referral.concluded"
CASES_STREAM = "CASES"

# Object store bucket of frozen candidate lists; objects are "<snapshot_id>/<stratum_id>.txt".
SNAPSHOTS_BUCKET = "spotcheck-snapshots"
# Object store bucket of result evidence; objects are named by their SHA-256.
EVIDENCE_BUCKET = "spotcheck-evidence"

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_token(token: str) -> str:
    if not _TOKEN.match(token):
        raise ValueError(f"not a valid subject token: {token!r}")
    return token


def event(service: str, name: str, *qualifiers: str) -> str:
    """Subject of an event, e.g. ``event("draw", "task.assigned")``."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    if name not in EVENTS[service]:
        raise ValueError(f"unknown event {name!r} of {service}; add it to contracts/events.py")
    parts = [PREFIX, service, name, *(_check_token(q) for q in qualifiers)]
    return ".".join(parts)


def rpc(service: str, verb: str) -> str:
    """Subject of a request/reply verb, e.g. ``rpc("registry", "freeze")``."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{PREFIX}.{service}.rpc.{_check_token(verb)}"


def stream_name(service: str) -> str:
    """Name of the JetStream stream holding a service's events."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return service.upper()


# Event names per service, derived from the one list (contracts/events.py). A stream captures
# exactly these (and their qualified forms), never `rpc.*`: a stream that captured a request
# subject would answer requests with its own ack.
EVENTS: dict[str, tuple[str, ...]] = event_names(SERVICES)


def stream_subjects(service: str) -> list[str]:
    """Subjects captured by a service's stream: all its events, none of its rpc verbs."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    subjects: list[str] = []
    for name in EVENTS[service]:
        subjects += [f"{PREFIX}.{service}.{name}", f"{PREFIX}.{service}.{name}.>"]
    return subjects


def audit_subject(service: str) -> str:
    """Subject on which a service's audit entries are appended to the AUDIT stream."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{AUDIT_SUBJECT_PREFIX}.{service}"


def audit_head_subject(service: str) -> str:
    """Subject on which a service publishes its audit chain's head (seq and sha256 of its last
    entry) to the AUDIT stream, so that a truncated chain is found by `audit verify`."""
    return f"{audit_subject(service)}.head"
