#!/usr/bin/env python3
"""Verify a spotcheck draw (spec `spotcheck-draw/1`) with only the Python (≥ 3.10) stdlib.

    python3 verify_draw.py RECORD [CANDIDATES ...] [--uscc USCC]

RECORD is the public draw record (JSON; a path or an http(s) URL). CANDIDATES name where the
frozen candidate lists are; each is one of:
  - a file or URL ending in `<stratum_id>.txt` (one USCC per line, as published);
  - a directory, or a URL ending in `/`: `<stratum_id>.txt` is looked up in it;
  - a URL template containing `{stratum_id}`.
A stratum of the record may also carry its list inline as `"candidates": [...]` (as the
reference vectors do). The tool re-derives every candidate hash, n, k, the tickets, the
selection and the commitment (and a parties seed from its reveals), then prints `OK` or the
first difference, exiting with 0 (OK), 1 (difference) or 2 (could not read the input).
`--uscc` also prints that company's ticket in every stratum it is in and the stratum's cut-off.
`--restaffings LOCATION` (the JSON of `GET /draws/{id}/restaffings`) also re-derives every
re-staffed task's pick from the record's seed (docs/draw-spec.md §7a).

This file deliberately shares no code with the service: it is the independent re-derivation.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import re
import sys
import urllib.parse
import urllib.request
from typing import Any

SPEC = "spotcheck-draw/1"
STRATUM_ID = re.compile(r"[A-Za-z0-9._:-]+", re.ASCII)


class Difference(Exception):
    """The record does not match what the published data gives."""


class Unreadable(Exception):
    """An input could not be read."""


def is_url(s: str) -> bool:
    return urllib.parse.urlsplit(s).scheme in ("http", "https", "file")


def read_bytes(location: str) -> bytes:
    try:
        if is_url(location):
            with urllib.request.urlopen(location, timeout=120) as r:
                return bytes(r.read())
        with open(location, "rb") as f:
            return f.read()
    except (OSError, ValueError) as e:
        raise Unreadable(f"cannot read {location}: {e}") from e


def ticket(seed: str, stratum_id: str, uscc: str) -> str:
    return hashlib.sha256(f"{seed}|{stratum_id}|{uscc}".encode()).hexdigest()


def sample_size(n: int, bp: int) -> int:
    return min(n, (n * bp + 9999) // 10000)


def parse_candidates(stratum_id: str, data: bytes) -> list[str]:
    """The list as published: UTF-8, each USCC followed by a newline, strictly ascending."""
    if not data:
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Difference(f"stratum {stratum_id}: candidate list is not UTF-8 ({e})") from e
    if not text.endswith("\n") or "\r" in text:
        raise Difference(f"stratum {stratum_id}: every line must end with a single \\n")
    usccs = text[:-1].split("\n")
    for i in range(1, len(usccs)):
        if not usccs[i - 1].encode() < usccs[i].encode():
            raise Difference(
                f"stratum {stratum_id}: candidates not unique and ascending at line {i + 1} "
                f"({usccs[i]!r})"
            )
    if "" in usccs:
        raise Difference(f"stratum {stratum_id}: empty line in candidate list")
    return usccs


def locate(stratum_id: str, sources: list[str]) -> str:
    name = f"{stratum_id}.txt"
    for s in sources:
        if "{stratum_id}" in s:
            return s.replace("{stratum_id}", urllib.parse.quote(stratum_id))
        if is_url(s):
            if s.endswith("/"):
                return s + urllib.parse.quote(name)
            if urllib.parse.unquote(urllib.parse.urlsplit(s).path).endswith("/" + name):
                return s
        elif os.path.isdir(s):
            path = os.path.join(s, name)
            if os.path.exists(path):
                return path
        elif os.path.basename(s) == name:
            return s
    raise Unreadable(f"no candidate list given for stratum {stratum_id} (want {name})")


def load_candidates(stratum: dict[str, Any], sources: list[str]) -> tuple[list[str], str]:
    sid = stratum["stratum_id"]
    if "candidates" in stratum:
        usccs = list(stratum["candidates"])
        data = "".join(u + "\n" for u in usccs).encode()
        parse_candidates(sid, data)
    else:
        data = read_bytes(locate(sid, sources))
        usccs = parse_candidates(sid, data)
    return usccs, hashlib.sha256(data).hexdigest()


def party_seed(parties: list[dict[str, Any]]) -> str:
    lines = []
    for p in parties:
        secret = p.get("secret")
        if secret is None:
            raise Difference(f"party {p.get('party_id')} has not revealed its secret")
        if hashlib.sha256(secret.encode()).hexdigest() != p.get("commitment_sha256"):
            raise Difference(f"party {p.get('party_id')}: secret does not match its commitment")
        lines.append((p["party_id"], secret))
    lines.sort(key=lambda x: x[0].encode())
    return hashlib.sha256("".join(f"{a}\t{b}\n" for a, b in lines).encode()).hexdigest()


def check_seed(record: dict[str, Any]) -> str:
    seed = record.get("seed")
    if not isinstance(seed, str) or not seed or seed != seed.strip():
        raise Difference(f"seed {seed!r} is missing or has surrounding whitespace")
    source = record.get("seed_source")
    if source == "dice" and not (re.fullmatch(r"[0-9]{20,}", seed, re.ASCII)):
        raise Difference("a dice seed must be at least 20 decimal digits")
    if source == "parties":
        derived = party_seed(record.get("seed_parties") or [])
        if derived != seed:
            raise Difference(f"seed: parties' reveals give {derived}, record says {seed}")
    return seed


def verify(record: dict[str, Any], sources: list[str], uscc: str | None = None) -> str:
    """Raise `Difference` at the first mismatch; return a one-line summary when all match."""
    if record.get("spec", SPEC) != SPEC:
        raise Difference(f"spec is {record.get('spec')!r}, this tool checks {SPEC}")
    seed = check_seed(record)
    strata = record.get("strata")
    if not isinstance(strata, list):
        raise Difference("the record has no strata list")
    lines = []
    total = 0
    seen = set()
    for s in sorted(strata, key=lambda s: str(s.get("stratum_id")).encode()):
        sid = s.get("stratum_id")
        if not isinstance(sid, str) or not STRATUM_ID.fullmatch(sid):
            raise Difference(f"stratum id {sid!r} is not [A-Za-z0-9._:-]+")
        if sid in seen:
            raise Difference(f"stratum {sid} appears twice")
        seen.add(sid)
        usccs, digest = load_candidates(s, sources)
        n = len(usccs)
        if digest != s.get("candidates_sha256"):
            raise Difference(
                f"stratum {sid}: candidates_sha256 is {digest}, record says "
                f"{s.get('candidates_sha256')}"
            )
        if n != s.get("n"):
            raise Difference(f"stratum {sid}: n is {n}, record says {s.get('n')}")
        k = s.get("k")
        bp = s.get("bp")
        if bp is not None:
            want = sample_size(n, bp)
        elif s.get("count") is not None:
            want = min(n, s["count"])
        else:
            want = k if isinstance(k, int) and 0 <= k <= n else -1
        if k != want:
            raise Difference(f"stratum {sid}: k is {k}, spec gives {want} (n={n}, bp={bp})")
        prefix = hashlib.sha256(f"{seed}|{sid}|".encode())
        tks = []
        for u in usccs:
            h = prefix.copy()
            h.update(u.encode())
            tks.append(h.hexdigest())
        for u, expected in (s.get("tickets") or {}).items():
            got = ticket(seed, sid, u)
            if got != expected:
                raise Difference(f"stratum {sid}: ticket of {u} is {got}, record says {expected}")
        chosen = [u for _, u in heapq.nsmallest(k, zip(tks, usccs, strict=True))]
        selected = s.get("selected")
        if chosen != selected:
            for i, (a, b) in enumerate(zip(chosen, selected or [], strict=False)):
                if a != b:
                    raise Difference(f"stratum {sid}: selected[{i}] is {a}, record says {b}")
            raise Difference(
                f"stratum {sid}: {len(chosen)} selected, record lists {len(selected or [])}"
            )
        if uscc is not None and uscc in usccs:
            t = tks[usccs.index(uscc)]
            cut = ticket(seed, sid, chosen[-1]) if chosen else None
            print(
                f"{sid}\t{uscc}\tticket {t}\tcut-off {cut}\t{'SELECTED' if uscc in chosen else '-'}"
            )
        lines.append(f"{sid}\t{n}\t{k}\t{digest}\n")
        total += k
    commitment = hashlib.sha256("".join(lines).encode()).hexdigest()
    if commitment != record.get("commitment_sha256"):
        raise Difference(
            f"commitment_sha256 is {commitment}, record says {record.get('commitment_sha256')}"
        )
    for e in record.get("k_examples") or []:
        if sample_size(e["n"], e["bp"]) != e["k"]:
            raise Difference(f"k example n={e['n']} bp={e['bp']}: spec gives other than {e['k']}")
    for e in record.get("ticket_examples") or []:
        if e["seed_as_entered"].strip() != e["seed"]:
            raise Difference(f"ticket example: {e['seed_as_entered']!r} strips to another seed")
        if ticket(e["seed"], e["stratum_id"], e["uscc"]) != e["ticket"]:
            raise Difference(f"ticket example {e['stratum_id']}|{e['uscc']}: ticket differs")
    example = record.get("parties_example")
    if example and party_seed(example["parties"]) != example["seed"]:
        raise Difference("parties example: the reveals give another seed")
    return f"OK {record.get('draw_id', '')} {len(strata)} strata, {total} selected".replace(
        "  ", " "
    )


def verify_restaffings(record: dict[str, Any], restaffings: list[dict[str, Any]]) -> str:
    """Each restaffing's seed from the record's seed, and its pick from its candidates: the
    fewest tasks in the draw, then the smallest ticket sha256(f"{seed}|{task_id}|{id}")."""
    draw_seed = check_seed(record)
    for r in restaffings:
        where = f"restaffing {r['task_id']} #{r['n']}"
        if r.get("draw_id") != record.get("draw_id"):
            raise Difference(f"{where}: of draw {r.get('draw_id')}, not {record.get('draw_id')}")
        text = f"{draw_seed}|{r['task_id']}|restaff|{r['n']}"
        if r["seed_input"] != text:
            raise Difference(f"{where}: seed_input is {r['seed_input']!r}, expected {text!r}")
        seed = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if r["seed"] != seed:
            raise Difference(f"{where}: seed is {r['seed']}, expected {seed}")
        if not r["candidates"]:
            raise Difference(f"{where}: no candidates")
        best = min(
            r["candidates"],
            key=lambda c: (
                int(c["count"]),
                hashlib.sha256(f"{seed}|{r['task_id']}|{c['inspector_id']}".encode()).hexdigest(),
            ),
        )
        got = r["replacement"]["inspector_id"]
        if best["inspector_id"] != got:
            raise Difference(
                f"{where}: replacement {got}, the candidates give {best['inspector_id']}"
            )
    return f"OK {len(restaffings)} restaffing(s)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("record", help="draw record JSON (path or URL)")
    ap.add_argument("candidates", nargs="*", help="candidate files, directories or URLs")
    ap.add_argument("--uscc", help="print this company's tickets and the cut-offs")
    ap.add_argument("--restaffings", help="the draw's restaffings JSON (path or URL) to re-derive")
    args = ap.parse_args(argv)
    try:
        record = json.loads(read_bytes(args.record).decode("utf-8"))
        print(verify(record, args.candidates, args.uscc))
        if args.restaffings:
            found = json.loads(read_bytes(args.restaffings).decode("utf-8"))
            print(verify_restaffings(record, found))
        return 0
    except Difference as d:
        print(f"DIFFERENCE: {d}")
        return 1
    except (Unreadable, ValueError, KeyError, TypeError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
