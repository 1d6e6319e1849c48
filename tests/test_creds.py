"""`onewindow creds add|rotate|remove`: a random secret hashed into mosquitto's
password file and written to the device's credential file, never on a command
line; a real mosquitto accepts exactly the current secret."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hall import creds
from hall.broker import readable_by_broker, start_local_broker
from hall.cli import main
from tests.needs import needs

pytestmark = needs("mosquitto")  # mosquitto_passwd comes with it


@pytest.fixture
def root():
    # readable by the broker, which drops root for the `mosquitto` user
    d = Path(tempfile.mkdtemp(prefix="onewindow-creds-test-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def _connack(port: int, user: str, password: str) -> int:
    from .test_broker_acl import _connack as probe
    return probe(port, user, password)


def test_add_rotate_remove_through_a_real_broker(root, monkeypatch):
    argv: list[list[str]] = []
    real_run = subprocess.run

    def spy(args, *a, **kw):
        argv.append([str(x) for x in args])
        return real_run(args, *a, **kw)
    monkeypatch.setattr(creds.subprocess, "run", spy)

    r = CliRunner().invoke(main, ["creds", "add", "--root", str(root), "K01"])
    assert r.exit_code == 0, r.output
    cred = root / "etc/onewindow/credentials/K01-mqtt-password"
    pw = root / "etc/mosquitto/onewindow.passwd"
    secret = cred.read_text().strip()
    assert len(secret) >= 40
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    assert stat.S_IMODE(pw.stat().st_mode) == 0o640
    if os.geteuid() == 0:
        import grp
        assert (pw.stat().st_uid, grp.getgrgid(pw.stat().st_gid).gr_name) == (0, "mosquitto")
    line = pw.read_text()
    assert line.startswith("K01:$7$") and secret not in line
    assert secret not in r.output
    assert all(secret not in arg for args in argv for arg in args)  # never on a command line
    assert argv and all("-b" not in args for args in argv)

    again = CliRunner().invoke(main, ["creds", "add", "--root", str(root), "K01"])
    assert again.exit_code != 0 and "rotate" in again.output
    assert CliRunner().invoke(main, ["creds", "add", "--root", str(root), "D01"]).exit_code == 0

    readable_by_broker(pw)
    b = start_local_broker(workdir=root / "broker", extra_conf=f"allow_anonymous false\npassword_file {pw}\n")
    try:
        assert _connack(b.port, "K01", secret) == 0
        assert _connack(b.port, "K01", "guess") == 5

        r = CliRunner().invoke(main, ["creds", "rotate", "--root", str(root), "K01"])
        assert r.exit_code == 0, r.output
        new = cred.read_text().strip()
        assert new != secret
        b.restart()  # production: systemctl reload mosquitto
        assert _connack(b.port, "K01", new) == 0
        assert _connack(b.port, "K01", secret) == 5
        assert _connack(b.port, "D01", (root / "etc/onewindow/credentials/D01-mqtt-password").read_text().strip()) == 0

        r = CliRunner().invoke(main, ["creds", "remove", "--root", str(root), "K01"])
        assert r.exit_code == 0, r.output
        assert not cred.exists() and "K01:" not in pw.read_text() and "D01:" in pw.read_text()
        b.restart()
        assert _connack(b.port, "K01", new) == 5
    finally:
        b.stop()
    assert secret not in str(argv) and new not in str(argv)


def test_rotate_or_remove_of_an_unknown_id_and_ids_outside_the_config_are_refused(root, tmp_path):
    r = CliRunner().invoke(main, ["creds", "rotate", "--root", str(root), "K01"])
    assert r.exit_code != 0 and "creds add K01" in r.output
    r = CliRunner().invoke(main, ["creds", "remove", "--root", str(root), "K01"])
    assert r.exit_code != 0 and "no credential" in r.output
    import yaml

    from .conftest import small_raw
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(small_raw(), allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(main, ["creds", "add", "--root", str(root), "--config", str(path), "K77"])
    assert r.exit_code != 0 and "not an identity" in r.output
    r = CliRunner().invoke(main, ["creds", "add", "--root", str(root), "--config", str(path), "sms1"])
    assert r.exit_code == 0, r.output
