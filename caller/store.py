"""The engine's durable store: SQLite in WAL mode, synchronous=FULL.

One transaction per batch of requests (group commit): the shell applies a
batch to the core, writes every change and every reply here, commits, and only
then publishes.  ``synchronous`` stays FULL — durability comes from batching,
not from weakening fsync.  Records are msgspec JSON blobs with a few indexed
columns for reports, so a new ticket field needs no migration.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from hall import messages as m
from hall.sqlite import open_durable

from .engine import Changes
from .model import Rating, Ticket, WindowRec

SCHEMA = """
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
"""

_enc = msgspec.json.Encoder()
_dec_ticket = msgspec.json.Decoder(Ticket)
_dec_window = msgspec.json.Decoder(WindowRec)
_dec_appt = msgspec.json.Decoder(m.Appointment)


class Store:
    """Owns the SQLite connection; used from the engine's worker thread only."""

    def __init__(self, path: str | Path, extra_schema: str = ""):
        self.path = Path(path)
        self.extra_schema = extra_schema  # the extensions' tables
        self._db: sqlite3.Connection | None = None
        # a second connection for look-ups from other threads: with WAL a reader
        # never waits for the writer's fsync, and sees only what is committed
        self._rdb: sqlite3.Connection | None = None

    def open(self) -> None:
        self._db = open_durable(self.path, SCHEMA + self.extra_schema)
        self._rdb = sqlite3.connect(self.path, check_same_thread=False)
        self._rdb.execute("PRAGMA query_only=1")

    def close(self) -> None:
        for c in (self._rdb, self._db):
            if c is not None:
                c.close()
        self._db = self._rdb = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "store not open"
        return self._db

    # ------------------------------------------------------------- load --
    def load(self, day: str):
        """Today's tickets, open tickets of earlier days, all windows, counters…"""
        db = self.db
        tickets = [_dec_ticket.decode(r[0]) for r in db.execute(
            "SELECT data FROM tickets WHERE day = ? OR (day < ? AND state IN "
            "('waiting','called','serving','noshow'))", (day, day))]
        windows = [_dec_window.decode(r[0]) for r in db.execute("SELECT data FROM windows")]
        counters = list(db.execute("SELECT day, prefix, seq FROM counters WHERE day >= ?", (day,)))
        estimates = dict(db.execute("SELECT service, minutes FROM estimates"))
        appts = [(_dec_appt.decode(r[0]), r[1]) for r in db.execute("SELECT data, ticket FROM appointments")]
        return tickets, windows, counters, estimates, appts

    def reply(self, key: str) -> bytes | None:
        row = self._reader().execute("SELECT data FROM replies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def ratings(self, day: str | None = None) -> list[Rating]:
        q = "SELECT data FROM ratings" + (" WHERE day = ?" if day else "") + " ORDER BY id"
        dec = msgspec.json.Decoder(Rating)
        return [dec.decode(r[0]) for r in self._reader().execute(q, (day,) if day else ())]

    def ticket(self, tid: str) -> Ticket | None:
        row = self._reader().execute("SELECT data FROM tickets WHERE id = ?", (tid,)).fetchone()
        return _dec_ticket.decode(row[0]) if row else None

    def _reader(self) -> sqlite3.Connection:
        assert self._rdb is not None, "store not open"
        return self._rdb

    # ------------------------------------------------------------ write --
    def commit(self, ch: Changes, replies: list[tuple[str, str, bytes]],
               extra: list[tuple[Any, list[Any]]] = ()) -> None:
        """Write one batch in one transaction; returns after the commit's fsync.

        ``extra`` is ``(extension, records)`` pairs written by the extension
        inside the same transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if ch.tickets:
                db.executemany(
                    "INSERT OR REPLACE INTO tickets (id, day, number, state, data) VALUES (?,?,?,?,?)",
                    [(t.id, t.day, t.number, t.state, _enc.encode(t)) for t in ch.tickets])
            if ch.windows:
                db.executemany("INSERT OR REPLACE INTO windows (id, data) VALUES (?,?)",
                               [(w.id, _enc.encode(w)) for w in ch.windows])
            if ch.counters:
                db.executemany(
                    "INSERT INTO counters (day, prefix, seq) VALUES (?,?,?) "
                    "ON CONFLICT(day, prefix) DO UPDATE SET seq = max(seq, excluded.seq)", ch.counters)
            if ch.ratings:
                db.executemany(
                    "INSERT INTO ratings (ticket, day, level, source, window, staff, matter, at, data) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    [(r.ticket, r.day, r.level, r.source, r.window, r.staff, r.matter, r.at, _enc.encode(r))
                     for r in ch.ratings])
            if ch.estimates:
                db.executemany("INSERT OR REPLACE INTO estimates (service, minutes) VALUES (?,?)",
                               list(ch.estimates.items()))
            if ch.appointments:
                db.executemany("INSERT OR REPLACE INTO appointments (code, ticket, data) VALUES (?,?,?)",
                               [(a.code, tid, _enc.encode(a)) for a, tid in ch.appointments])
            if replies:
                db.executemany("INSERT OR IGNORE INTO replies (key, day, data) VALUES (?,?,?)", replies)
            for ext, records in extra:
                if records:
                    ext.write(db, records)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def prune_replies(self, before_day: str) -> None:
        """Idempotency records are needed for retries, not forever."""
        self.db.execute("DELETE FROM replies WHERE day < ?", (before_day,))
