"""The national stream's configuration: province codes, the national accounts, the sources, and
a province's embedded NATS with its link (spotcheck/national.py, spotcheck/stack/accounts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.kit.settings import Settings
from spotcheck import national
from spotcheck.cli import app
from spotcheck.stack import accounts


@pytest.mark.parametrize("code", ["", "g", "GD", "g-d", "4a", "national", "广东", "a" * 17])
def test_a_province_code_is_a_domain_and_a_user_name(code: str) -> None:
    with pytest.raises(national.NationalError, match="province"):
        national.check_code(code)


def test_provinces_are_named_once_and_at_least_one() -> None:
    assert national.provinces(["gd", "zj"]) == ["gd", "zj"]
    with pytest.raises(national.NationalError, match="'gd' is given twice"):
        national.provinces(["gd", "zj", "gd"])
    with pytest.raises(national.NationalError, match="--province"):
        national.provinces([])


def test_each_province_leaf_may_publish_only_its_deliveries_and_replies() -> None:
    text = national.accounts_conf(["gd", "zj"])
    gd = text[text.index("user: gd,") : text.index("user: zj,")]
    assert '"national.deliver.gd.>"' in gd and "national.deliver.zj" not in gd
    assert '"$JS.gd.API.CONSUMER.>"' in gd and "$JS.zj" not in gd
    assert "spotcheck." not in gd  # no raw event either way
    assert "$SPOTCHECK_NATIONAL_PASS_GD" in gd
    # The reader consumes the national stream and nothing else.
    reader = text[text.index("user: reader") : text.index("user: gd,")]
    assert "NATIONAL_RESULTS" in reader and "STREAM.DELETE" not in reader
    assert "password: $SPOTCHECK_NATIONAL_PASS_ADMIN" in text  # from the environment only


def test_each_source_reads_result_events_of_its_provinces_domain() -> None:
    config = national.stream_config(["gd", "zj"])
    assert config["sources"] == [
        {
            "name": "PUBLISHER",
            "filter_subject": "spotcheck.v1.publisher.result.published.>",
            "external": {"api": "$JS.gd.API", "deliver": "national.deliver.gd"},
        },
        {
            "name": "PUBLISHER",
            "filter_subject": "spotcheck.v1.publisher.result.published.>",
            "external": {"api": "$JS.zj.API", "deliver": "national.deliver.zj"},
        },
    ]
    assert config["deny_delete"] and config["deny_purge"] and "subjects" not in config
    assert [national.province_of(s) for s in config["sources"]] == ["gd", "zj"]


def test_a_province_without_a_link_writes_the_config_as_before(tmp_path: Path) -> None:
    path = accounts.write_server_config(
        tmp_path / "c", host="127.0.0.1", port=4333, store_dir=tmp_path / "js", settings=Settings()
    )
    assert "domain" not in path.read_text() and "province-leaf" not in path.read_text()
    assert not (tmp_path / "c" / "province-leaf.conf").exists()


def test_a_province_with_a_link_gets_its_domain_and_the_leaf_without_the_secret(
    tmp_path: Path,
) -> None:
    settings = Settings(
        province_domain="gd", national_leaf_url="nats-leaf://gd:s3cret@national:7422"
    )
    path = accounts.write_server_config(
        tmp_path / "c", host="127.0.0.1", port=4333, store_dir=tmp_path / "js", settings=settings
    )
    text = path.read_text()
    assert ", domain: gd }" in text and "include ./province-leaf.conf" in text
    leaf = (tmp_path / "c" / "province-leaf.conf").read_text()
    assert "url: $SPOTCHECK_NATIONAL_LEAF_URL" in leaf
    assert all("s3cret" not in f.read_text() for f in (tmp_path / "c").iterdir())
    assert accounts.national_environment(settings) == {
        "SPOTCHECK_NATIONAL_LEAF_URL": "nats-leaf://gd:s3cret@national:7422"
    }
    # A domain alone (a province preparing to join) has no leaf.
    alone = accounts.write_server_config(
        tmp_path / "d",
        host="127.0.0.1",
        port=4333,
        store_dir=tmp_path / "js",
        settings=Settings(province_domain="zj"),
    )
    assert "domain: zj" in alone.read_text() and "province-leaf" not in alone.read_text()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            Settings(national_leaf_url="nats-leaf://gd:x@national:7422"),
            "SPOTCHECK_PROVINCE_DOMAIN is not",
        ),
        (Settings(province_domain="Guangdong"), "SPOTCHECK_PROVINCE_DOMAIN: province"),
        (Settings(province_domain="national"), "national domain"),
    ],
)
def test_a_wrong_link_stops_the_start_with_the_reason(
    tmp_path: Path, settings: Settings, message: str
) -> None:
    with pytest.raises(accounts.AccountsError, match=message):
        accounts.write_server_config(
            tmp_path / "c", host="127.0.0.1", port=1, store_dir=tmp_path / "js", settings=settings
        )
    assert not (tmp_path / "c").exists()  # nothing written


def test_the_accounts_command_writes_the_file_or_names_the_bad_code(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "national-accounts.conf"
    done = runner.invoke(
        app, ["national", "accounts", "--province", "gd", "--province", "zj", "--output", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert out.read_text() == national.accounts_conf(["gd", "zj"])
    bad = runner.invoke(app, ["national", "accounts", "--province", "gd", "--province", "G D"])
    assert bad.exit_code == 1 and "'G D'" in bad.output
