"""The engine's durable store: SQLite in WAL mode, synchronous=FULL.

One transaction per batch of requests (group commit): the shell applies a
batch to the core, writes every change and every reply here, commits, and only
then publishes.  ``synchronous`` stays FULL — durability comes from batching,
not from weakening fsync.  Records are msgspec JSON blobs with a few indexed
columns for reports, so a new ticket field needs no migration.

Every SQL statement of the engine lives here, the extensions' too: they hand
typed records (a follow-up, an SMS row) to :meth:`Store.commit` and read
through the methods below, so the store alone knows the tables, and the
schema version (caller/store_schema.py) covers all of them.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Iterator, Any

import msgspec

from hall import messages as m
from hall.crypto import DataCipher, KeyError_
from hall.sqlite import open_durable

from hall.daystats import DayStat
from hall.daystats import encode as _encode_daystat

from .config_admin import StoredRevision
from .cases import OPEN, Case
from .daystats import Presence
from .effects import Changes
from .form_records import FormsPurge, ProfileDrop, ProfileRow, TicketFormRow
from .model import Rating, Ticket, WindowRec
from .reply_keys import ReplyKeys
from .sms_rules import SmsRecord
from .store_schema import V1 as SCHEMA  # noqa: F401  (the unversioned schema, for old-DB tests)
from .store_schema import migrate

log = logging.getLogger("caller.store")

# SQLite's page cache per connection, KiB (its default is 2,000): the commits
# append at a few points of each index and the reader answers point look-ups,
# so the pages they touch again are few; the rest comes back from the OS's
# file cache in microseconds.  Measured on a 24,000-ticket day: commit CPU
# within 2 % and look-ups unchanged at these sizes, 1.7 MB less RSS
# (docs/benchmarks.md, "The engine's memory").
WRITER_CACHE_KIB = 512
READER_CACHE_KIB = 256

_enc = msgspec.json.Encoder()
_dec_ticket = msgspec.json.Decoder(Ticket)
_dec_window = msgspec.json.Decoder(WindowRec)
_dec_appt = msgspec.json.Decoder(m.Appointment)
_dec_rating = msgspec.json.Decoder(Rating)
_dec_followup = msgspec.json.Decoder(m.FollowUp)
_dec_sms = msgspec.json.Decoder(SmsRecord)


_dec_revision = msgspec.json.Decoder(StoredRevision)
_dec_presence = msgspec.json.Decoder(Presence)


def _seal(cipher: Any, personal: dict[str, Any]) -> bytes | None:
    if cipher is False:  # a purged day: its personal data is not written again
        return None
    if cipher is None:
        raise KeyError_("personal data to store but the store has no data key")
    return cipher.encrypt_json(personal)


def _ticket_row(t: Ticket, cipher: Any) -> tuple:
    if t.phone or t.form or t.answers:  # personal data goes to the encrypted column only
        pii = _seal(cipher, {"phone": t.phone, "form": t.form, "answers": t.answers})
        data = _enc.encode(msgspec.structs.replace(t, phone=None, form=None, answers=None))
    else:
        pii, data = None, _enc.encode(t)
    return (t.id, t.day, t.number, t.state, data, pii)


def _ticket(data: bytes, pii: bytes | None, cipher: DataCipher | None) -> Ticket:
    t = _dec_ticket.decode(data)
    if pii is not None and cipher is not None:
        p = cipher.decrypt_json(pii)
        t.phone, t.form, t.answers = p.get("phone"), p.get("form"), p.get("answers")
    return t


def _followup_row(f: m.FollowUp) -> tuple:
    return (f.followup, f.ticket, f.day, f.status, f.due, f.closed_at, _enc.encode(f))


def _sms_row(r: SmsRecord, cipher: Any) -> tuple:
    pii = _seal(cipher, {"phone": r.phone}) if r.phone else None
    return (r.id, r.day, r.ticket, r.reason, r.state, r.created_at,
            _enc.encode(msgspec.structs.replace(r, phone="")), pii)


def _sms(data: bytes, pii: bytes | None, cipher: DataCipher | None) -> SmsRecord:
    r = _dec_sms.decode(data)
    if pii is not None and cipher is not None:
        r.phone = cipher.decrypt_json(pii).get("phone") or ""
    return r


def _revision_row(r: StoredRevision) -> tuple:
    return (r.audit.revision, r.audit.at, r.audit.who, r.audit.action, zlib.compress(_enc.encode(r)))


_dec_case = msgspec.json.Decoder(Case)


def _case_row(c: Case) -> tuple:
    return (c.case, c.ticket, c.stage, int(c.stage in OPEN), c.deadline, c.updated_at, _enc.encode(c),
            f"{c.source}:{c.ref}" if c.ref else None)


# extension records by type: (upsert statement, row of one record)
_RECORDS: dict[type, tuple[str, Any]] = {
    Case: ("INSERT OR REPLACE INTO cases (id, ticket, stage, open, deadline, updated_at, data, ref) "
           "VALUES (?,?,?,?,?,?,?,?)", _case_row),
    m.FollowUp: ("INSERT OR REPLACE INTO followups (id, ticket, day, status, due, closed_at, data) "
                 "VALUES (?,?,?,?,?,?,?)", _followup_row),
    StoredRevision: ("INSERT OR REPLACE INTO config_revisions (revision, at, who, action, data) "
                     "VALUES (?,?,?,?,?)", _revision_row),
    DayStat: ("INSERT OR REPLACE INTO day_stats (day, scope, key, data) VALUES (?,?,?,?)",
              lambda r: (r.day, r.scope, r.key, _encode_daystat(r))),
    Presence: ("INSERT OR REPLACE INTO presence (day, window, start, data) VALUES (?,?,?,?)",
               lambda r: (r.day, r.window, r.start, _enc.encode(r))),
    ProfileRow: ("INSERT OR REPLACE INTO profiles (key, updated_at, expires_at, data) VALUES (?,?,?,?)",
                 lambda r: (r.key, r.updated_at, r.expires_at, r.data)),
    ProfileDrop: ("DELETE FROM profiles WHERE key = ?", lambda r: (r.key,)),
    TicketFormRow: ("INSERT OR REPLACE INTO ticket_forms (ticket, day, target, data) VALUES (?,?,?,?)",
                    lambda r: (r.ticket, r.day, r.target, r.data)),
}
# records with personal data, written with the data key: (statement, row of (record, cipher))
_KEYED: dict[type, tuple[str, Any]] = {
    SmsRecord: ("INSERT OR REPLACE INTO sms (id, day, ticket, reason, state, created_at, data, pii) "
                "VALUES (?,?,?,?,?,?,?,?)", _sms_row),
}
# records that run more than one statement
_PURGES: dict[type, tuple[tuple[str, Any], ...]] = {
    FormsPurge: (("DELETE FROM profiles WHERE expires_at <= ?", lambda r: (r.profiles_before,)),
                 ("DELETE FROM ticket_forms WHERE day < ?", lambda r: (r.forms_before_day,))),
}


class Store:
    """Owns the SQLite connection; used from the engine's worker thread only."""

    def __init__(self, path: str | Path, cipher: DataCipher | None = None):
        self.path = Path(path)
        self.cipher = cipher  # phones and forms are written only through it
        # personal data of days before this (and appointments before _purged_ts)
        # was purged: a late rewrite of such a row (a stale ticket closed at
        # start) must not bring it back
        self._purged_day, self._purged_ts = "", 0.0
        self.purges = 0  # purges that deleted something
        # the idempotency keys the replies table may hold (filled at open): a new
        # request's key, nearly always absent, is known absent without a query
        self.reply_keys = ReplyKeys()
        self._db: sqlite3.Connection | None = None
        # a second connection for look-ups from other threads: with WAL a reader
        # never waits for the writer's fsync, and sees only what is committed
        self._rdb: sqlite3.Connection | None = None

    def open(self) -> None:
        self._db = open_durable(self.path)
        # a purge overwrites what it deletes, in the file and in the WAL
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        migrate(self._db, cipher=self.cipher)
        for key, day in self._db.execute("SELECT key, day FROM replies"):
            self.reply_keys.add(key, day)
        if str(self.path) != ":memory:":
            self._rdb = sqlite3.connect(self.path, check_same_thread=False)
            self._rdb.execute("PRAGMA query_only=1")
            self._rdb.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")

    def last_issued_at(self) -> float | None:
        """When the newest committed ticket was issued (its day through the index)."""
        row = self.db.execute(
            "SELECT max(json_extract(CAST(data AS TEXT), '$.issued_at')) FROM tickets "
            "WHERE day = (SELECT max(day) FROM tickets)").fetchone()
        return row[0] if row else None

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
        c = self.cipher
        tickets = [_ticket(r[0], r[1], c) for r in db.execute(
            "SELECT data, pii FROM tickets WHERE day = ? OR (day < ? AND state IN "
            "('waiting','called','serving','noshow'))", (day, day))]
        windows = [_dec_window.decode(r[0]) for r in db.execute("SELECT data FROM windows")]
        counters = list(db.execute("SELECT day, prefix, seq FROM counters WHERE day >= ?", (day,)))
        estimates = dict(db.execute("SELECT service, minutes FROM estimates"))
        appts = [(self._appt(r[0], r[2]), r[1]) for r in db.execute(
            "SELECT data, ticket, pii FROM appointments")]
        return tickets, windows, counters, estimates, appts

    def followups(self, closed_since: float) -> list[m.FollowUp]:
        """Open follow-ups and those closed at or after ``closed_since``."""
        return [_dec_followup.decode(r[0]) for r in self.db.execute(
            "SELECT data FROM followups WHERE status = 'open' OR closed_at >= ?", (closed_since,))]

    def _key_for(self, day: str | None) -> DataCipher | None | bool:
        """The cipher for a row of ``day``; False for a day already purged."""
        return False if day is not None and day < self._purged_day else self.cipher

    def _appt(self, data: bytes, pii: bytes | None) -> m.Appointment:
        a = _dec_appt.decode(data)
        if pii is not None and self.cipher is not None:
            a.phone = self.cipher.decrypt_json(pii).get("phone")
        return a
    def cases_to_restore(self, recent: int) -> tuple[Iterator[tuple], list[Case], str]:
        """(the index of every open case — number, deadline, stage, department, warning,
        acked, source, matter, ticket, accepted day, ref — the ``recent`` latest updated
        whole, the highest case number). The index is read by SQLite from the JSON, so
        50,000 open cases are never decoded whole at once."""
        db = self.db
        j = "json_extract(CAST(data AS TEXT), '$.{}')".format
        open_ = db.execute(f"SELECT id, deadline, stage, {j('department')}, {j('warning')}, {j('acked')}, "
                           f"{j('source')}, {j('matter')}, ticket, {j('accepted_day')}, ref "
                           "FROM cases WHERE open = 1")  # a cursor: rows one at a time
        latest = [_dec_case.decode(r[0]) for r in db.execute(
            "SELECT data FROM cases ORDER BY updated_at DESC LIMIT ?", (recent,))]
        row = db.execute("SELECT id FROM cases ORDER BY id DESC LIMIT 1").fetchone()
        return open_, latest, row[0] if row else ""

    def case(self, number: str) -> Case | None:
        row = self._reader().execute("SELECT data FROM cases WHERE id = ?", (number,)).fetchone()
        return _dec_case.decode(row[0]) if row else None

    def case_for_ticket(self, ticket: str) -> str | None:
        row = self._reader().execute("SELECT id FROM cases WHERE ticket = ?", (ticket,)).fetchone()
        return row[0] if row else None

    def case_by_ref(self, system: str, ref: str) -> str | None:
        """The number of the case an outside case system knows as ``ref``."""
        row = self._reader().execute("SELECT id FROM cases WHERE ref = ?", (f"{system}:{ref}",)).fetchone()
        return row[0] if row else None

    def case_counts(self) -> list[tuple[str, int]]:
        """(department, result) counts of decided cases, for the per-department stats."""
        return list(self.db.execute(
            "SELECT json_extract(CAST(data AS TEXT), '$.department') || '|' || "
            "json_extract(CAST(data AS TEXT), '$.result'), count(*) FROM cases "
            "WHERE json_extract(CAST(data AS TEXT), '$.result') IS NOT NULL GROUP BY 1"))

    # ------------------------------------------------ daily aggregates --
    def tickets_of_day(self, day: str) -> list[Ticket]:
        """A day's tickets without their personal data (the aggregate needs none)."""
        return [_dec_ticket.decode(r[0]) for r in self._reader().execute(
            "SELECT data FROM tickets WHERE day = ?", (day,))]

    def presence(self, day: str) -> list[Presence]:
        return [_dec_presence.decode(r[0]) for r in self._reader().execute(
            "SELECT data FROM presence WHERE day = ? ORDER BY start", (day,))]

    def cases_touched_since(self, since: float) -> list[Case]:
        """Cases updated at or after ``since`` (those decided since then among them)."""
        return [_dec_case.decode(r[0]) for r in self._reader().execute(
            "SELECT data FROM cases WHERE updated_at >= ?", (since,))]

    def days_to_close(self, today: str) -> list[str]:
        """Days before ``today`` with tickets and no aggregate yet."""
        return [r[0] for r in self._reader().execute(
            "SELECT DISTINCT day FROM tickets WHERE day < ? AND day NOT IN "
            "(SELECT day FROM day_stats WHERE scope = 'hall') ORDER BY day", (today,))]

    def sms_unfinished(self) -> list[SmsRecord]:
        """SMS rows the sender has not reported final (pending or queued); a row
        whose phone was purged can never be sent."""
        return [_sms(r[0], r[1], self.cipher) for r in self.db.execute(
            "SELECT data, pii FROM sms WHERE state IN ('pending', 'queued') AND pii IS NOT NULL")]

    def sms_rows(self, day: str | None = None) -> list[SmsRecord]:
        q = "SELECT data, pii FROM sms" + (" WHERE day = ?" if day else "") + " ORDER BY created_at, id"
        return [_sms(r[0], r[1], self.cipher) for r in self._reader().execute(q, (day,) if day else ())]

    def config_revisions(self) -> list[StoredRevision]:
        return [_dec_revision.decode(zlib.decompress(r[0])) for r in self.db.execute(
            "SELECT data FROM config_revisions ORDER BY revision")]

    def profile(self, key: str) -> ProfileRow | None:
        row = self._reader().execute("SELECT key, updated_at, expires_at, data FROM profiles WHERE key = ?",
                                     (key,)).fetchone()
        return ProfileRow(key=row[0], updated_at=row[1], expires_at=row[2], data=row[3]) if row else None

    def ticket_form(self, ticket: str) -> TicketFormRow | None:
        row = self._reader().execute("SELECT ticket, day, target, data FROM ticket_forms WHERE ticket = ?",
                                     (ticket,)).fetchone()
        return TicketFormRow(ticket=row[0], day=row[1], target=row[2], data=row[3]) if row else None

    def reply(self, key: str) -> bytes | None:
        if not self.reply_keys.maybe(key):
            return None
        row = self._reader().execute("SELECT data FROM replies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def ratings(self, day: str | None = None) -> list[Rating]:
        q = "SELECT data FROM ratings" + (" WHERE day = ?" if day else "") + " ORDER BY id"
        return [_dec_rating.decode(r[0]) for r in self._reader().execute(q, (day,) if day else ())]

    def ticket(self, tid: str) -> Ticket | None:
        row = self._reader().execute("SELECT data, pii FROM tickets WHERE id = ?", (tid,)).fetchone()
        return _ticket(row[0], row[1], self.cipher) if row else None

    def _reader(self) -> sqlite3.Connection:
        # an in-memory store (tests of the pure core) has one connection only
        c = self._rdb or self._db
        assert c is not None, "store not open"
        return c

    # ------------------------------------------------------------ write --
    def commit(self, ch: Changes, replies: list[tuple[str, str, bytes]],
               records: list[Any] = ()) -> None:
        """Write one batch in one transaction; returns after the commit's fsync.

        ``records`` are the extensions' typed records (follow-ups, SMS rows),
        written inside the same transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if ch.tickets:
                db.executemany(
                    "INSERT OR REPLACE INTO tickets (id, day, number, state, data, pii) VALUES (?,?,?,?,?,?)",
                    [_ticket_row(t, self._key_for(t.day)) for t in ch.tickets])
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
                db.executemany(
                    "INSERT OR REPLACE INTO appointments (code, ticket, data, pii, start) VALUES (?,?,?,?,?)",
                    [(a.code, tid, _enc.encode(msgspec.structs.replace(a, phone=None)),
                      _seal(self.cipher, {"phone": a.phone}) if a.phone and a.start >= self._purged_ts
                      else None, a.start)
                     for a, tid in ch.appointments])
            if replies:
                for key, day, _ in replies:  # known before written: a look-up never misses it
                    self.reply_keys.add(key, day)
                db.executemany("INSERT OR IGNORE INTO replies (key, day, data) VALUES (?,?,?)", replies)
            for rec in records:
                keyed = _KEYED.get(type(rec))
                if keyed is not None:  # personal data: sealed with the data key, unless purged
                    db.execute(keyed[0], keyed[1](rec, self._key_for(rec.day)))
                    continue
                for sql, row in _PURGES.get(type(rec)) or (_RECORDS[type(rec)],):
                    db.execute(sql, row(rec))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def prune_replies(self, before_day: str) -> None:
        """Idempotency records are needed for retries, not forever."""
        self.db.execute("DELETE FROM replies WHERE day < ?", (before_day,))
        self.reply_keys.forget_before(before_day)

    def purge_personal(self, before_day: str, before_ts: float) -> int:
        """Delete the phones and form data of tickets and SMS of days before
        ``before_day`` and of appointments that started before ``before_ts``;
        the tickets themselves stay for the statistics.  ``secure_delete`` zeroes
        the freed bytes and the WAL is truncated, so nothing of them stays in
        the files.  Returns how many rows lost their personal data."""
        self._purged_day, self._purged_ts = max(self._purged_day, before_day), max(self._purged_ts, before_ts)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            n = db.execute("UPDATE tickets SET pii = NULL WHERE pii IS NOT NULL AND day < ?",
                           (before_day,)).rowcount
            n += db.execute("UPDATE sms SET pii = NULL WHERE pii IS NOT NULL AND day < ?",
                            (before_day,)).rowcount
            n += db.execute("UPDATE appointments SET pii = NULL WHERE pii IS NOT NULL AND start < ?",
                            (before_ts,)).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if n:  # the WAL still holds the pages as they were: fold it in and empty it
            for _ in range(50):
                if db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0:
                    break
                time.sleep(0.02)  # a reader on an older snapshot: it finishes in a moment
            else:
                log.warning("purged personal data may stay in %s-wal until the next checkpoint", self.path)
            self.purges += 1  # done, WAL and all (tests wait for it)
        return n
