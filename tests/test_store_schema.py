"""The store's schema version: an unversioned database of today's engine opens
with its data intact, migrations run in order, one failing changes nothing."""

from __future__ import annotations

import sqlite3

import msgspec
import pytest

from caller.model import Ticket
from caller.store import Store
from caller.store_schema import MIGRATIONS, SchemaError, migrate, run_sql, version
from hall.crypto import DataCipher, new_key

# The tables exactly as the unversioned engine (and its follow-ups and SMS
# extensions) created them, copied here so a later edit of store_schema.V1
# cannot make this test agree with itself.
UNVERSIONED = """
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, number TEXT NOT NULL, state TEXT NOT NULL,
    data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_day ON tickets(day);
CREATE UNIQUE INDEX IF NOT EXISTS tickets_day_number ON tickets(day, number);
CREATE TABLE IF NOT EXISTS windows (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    day TEXT NOT NULL, prefix TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (day, prefix));
CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, day TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS replies_day ON replies(day);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY, ticket TEXT NOT NULL, day TEXT NOT NULL, level INTEGER,
    source TEXT NOT NULL, window TEXT, staff TEXT, matter TEXT, at REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS ratings_day ON ratings(day);
CREATE TABLE IF NOT EXISTS estimates (service TEXT PRIMARY KEY, minutes REAL NOT NULL);
CREATE TABLE IF NOT EXISTS appointments (code TEXT PRIMARY KEY, ticket TEXT, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS followups (
    id TEXT PRIMARY KEY, ticket TEXT NOT NULL, day TEXT NOT NULL, status TEXT NOT NULL,
    due TEXT NOT NULL, closed_at REAL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS followups_status ON followups(status);
CREATE TABLE IF NOT EXISTS sms (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, ticket TEXT NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL, created_at REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sms_day ON sms(day);
CREATE INDEX IF NOT EXISTS sms_state ON sms(state);
"""

DAY = "2026-11-20"
# rows as the unversioned engine wrote them (its JSON, byte for byte)
TICKET = (b'{"id":"20261120-A001","day":"2026-11-20","number":"A001","group":"A","seq":1,'
          b'"service":"M1","matter":"M1","bundle":null,"zone":"Z1","priority":"normal","lang":"zh-CN",'
          b'"state":"waiting","issued_at":1763600000.0,"enqueued_at":1763600000.0,"kiosk":"K1",'
          b'"phone":"13812345678","qseq":1}')
SMS = (b'{"id":"20261120-A001.issued","day":"2026-11-20","ticket":"20261120-A001","reason":"issued",'
       b'"phone":"13812345678","text":"hi","lang":"zh-CN","state":"pending","created_at":1763600000.0,'
       b'"expires_at":1763603600.0}')
FOLLOWUP = (b'{"followup":"FU-20261120-A001","ticket":"20261120-A001","number":"A001","day":"2026-11-20",'
            b'"level":1,"reasons":[],"comment":null,"window":"W1","window_number":"1","staff":"S1",'
            b'"matter":"M1","phone":"138****5678","opened_at":1763600000.0,"callback_due":"2026-11-23",'
            b'"due":"2026-11-27","status":"open"}')


def unversioned_db(path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(UNVERSIONED)
    db.execute("INSERT INTO tickets VALUES (?,?,?,?,?)", ("20261120-A001", DAY, "A001", "waiting", TICKET))
    db.execute("INSERT INTO counters VALUES (?,?,?)", (DAY, "A", 7))
    db.execute("INSERT INTO estimates VALUES (?,?)", ("M1", 8.5))
    db.execute("INSERT INTO replies VALUES (?,?,?)", ("kiosk/K1/issue/r1", DAY, b'{"id":"r1"}'))
    db.execute("INSERT INTO sms VALUES (?,?,?,?,?,?,?)",
               ("20261120-A001.issued", DAY, "20261120-A001", "issued", "pending", 1763600000.0, SMS))
    db.execute("INSERT INTO followups VALUES (?,?,?,?,?,?,?)",
               ("FU-20261120-A001", "20261120-A001", DAY, "open", "2026-11-27", None, FOLLOWUP))
    assert version(db) == 0
    db.close()


def test_an_unversioned_database_opens_with_its_data(tmp_path):
    path = tmp_path / "engine.sqlite"
    unversioned_db(path)
    key = DataCipher(new_key())
    s = Store(path, key)
    s.open()
    try:
        assert version(s.db) == len(MIGRATIONS)
        tickets, _windows, counters, estimates, _appts = s.load(DAY)
        assert tickets == [msgspec.json.decode(TICKET, type=Ticket)]
        assert tickets[0].phone == "13812345678"
        assert counters == [(DAY, "A", 7)] and estimates == {"M1": 8.5}
        assert s.reply("kiosk/K1/issue/r1") == b'{"id":"r1"}'
        assert [(r.id, r.state, r.phone) for r in s.sms_unfinished()] == [
            ("20261120-A001.issued", "pending", "13812345678")]
        assert [(f.followup, f.level) for f in s.followups(closed_since=0)] == [("FU-20261120-A001", 1)]
    finally:
        s.close()
    s2 = Store(path, key)  # a second open runs nothing again
    s2.open()
    assert version(s2.db) == len(MIGRATIONS) and len(s2.load(DAY)[0]) == 1
    s2.close()


def test_an_empty_file_gets_every_table(tmp_path):
    s = Store(tmp_path / "new.sqlite")
    s.open()
    names = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    s.close()
    assert names == {"tickets", "windows", "counters", "replies", "ratings", "estimates",
                     "appointments", "meta", "followups", "sms", "profiles", "ticket_forms", "cases",
                     "config_revisions", "day_stats", "presence"}


def _db(tmp_path):
    db = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    return db


def test_migrations_run_in_order_and_once(tmp_path):
    db = _db(tmp_path)
    ran = []
    steps = [("one", lambda d: (ran.append(1), run_sql(d, "CREATE TABLE a (x)"))),
             ("two", lambda d: (ran.append(2), run_sql(d, "INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)")))]
    assert migrate(db, steps[:1]) == 1 and ran == [1]
    assert migrate(db, steps) == 2 and ran == [1, 2]
    assert migrate(db, steps) == 2 and ran == [1, 2]
    assert list(db.execute("SELECT x FROM a")) == [(1,), (2,)]


def test_a_failing_migration_changes_nothing(tmp_path):
    db = _db(tmp_path)

    def half(d):
        run_sql(d, "CREATE TABLE b (x); INSERT INTO b VALUES (1)")
        raise RuntimeError("disk on fire")

    steps = [("one", lambda d: run_sql(d, "CREATE TABLE a (x)")), ("two", half)]
    with pytest.raises(SchemaError, match="v2 .two. failed: disk on fire"):
        migrate(db, steps)
    assert version(db) == 1  # the first step stays; nothing of the second
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["a"]


def test_a_newer_database_is_refused(tmp_path):
    db = _db(tmp_path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaError, match="newer than this engine"):
        migrate(db)


def test_both_connections_keep_a_small_page_cache(tmp_path):
    """SQLite's default cache is 2 MB per connection; the engine's commits and
    look-ups touch few pages again, so each keeps a smaller one (RSS)."""
    from caller.store import READER_CACHE_KIB, WRITER_CACHE_KIB

    s = Store(tmp_path / "c.sqlite")
    s.open()
    try:
        assert s.db.execute("PRAGMA cache_size").fetchone()[0] == -WRITER_CACHE_KIB
        assert s._reader().execute("PRAGMA cache_size").fetchone()[0] == -READER_CACHE_KIB
        assert s._reader() is not s.db and WRITER_CACHE_KIB < 2000 and READER_CACHE_KIB < 2000
    finally:
        s.close()
