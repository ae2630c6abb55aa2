"""The embedded NATS's accounts: `deploy/nats/accounts.conf` itself, with generated passwords.

The embedded `nats-server` runs the same accounts and users as a province's servers (DESIGN
§8): one user per service limited to its subjects, `relay` for the publisher's delivery relay,
`cli` for the command line, `credit`/`cases` for the neighbouring systems and the `AGENCIES`
account's `agency`, which can only read result events. The passwords are the only difference:

- each `$SPOTCHECK_NATS_PASS_<USER>` that accounts.conf names gets a random password in
  `var/secrets/nats/<user>.password` (folder 0700, file 0600; made once, then reused, so a
  restarted stack and the clients that saved a password keep working; `var/` is never
  committed);
- nats-server reads them from its environment (as in deploy/), every part of the stack gets its
  own user and password file through its settings (`SPOTCHECK_NATS_USER`,
  `SPOTCHECK_NATS_PASSWORD_FILE`), and nobody else's.

With an external NATS (`--nats-url`) the same folder layout may be given as
`SPOTCHECK_NATS_CREDENTIALS_DIR` (the province's passwords); without it the parts use the
settings the operator gave (a user in the URL, or `SPOTCHECK_NATS_USER`/`_PASSWORD`).

A province joining the national stream (SPOTCHECK_PROVINCE_DOMAIN, SPOTCHECK_NATIONAL_LEAF_URL)
gets its JetStream domain and deploy/nats/province-leaf.conf in the same configuration
(spotcheck/national.py says what flows).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from services.kit.settings import Settings, load_settings
from spotcheck.national import NationalError, check_code

ACCOUNTS_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "accounts.conf"
PROVINCE_LEAF_CONF = ACCOUNTS_CONF.with_name("province-leaf.conf")
PASSWORD_VAR = "SPOTCHECK_NATS_PASS_"
# Which NATS user each part of the stack connects as; the relay connects on its own.
PART_USERS = {
    "registry": "registry",
    "planner": "planner",
    "draw": "draw",
    "publisher": "publisher",
    "web": "web",
    "publisher-relay": "relay",
    "cli": "cli",
}
_VARIABLE = re.compile(r"\$" + PASSWORD_VAR + r"([A-Z0-9_]+)")


class AccountsError(RuntimeError):
    """The accounts file or the passwords folder cannot be used; says which and why."""


def credentials_dir(var_dir: Path) -> Path:
    """Where the embedded default keeps its NATS passwords."""
    return var_dir / "secrets" / "nats"


def password_users(conf_text: str) -> list[str]:
    """The users whose password the accounts file takes from `$SPOTCHECK_NATS_PASS_<USER>`
    (user names in lower case, in the order of the file)."""
    seen: list[str] = []
    for match in _VARIABLE.finditer(conf_text):
        user = match.group(1).lower()
        if user not in seen:
            seen.append(user)
    return seen


def accounts_text() -> str:
    """deploy/nats/accounts.conf of this checkout."""
    try:
        return ACCOUNTS_CONF.read_text(encoding="utf-8")
    except OSError as exc:
        raise AccountsError(
            f"cannot read the NATS accounts {ACCOUNTS_CONF}: {exc.strerror}; the embedded NATS "
            "runs from a checkout of spotcheck (or set SPOTCHECK_NATS_URL)"
        ) from None


def ensure_passwords(folder: Path, users: list[str]) -> dict[str, str]:
    """Each user's password from `folder/<user>.password`, made (random, mode 0600) when
    missing; the folder is made private (0700)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for private in (folder.parent, folder):
            private.chmod(0o700)
        passwords: dict[str, str] = {}
        for user in users:
            path = folder / f"{user}.password"
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    # A letter, then hex: nats-server reads `$VAR` values as config values, and
                    # a URL-safe token such as "2026-…" parsed as a date and stopped it.
                    f.write("p" + secrets.token_hex(24) + "\n")
            path.chmod(0o600)
            passwords[user] = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AccountsError(f"cannot keep the NATS passwords in {folder}: {exc}") from None
    return passwords


def server_environment(passwords: dict[str, str]) -> dict[str, str]:
    """The variables nats-server substitutes in accounts.conf."""
    return {PASSWORD_VAR + user.upper(): pw for user, pw in passwords.items()}


def write_server_config(
    conf_dir: Path, *, host: str, port: int, store_dir: Path, settings: Settings | None = None
) -> Path:
    """`conf_dir/nats-server.conf` (listen address, JetStream store) including a fresh copy of
    deploy/nats/accounts.conf beside it; returns its path. No secrets are written.

    A province that joins the national stream (`settings`, default the environment's:
    SPOTCHECK_PROVINCE_DOMAIN and SPOTCHECK_NATIONAL_LEAF_URL) gets its JetStream domain and
    deploy/nats/province-leaf.conf, whose leaf URL nats-server reads from its environment
    (`national_environment`).
    """
    domain, leaf = national_link(settings or load_settings())
    conf_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ACCOUNTS_CONF, conf_dir / "accounts.conf")
    js = f"store_dir: {_quoted(store_dir.resolve())}" + (f", domain: {domain}" if domain else "")
    text = (
        "# Written by `spotcheck up` at every start: the embedded NATS with the accounts of\n"
        "# deploy/nats/accounts.conf (passwords from the environment: var/secrets/nats).\n"
        f"listen: {host}:{port}\n"
        f"jetstream {{ {js} }}\n"
        "include ./accounts.conf\n"
    )
    if leaf:
        shutil.copyfile(PROVINCE_LEAF_CONF, conf_dir / "province-leaf.conf")
        text += "# The national stream (SPOTCHECK_NATIONAL_LEAF_URL): docs/operations.md.\n"
        text += "include ./province-leaf.conf\n"
    path = conf_dir / "nats-server.conf"
    path.write_text(text, encoding="utf-8")
    return path


def national_link(settings: Settings) -> tuple[str | None, bool]:
    """This province's JetStream domain and whether it connects to the national server.

    A leaf URL needs a domain (the national server reaches the province's JetStream by it);
    a domain alone is allowed (a province preparing to join).
    """
    domain = settings.province_domain
    if domain is not None:
        try:
            check_code(domain)
        except NationalError as exc:
            raise AccountsError(f"SPOTCHECK_PROVINCE_DOMAIN: {exc}") from None
    leaf = settings.national_leaf_url is not None
    if leaf and domain is None:
        raise AccountsError(
            "SPOTCHECK_NATIONAL_LEAF_URL is set but SPOTCHECK_PROVINCE_DOMAIN is not: a province "
            "joins the national stream under its code as its JetStream domain (e.g. gd), the "
            "same as its leaf user; see docs/operations.md"
        )
    return domain, leaf


def national_environment(settings: Settings) -> dict[str, str]:
    """The variable deploy/nats/province-leaf.conf reads (empty when the province has no link):
    `spotcheck up` inherits it from its own environment; give it to a server started otherwise."""
    if settings.national_leaf_url is None:
        return {}
    return {"SPOTCHECK_NATIONAL_LEAF_URL": settings.national_leaf_url.get_secret_value()}


def _quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def adopt_global_streams(store_dir: Path, account: str = "SPOTCHECK") -> bool:
    """Move the streams a NATS without accounts kept (in its global account, `$G`) to
    `account`, once, before the server starts with accounts; whether it moved them.

    A data folder from before the embedded NATS had accounts keeps its streams — the AUDIT
    copy of the audit trail, the event history, the consumers' positions — instead of the
    services starting on empty ones.
    """
    root = store_dir / "jetstream"
    old, new = root / "$G", root / account
    if not (old / "streams").is_dir() or new.exists():
        return False
    old.rename(new)
    return True


def part_environment(part: str, folder: Path | None) -> dict[str, str]:
    """`SPOTCHECK_NATS_USER`/`SPOTCHECK_NATS_PASSWORD_FILE` of a part, from the passwords
    `folder` (none: the part keeps the operator's own NATS settings)."""
    if folder is None:
        return {}
    user = PART_USERS[part]
    path = folder / f"{user}.password"
    if not path.is_file():
        raise AccountsError(f"no password for the NATS user {user!r} ({part}): {path} is missing")
    return {"SPOTCHECK_NATS_USER": user, "SPOTCHECK_NATS_PASSWORD_FILE": str(path.resolve())}


def cli_credentials(settings: Settings, stack: dict[str, Any]) -> tuple[str, str] | None:
    """How the command line logs in to NATS: its own settings, else the `cli` user of the
    passwords folder (`SPOTCHECK_NATS_CREDENTIALS_DIR`, or the embedded default's)."""
    given = settings.nats_credentials()
    if given is not None:
        return given
    folder = settings.nats_credentials_dir
    if folder is None and stack.get("nats_embedded"):
        folder = credentials_dir(Path(stack.get("var_dir") or settings.var_dir))
    if folder is None:
        return None
    path = folder / f"{PART_USERS['cli']}.password"
    try:
        return PART_USERS["cli"], path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
