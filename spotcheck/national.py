"""The national stream (全国汇聚, DESIGN §11): provinces' result events, each stored once.

Provinces stay independent: each runs its own stack (its own NATS, PostgreSQL and services) and
shares no database with anyone. What the country sees is one JetStream stream on a national
NATS server, `NATIONAL_RESULTS`, that *sources* each province's `PUBLISHER` stream:

- a province's NATS connects to the national NATS as a leaf node (user = the province's code)
  and runs JetStream in its own domain (the same code), so the national server reaches its
  JetStream as `$JS.<code>.API` (deploy/nats/province-leaf.conf, `SPOTCHECK_PROVINCE_DOMAIN`,
  `SPOTCHECK_NATIONAL_LEAF_URL`);
- each source reads only `spotcheck.v1.publisher.result.published.>` and delivers under
  `national.deliver.<code>`. The national stream remembers, per source, the last provincial
  sequence it stored, so when a link drops and comes back the source resumes after it: every
  result event is stored once, whatever the outages (tests/integration/kit/test_national_stream.py);
- the national server's accounts (`accounts_conf`) let a province's leaf publish only its
  deliveries and replies, and receive only consumer requests of its own domain: a province sees
  no other province's events and nothing it publishes reaches another province. The province's
  side refuses stream, account and direct-get requests whatever the national side allows
  (deploy/nats/province-leaf.conf).

Everything here is plain data or one JetStream request; `spotcheck national …`
(spotcheck/commands/national.py) is the operator's entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from contracts import subjects

NATIONAL_STREAM = "NATIONAL_RESULTS"
# The national server's own JetStream domain; no province may take it.
NATIONAL_DOMAIN = "national"
# The province stream that is sourced, and what of it.
ORIGIN_STREAM = subjects.stream_name("publisher")
RESULTS_FILTER = subjects.event("publisher", "result.published") + ".>"
# Sourced messages are delivered to `<DELIVER_PREFIX>.<code>.…` (the only subjects a province's
# leaf may publish besides replies); the national command line's own requests to a province
# carry replies under REPLY_PREFIX (its inbox prefix), which a leaf may also answer.
DELIVER_PREFIX = "national.deliver"
REPLY_PREFIX = "national.reply"
# The environment variables nats-server reads the national passwords from.
PASSWORD_VAR = "SPOTCHECK_NATIONAL_PASS_"
# Lower-case letters and digits: a JetStream domain, a leaf user and part of a variable name.
_CODE = re.compile(r"^[a-z][a-z0-9]{1,15}$")


class NationalError(RuntimeError):
    """A province list or the national stream cannot be used; says which province and why."""


def check_code(code: str) -> str:
    """A province's code (its JetStream domain and its leaf user on the national server)."""
    if not _CODE.match(code):
        raise NationalError(
            f"province {code!r}: a code is 2-16 lower-case letters or digits starting with a "
            "letter (e.g. gd, zj); it is the province's SPOTCHECK_PROVINCE_DOMAIN"
        )
    if code == NATIONAL_DOMAIN:
        raise NationalError(f"province {code!r}: {NATIONAL_DOMAIN!r} is the national domain")
    return code


def provinces(codes: list[str]) -> list[str]:
    """The province codes, checked, in the order given; a repeated code is an error."""
    if not codes:
        raise NationalError("no province given: name each with --province <code>")
    seen: list[str] = []
    for code in codes:
        check_code(code)
        if code in seen:
            raise NationalError(f"province {code!r} is given twice")
        seen.append(code)
    return seen


def api_prefix(code: str) -> str:
    """Where the national server reaches a province's JetStream."""
    return f"$JS.{code}.API"


def _quoted(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def accounts_conf(codes: list[str]) -> str:
    """The national server's accounts (included by deploy/nats/national.conf).

    NATIONAL holds the national stream: `admin` manages it (`spotcheck national sources`),
    `reader` only consumes it (a national subscriber), and each province's leaf user may publish
    its own deliveries and replies and receive consumer requests of its own domain and flow
    control, nothing else. Passwords come from `$SPOTCHECK_NATIONAL_PASS_<USER>`.
    """
    codes = provinces(codes)
    stream = NATIONAL_STREAM
    reader_pub = [
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}",  # an unnamed (ephemeral) consumer
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.INFO.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
    ]
    lines = [
        "# Written by `spotcheck national accounts` for: " + ", ".join(codes) + ".",
        "# Include it from deploy/nats/national.conf; write it again when a province joins.",
        f"# Passwords come from the environment of nats-server: {PASSWORD_VAR}<USER> for",
        "#   " + ", ".join(("admin", "reader", "sys", *codes)),
        "accounts {",
        "  NATIONAL {",
        "    jetstream: enabled",
        "    users = [",
        f"      {{ user: admin, password: ${PASSWORD_VAR}ADMIN }}",
        f"      {{ user: reader, password: ${PASSWORD_VAR}READER, permissions: {{",
        f"          publish: {{ allow: {_quoted(reader_pub)} }}",
        '          subscribe: { allow: ["_INBOX.>"] } } }',
    ]
    for code in codes:
        pub = [f"{DELIVER_PREFIX}.{code}.>", f"{REPLY_PREFIX}.>", "$JSC.R.>"]
        # A leaf advertises its JetStream API by sub-tree ($JS.<code>.API.CONSUMER.> is the
        # narrowest one); flow control replies go back under $JS.FC.
        sub = [f"{api_prefix(code)}.CONSUMER.>", "$JS.FC.>"]
        lines += [
            f"      # province {code}: its leaf node (SPOTCHECK_NATIONAL_LEAF_URL=nats-leaf://"
            f"{code}:<password>@<this server>:7422)",
            f"      {{ user: {code}, password: ${PASSWORD_VAR}{code.upper()}, permissions: {{",
            f"          publish: {{ allow: {_quoted(pub)} }}",
            f"          subscribe: {{ allow: {_quoted(sub)} }} }} }}",
        ]
    lines += [
        "    ]",
        "  }",
        f"  SYS {{ users = [ {{ user: sys, password: ${PASSWORD_VAR}SYS }} ] }}",
        "}",
        "system_account: SYS",
        "",
    ]
    return "\n".join(lines)


def source(code: str) -> dict[str, Any]:
    """The national stream's source of one province (JetStream's JSON)."""
    return {
        "name": ORIGIN_STREAM,
        "filter_subject": RESULTS_FILTER,
        "external": {"api": api_prefix(code), "deliver": f"{DELIVER_PREFIX}.{code}"},
    }


def stream_config(codes: list[str], *, replicas: int = 1) -> dict[str, Any]:
    """The national stream: no subjects of its own, one source per province, kept forever and
    never deleted from or purged (public results, as the provinces' AUDIT)."""
    return {
        "name": NATIONAL_STREAM,
        "sources": [source(c) for c in provinces(codes)],
        "storage": "file",
        "retention": "limits",
        "num_replicas": replicas,
        "deny_delete": True,
        "deny_purge": True,
    }


def province_of(src: dict[str, Any]) -> str | None:
    """The province code of a source of the national stream (None: not one of ours)."""
    api = str((src.get("external") or {}).get("api", ""))
    match = re.fullmatch(r"\$JS\.([a-z0-9]+)\.API", api)
    return match.group(1) if match else None


async def connect(url: str, *, user: str, password: str) -> NATS:
    """A connection to the national NATS as `user` (admin), replies under REPLY_PREFIX so that
    a province may answer `probe`."""
    try:
        return await nats.connect(
            servers=[u.strip() for u in url.split(",") if u.strip()],
            user=user,
            password=password,
            inbox_prefix=REPLY_PREFIX,
            connect_timeout=5,
            max_reconnect_attempts=1,
        )
    except Exception as exc:
        raise NationalError(
            f"cannot connect to the national NATS at {_redact(url)} as {user!r}: "
            f"{exc or type(exc).__name__}"
        ) from None


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//", url)


async def _api(nc: NATS, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        msg = await nc.request(subject, json.dumps(body or {}).encode(), timeout=5)
    except NoRespondersError:
        raise NationalError(f"no JetStream answers {subject}: is this the national NATS?") from None
    except NatsTimeout:
        raise NationalError(f"no answer to {subject} within 5 s") from None
    reply: dict[str, Any] = json.loads(msg.data)
    return reply


async def probe(nc: NATS, code: str) -> str | None:
    """Why the national server cannot reach province `code`'s JetStream (None: it can).

    Asks the province for a consumer of its PUBLISHER stream that does not exist: a connected
    province answers "consumer not found" (or "stream not found" before its publisher first
    ran); a domain no leaf serves has no responders. `nc` must use REPLY_PREFIX as its inbox.
    """
    subject = f"{api_prefix(code)}.CONSUMER.INFO.{ORIGIN_STREAM}.national-probe"
    try:
        msg = await nc.request(subject, b"", timeout=5)
    except NoRespondersError:
        return (
            f"no NATS with JetStream domain {code!r} is connected to this national server: "
            f"start the province with SPOTCHECK_PROVINCE_DOMAIN={code} and "
            f"SPOTCHECK_NATIONAL_LEAF_URL=nats-leaf://{code}:<password>@<national>:7422, and "
            f"give the national server its user (spotcheck national accounts --province {code})"
        )
    except NatsTimeout:
        return (
            f"province {code!r} is connected but its answer did not come back within 5 s: is "
            "this server's national-accounts.conf written by `spotcheck national accounts` of "
            f"this version (a province answers under {REPLY_PREFIX}.>)?"
        )
    err = json.loads(msg.data).get("error") or {}
    if err.get("err_code") in (10014, 10059):  # consumer / stream not found: it answered
        return None
    return f"province {code!r} answered: {err.get('description', msg.data[:200])}"


@dataclass(frozen=True)
class Applied:
    """What `ensure_stream` did: created, updated or unchanged, and with which provinces."""

    action: str
    provinces: list[str]
    added: list[str]
    removed: list[str]


async def ensure_stream(nc: NATS, codes: list[str], *, replicas: int | None = None) -> Applied:
    """Create the national stream, or bring its sources to exactly these provinces.

    Idempotent: the same list again changes nothing. Every province is probed first; if one
    cannot be reached the stream is left as it was (NationalError naming each). A source that
    stays keeps its position, so adding or removing a province stores nothing twice.
    `replicas`: None keeps the stream's (1 when it is created).
    """
    codes = provinces(codes)
    problems = [f"province {c!r}: {why}" for c in codes if (why := await probe(nc, c))]
    if problems:
        raise NationalError("; ".join(problems) + f". {NATIONAL_STREAM} was not changed.")
    info = await _api(nc, f"$JS.API.STREAM.INFO.{NATIONAL_STREAM}")
    err = info.get("error")
    if err and err.get("err_code") == 10059:  # stream not found
        wanted = stream_config(codes, replicas=replicas or 1)
        created = await _api(nc, f"$JS.API.STREAM.CREATE.{NATIONAL_STREAM}", wanted)
        _raise_on_error(created, "create")
        return Applied("created", codes, codes, [])
    _raise_on_error(info, "read")
    current = info["config"]
    sources = stream_config(codes)["sources"]
    have = [p for s in current.get("sources") or [] if (p := province_of(s))]
    keep = current.get("num_replicas", 1)
    if current.get("sources") == sources and replicas in (None, keep):
        return Applied("unchanged", codes, [], [])
    change = {**current, "sources": sources, "num_replicas": replicas or keep}
    updated = await _api(nc, f"$JS.API.STREAM.UPDATE.{NATIONAL_STREAM}", change)
    _raise_on_error(updated, "update")
    return Applied(
        "updated",
        codes,
        [c for c in codes if c not in have],
        [c for c in have if c not in codes],
    )


def _raise_on_error(reply: dict[str, Any], what: str) -> None:
    err = reply.get("error")
    if err:
        raise NationalError(
            f"JetStream refused to {what} {NATIONAL_STREAM}: {err.get('description')} "
            f"(code {err.get('err_code')})"
        )


@dataclass(frozen=True)
class SourceState:
    """How far the national stream is behind one province."""

    province: str
    lag: int  # messages the province holds that are not yet stored nationally
    active_s: float | None  # seconds since the province was last heard from; None: never
    error: str | None


async def status(nc: NATS) -> tuple[int, list[SourceState]]:
    """The national stream's message count and each province source's state."""
    info = await _api(nc, f"$JS.API.STREAM.INFO.{NATIONAL_STREAM}")
    _raise_on_error(info, "read")
    states = []
    for src in info.get("sources") or []:
        active = int(src.get("active", -1))
        states.append(
            SourceState(
                province=province_of(src) or str(src.get("name")),
                lag=int(src.get("lag", 0)),
                active_s=None if active < 0 else active / 1e9,
                error=(src.get("error") or {}).get("description"),
            )
        )
    return int(info["state"]["messages"]), sorted(states, key=lambda s: s.province)
