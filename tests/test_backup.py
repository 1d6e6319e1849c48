"""`onewindow backup` while kiosks are issuing through a running engine, and
`onewindow restore` into a working engine: every ticket acknowledged before
the backup began is there; restore refuses corrupt or too-new files."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading

import pytest

from caller.store_schema import MIGRATIONS
from deploy.backup import BackupError, backup, backups, restore, rotate
from hall.bus import RequestError, Requester

pytestmark = pytest.mark.broker


def test_backup_under_load_restores_every_acknowledged_ticket(running_engine, bus_client, small_config,
                                                               tmp_path):
    db = tmp_path / "engine.sqlite"
    svc = running_engine(db=db)
    hid = small_config.hall.id
    acked: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def kiosk(n: int) -> None:
        req = Requester(bus_client(hid, f"bk{n}"), "kiosk", f"K{n}")
        while not stop.is_set():
            try:
                t = req.call("issue", {"matter": ["M1", "M4", "M2"][n % 3]}, timeout=2, retries=0)
            except RequestError:
                continue
            with lock:
                acked.append((t["ticket"], t["number"]))

    threads = [threading.Thread(target=kiosk, args=(i,), daemon=True) for i in range(4)]
    for th in threads:
        th.start()
    try:
        snapshots = []
        for _ in range(3):
            while True:  # positive marker: tickets keep arriving between backups
                with lock:
                    if len(acked) >= 40 * (len(snapshots) + 1):
                        before = list(acked)
                        break
                stop.wait(0.01)
            snapshots.append((backup(db, tmp_path / "backups", keep=2), before))
    finally:
        stop.set()
        for th in threads:
            th.join(5)
    # rotation kept the newest two
    kept = backups(tmp_path / "backups")
    assert kept == [p for p, _ in snapshots[1:]]
    assert not snapshots[0][0].exists()
    path, before = snapshots[-1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    svc.stop()

    # restore into a fresh place and run an engine on it
    target = tmp_path / "restored" / "engine.sqlite"
    restore(path, target)
    restored = running_engine(db=target)
    rows = dict(sqlite3.connect(target).execute("SELECT id, number FROM tickets"))
    for tid, number in before:
        assert rows.get(tid) == number, f"acknowledged {number} missing from the backup"
    # the restored engine works and numbers on without repeating
    req = Requester(bus_client(hid, "after"), "kiosk", "KR")
    new = req.call("issue", {"matter": "M1"}, timeout=5)
    assert new["number"] not in set(rows.values())
    restored.stop()


def small_db(path, version: int, script: str = "CREATE TABLE tickets (id TEXT);"):
    con = sqlite3.connect(path)
    con.executescript(script)
    con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()
    return path


def test_restore_keeps_the_replaced_database_and_drops_its_wal(tmp_path):
    good = small_db(tmp_path / "good.sqlite", len(MIGRATIONS),
                    "CREATE TABLE tickets (id TEXT); INSERT INTO tickets VALUES ('T-good');")
    db = tmp_path / "live" / "caller.sqlite"
    db.parent.mkdir()
    old = sqlite3.connect(db)
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript("CREATE TABLE tickets (id TEXT); INSERT INTO tickets VALUES ('T-old');")
    wal = db.with_name("caller.sqlite-wal")
    assert wal.exists()  # the old database still has its WAL (connection open, as after a crash)
    kept = restore(good, db)
    old.close()
    assert [r[0] for r in sqlite3.connect(db).execute("SELECT id FROM tickets")] == ["T-good"]
    assert kept is not None and [r[0] for r in sqlite3.connect(kept).execute("SELECT id FROM tickets")] == ["T-old"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_restore_refuses_a_corrupt_file_and_changes_nothing(tmp_path):
    good = tmp_path / "good.sqlite"
    con = sqlite3.connect(good)
    con.executescript("CREATE TABLE tickets (id TEXT, pad TEXT);")
    con.executemany("INSERT INTO tickets VALUES (?, ?)", [(f"T{i}", "x" * 500) for i in range(400)])
    con.execute("CREATE INDEX t_id ON tickets(id)")
    con.commit()
    con.close()
    bad = tmp_path / "bad.sqlite"
    data = bytearray(good.read_bytes())
    data[4096 * 3: 4096 * 3 + 200] = b"\xff" * 200  # a page of the table overwritten
    bad.write_bytes(bytes(data))
    db = tmp_path / "caller.sqlite"
    db.write_bytes(good.read_bytes())
    before = db.read_bytes()
    with pytest.raises(BackupError):
        restore(bad, db)
    assert db.read_bytes() == before


def test_restore_refuses_a_newer_schema(tmp_path):
    newer = small_db(tmp_path / "newer.sqlite", len(MIGRATIONS) + 1)
    with pytest.raises(BackupError, match="newer than this engine"):
        restore(newer, tmp_path / "caller.sqlite")
    assert not (tmp_path / "caller.sqlite").exists()


def test_rotation_keeps_the_newest(tmp_path):
    for stamp in ("20261101T020000Z", "20261102T020000Z", "20261103T020000Z"):
        (tmp_path / f"caller-{stamp}.sqlite").write_bytes(b"")
    (tmp_path / "pre-upgrade-r1.sqlite").write_bytes(b"")  # not a rotated backup: left alone
    gone = rotate(tmp_path, 2)
    assert [p.name for p in gone] == ["caller-20261101T020000Z.sqlite"]
    assert (tmp_path / "pre-upgrade-r1.sqlite").exists()


def test_backup_and_restore_commands(tmp_path):
    from click.testing import CliRunner

    from deploy.cli import backup_cmd, restore_cmd
    db = small_db(tmp_path / "caller.sqlite", len(MIGRATIONS),
                  "CREATE TABLE tickets (id TEXT); INSERT INTO tickets VALUES ('T1');")
    r = CliRunner().invoke(backup_cmd, ["--db", str(db), "--dir", str(tmp_path / "b"), "--keep", "3"])
    assert r.exit_code == 0, r.output
    (copy,) = backups(tmp_path / "b")
    assert r.output.strip() == str(copy)
    sqlite3.connect(db).execute("DELETE FROM tickets").connection.commit()
    r = CliRunner().invoke(restore_cmd, [str(copy), "--db", str(db), "--no-systemd"])
    assert r.exit_code == 0 and "the replaced database is" in r.output, r.output
    assert [t for (t,) in sqlite3.connect(db).execute("SELECT id FROM tickets")] == ["T1"]
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    r = CliRunner().invoke(restore_cmd, [str(junk), "--db", str(db), "--no-systemd"])
    assert r.exit_code == 1 and "junk.sqlite" in r.output
    assert [t for (t,) in sqlite3.connect(db).execute("SELECT id FROM tickets")] == ["T1"]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_restore_as_root_leaves_the_file_to_the_engines_user(tmp_path):
    db = small_db(tmp_path / "caller.sqlite", len(MIGRATIONS))
    os.chown(db, 4321, 4321)  # the engine's user
    good = small_db(tmp_path / "good.sqlite", len(MIGRATIONS))
    restore(good, db)
    assert (db.stat().st_uid, db.stat().st_gid) == (4321, 4321)
