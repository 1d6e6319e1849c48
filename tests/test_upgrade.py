"""`onewindow upgrade` in a staging root: releases side by side, the previous
one kept for rollback, the engine's database saved before the switch; an
engine of the new release opens a database of the previous schema with its
tickets; a rollback past a migration restores the saved database."""

from __future__ import annotations

import os
import sqlite3

import pytest
from click.testing import CliRunner

from caller.store_schema import MIGRATIONS
from deploy import layout as L
from deploy.cli import upgrade_cmd
from deploy.release import Releases
from hall.bus import Requester
from tests.release_kit import REPO, onewindow_wheel  # noqa: F401 (fixture)
from tests.test_store_schema import DAY, TICKET, UNVERSIONED


def upgrade(root, *args):
    r = CliRunner().invoke(upgrade_cmd, ["--root", str(root), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def old_database(path):
    """A database as the release before the versioned store left it (user_version 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(UNVERSIONED)
    con.execute("INSERT INTO tickets (id, day, number, state, data) VALUES (?,?,?,?,?)",
                ("20261120-A001", DAY, "A001", "waiting", TICKET))
    con.commit()
    con.close()


@pytest.mark.broker
def test_upgrade_keeps_previous_release_and_migrates_old_database(tmp_path, onewindow_wheel, running_engine,
                                                                  bus_client, small_config):
    root = tmp_path / "root"
    db = root / L.ENGINE_DB.lstrip("/")
    old_database(db)
    rel = Releases(root)

    out = upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    first = rel.current
    assert first is not None and rel.previous is None and "built" in out
    # the units run current/bin/onewindow: an absolute link valid on the machine
    assert os.readlink(root / "opt/onewindow/current") == f"/opt/onewindow/releases/{first.name}"

    out = upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    second = rel.current
    assert second != first and rel.previous == first
    assert (first / "bin" / "onewindow").exists()  # kept whole for a rollback
    saved = root / L.BACKUPS.lstrip("/") / f"pre-upgrade-{second.name}.sqlite"
    assert f"database saved as {saved.name}" in out
    assert sqlite3.connect(saved).execute("PRAGMA user_version").fetchone()[0] == 0

    # the new engine starts on the old database: migrated, its ticket kept, numbering goes on
    svc = running_engine(db=db)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert con.execute("SELECT number FROM tickets WHERE id = '20261120-A001'").fetchone() == ("A001",)
    t = Requester(bus_client(small_config.hall.id, "upg"), "kiosk", "K1").call("issue", {"matter": "M1"}, timeout=5)
    assert t["ticket"]
    svc.stop()

    # a third release: the oldest goes, current and previous stay
    out = upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    assert f"removed old release {first.name}" in out and not first.exists()
    assert rel.previous == second


def test_rollback_past_a_migration_restores_the_saved_database(tmp_path, onewindow_wheel):
    root = tmp_path / "root"
    db = root / L.ENGINE_DB.lstrip("/")
    old_database(db)
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    con.commit()
    con.close()
    upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    rel = Releases(root)
    new, old = rel.current, rel.previous
    # what the new release's engine would do: a migration the old release does not know
    con = sqlite3.connect(db)
    con.execute("INSERT INTO tickets (id, day, number, state, data) VALUES ('after', ?, 'A002', 'waiting', ?)",
                (DAY, TICKET))
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.commit()
    con.close()

    out = upgrade(root, "--rollback")
    assert rel.current == old and rel.previous == new
    assert "tickets issued since the upgrade are not in it" in out
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert con.execute("SELECT count(*) FROM tickets WHERE id = 'after'").fetchone() == (0,)


def test_rollback_within_one_schema_keeps_the_database(tmp_path, onewindow_wheel):
    root = tmp_path / "root"
    upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    db = root / L.ENGINE_DB.lstrip("/")
    old_database(db)
    before = db.read_bytes()
    rel = Releases(root)
    old = rel.previous
    out = upgrade(root, "--rollback")
    assert rel.current == old and "restored" not in out
    assert db.read_bytes() == before


def test_the_wheel_carries_what_install_writes(onewindow_wheel):
    """An installed release can run `onewindow install`: units, broker config and docs are package data."""
    import zipfile
    names = set(zipfile.ZipFile(onewindow_wheel).namelist())
    for unit in (REPO / "systemd").iterdir():
        assert f"deploy/data/systemd/{unit.name}" in names
    assert "deploy/data/mosquitto/onewindow.conf" in names and "deploy/data/docs/deploy.md" in names


def test_rollback_without_a_previous_release_is_refused(tmp_path, onewindow_wheel):
    root = tmp_path / "root"
    upgrade(root, "--source", str(onewindow_wheel), "--no-deps")
    r = CliRunner().invoke(upgrade_cmd, ["--root", str(root), "--rollback"])
    assert r.exit_code == 1 and "no previous release" in r.output
