"""The embedded NATS's accounts are deploy/nats/accounts.conf's, with generated passwords."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.kit.settings import Settings
from spotcheck.stack import accounts
from spotcheck.stack.processes import RELAY, SERVICES


def test_every_part_has_a_user_in_deploys_accounts() -> None:
    users = accounts.password_users(accounts.accounts_text())
    assert {accounts.PART_USERS[p] for p in (*SERVICES, RELAY, "cli")} <= set(users)
    assert {"agency", "sys"} <= set(users)
    assert set(accounts.PART_USERS) == {*SERVICES, RELAY, "cli"}


def test_passwords_are_private_and_kept(tmp_path: Path) -> None:
    folder = accounts.credentials_dir(tmp_path / "var")
    first = accounts.ensure_passwords(folder, ["registry", "agency"])
    assert len(set(first.values())) == 2 and all(len(pw) >= 40 for pw in first.values())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for user in first:
        assert stat.S_IMODE((folder / f"{user}.password").stat().st_mode) == 0o600
    (folder / "agency.password").chmod(0o644)
    again = accounts.ensure_passwords(folder, ["registry", "agency", "cli"])
    assert {k: again[k] for k in first} == first  # reused on restart
    assert stat.S_IMODE((folder / "agency.password").stat().st_mode) == 0o600
    env = accounts.server_environment(again)
    assert env["SPOTCHECK_NATS_PASS_AGENCY"] == first["agency"]


def test_the_server_config_includes_the_accounts_and_holds_no_secret(tmp_path: Path) -> None:
    path = accounts.write_server_config(
        tmp_path / "conf", host="127.0.0.1", port=4333, store_dir=tmp_path / "js"
    )
    text = path.read_text()
    assert "listen: 127.0.0.1:4333" in text and "include ./accounts.conf" in text
    assert (tmp_path / "conf" / "accounts.conf").read_text() == accounts.accounts_text()
    assert "password" not in text.lower().replace("passwords", "")


def test_each_part_gets_only_its_own_user(tmp_path: Path) -> None:
    folder = tmp_path / "nats"
    accounts.ensure_passwords(folder, ["draw", "relay"])
    env = accounts.part_environment("draw", folder)
    assert env == {
        "SPOTCHECK_NATS_USER": "draw",
        "SPOTCHECK_NATS_PASSWORD_FILE": str((folder / "draw.password").resolve()),
    }
    assert accounts.part_environment(RELAY, folder)["SPOTCHECK_NATS_USER"] == "relay"
    assert accounts.part_environment("draw", None) == {}
    with pytest.raises(accounts.AccountsError, match="planner"):
        accounts.part_environment("planner", folder)


def test_the_command_line_logs_in_as_cli(tmp_path: Path) -> None:
    var = tmp_path / "var"
    pw = accounts.ensure_passwords(accounts.credentials_dir(var), ["cli"])["cli"]
    settings = Settings(var_dir=var)
    assert accounts.cli_credentials(settings, {"nats_embedded": True, "var_dir": str(var)}) == (
        "cli",
        pw,
    )
    assert accounts.cli_credentials(settings, {}) is None  # external NATS, nothing given
    given = Settings(var_dir=var, nats_user="ops", nats_password="s3cret")
    assert accounts.cli_credentials(given, {"nats_embedded": True}) == ("ops", "s3cret")


def test_settings_read_a_password_file(tmp_path: Path) -> None:
    from services.kit.settings import SettingsError

    (tmp_path / "pw").write_text("abc\n")
    s = Settings(nats_user="draw", nats_password_file=tmp_path / "pw")
    assert s.nats_credentials() == ("draw", "abc")
    assert Settings().nats_credentials() is None
    with pytest.raises(SettingsError, match="SPOTCHECK_NATS_PASSWORD"):
        Settings(nats_user="draw").nats_credentials()
    with pytest.raises(SettingsError, match="cannot read"):
        Settings(nats_user="draw", nats_password_file=tmp_path / "none").nats_credentials()


def test_streams_of_a_nats_without_accounts_move_to_the_spotcheck_account(tmp_path: Path) -> None:
    streams = tmp_path / "jetstream" / "$G" / "streams" / "AUDIT"
    streams.mkdir(parents=True)
    (streams / "meta.inf").write_text("{}")
    assert accounts.adopt_global_streams(tmp_path)
    assert (tmp_path / "jetstream" / "SPOTCHECK" / "streams" / "AUDIT" / "meta.inf").exists()
    assert not (tmp_path / "jetstream" / "$G").exists()
    assert not accounts.adopt_global_streams(tmp_path)  # once
    assert not accounts.adopt_global_streams(tmp_path / "empty")


def test_passwords_read_as_plain_strings_by_nats_server(tmp_path: Path) -> None:
    """nats-server parses a `$VAR` value like any config value: a password that starts with a
    digit may read as a number or a date ("2026-…" stopped the server). Each starts with a
    letter and has only letters and digits."""
    made = accounts.ensure_passwords(tmp_path / "nats", [f"u{i}" for i in range(200)])
    for password in made.values():
        assert password[0].isalpha() and password.isalnum() and len(password) >= 40
