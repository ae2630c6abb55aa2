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
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from services.kit.settings import Settings

ACCOUNTS_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "accounts.conf"
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


def write_server_config(conf_dir: Path, *, host: str, port: int, store_dir: Path) -> Path:
    """`conf_dir/nats-server.conf` (listen address, JetStream store) including a fresh copy of
    deploy/nats/accounts.conf beside it; returns its path. No secrets are written."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ACCOUNTS_CONF, conf_dir / "accounts.conf")
    path = conf_dir / "nats-server.conf"
    path.write_text(
        "# Written by `spotcheck up` at every start: the embedded NATS with the accounts of\n"
        "# deploy/nats/accounts.conf (passwords from the environment: var/secrets/nats).\n"
        f"listen: {host}:{port}\n"
        f"jetstream {{ store_dir: {_quoted(store_dir.resolve())} }}\n"
        "include ./accounts.conf\n",
        encoding="utf-8",
    )
    return path


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
