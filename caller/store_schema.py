"""The engine database's schema version and its migrations.

``PRAGMA user_version`` is the schema version.  :data:`MIGRATIONS` is the one
ordered list of steps; step *n* takes a database from version *n-1* to *n*,
inside one transaction together with the new ``user_version``, so a migration
that fails half-way leaves the file exactly at the version it had.

Version 1 is the schema every engine before the versioned store created
(``user_version`` 0, tables made with ``CREATE TABLE IF NOT EXISTS``): its
step is idempotent, so an old database and an empty file both arrive at v1
the same way.  A later step is appended here, never edited once released;
an engine meeting a newer version than it knows refuses to start rather than
write rows it does not understand.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

# The tables as the engine and its extensions created them before versioning
# (the extensions' follow-ups and SMS outbox tables are the store's too now).
V1 = """
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

# v4: each config revision with its audit record (caller/config_admin.py)
V4_TABLES = """
CREATE TABLE IF NOT EXISTS config_revisions (
    revision INTEGER PRIMARY KEY, at REAL NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
    data BLOB NOT NULL);
"""


class SchemaError(RuntimeError):
    """The database cannot be brought to this engine's schema version."""


def run_sql(db: sqlite3.Connection, script: str) -> None:
    """Statements one by one: ``executescript`` would COMMIT the migration's
    transaction before its first statement."""
    for stmt in script.split(";"):
        if stmt.strip():
            db.execute(stmt)


class Keyed:
    """A migration step that needs the data key: ``fn(db, cipher)``."""

    def __init__(self, fn: Callable[[sqlite3.Connection, Any], None]):
        self.fn = fn


Migration = tuple[str, "Callable[[sqlite3.Connection], None] | Keyed"]


def _encrypt_personal_data(db: sqlite3.Connection, cipher: Any) -> None:
    """Phones and form data leave the JSON rows for an encrypted ``pii`` column
    (tickets, SMS outbox, appointments); appointments get their ``start`` as a
    column so the purge can find past ones."""
    import json
    run_sql(db, "ALTER TABLE tickets ADD COLUMN pii BLOB; ALTER TABLE sms ADD COLUMN pii BLOB; "
                "ALTER TABLE appointments ADD COLUMN pii BLOB; ALTER TABLE appointments ADD COLUMN start REAL")
    todo = []
    for table, key, fields in (("tickets", "id", ("phone", "form", "answers")), ("sms", "id", ("phone",)),
                               ("appointments", "code", ("phone",))):
        for k, data in db.execute(f"SELECT {key}, data FROM {table}").fetchall():
            rec = json.loads(data)
            personal = {f: rec.get(f) for f in fields if rec.get(f)}
            start = rec.get("start") if table == "appointments" else None
            if personal:
                if cipher is None:
                    raise SchemaError("personal data to encrypt but no data key "
                                      "(give the engine --data-key or the `data-key` credential)")
                for f in fields:
                    rec[f] = "" if f == "phone" and table == "sms" else None
                todo.append((table, key, k, cipher.encrypt_json(personal),
                             json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode(), start))
            elif start is not None:
                db.execute("UPDATE appointments SET start = ? WHERE code = ?", (start, k))
    for table, key, k, pii, data, start in todo:
        db.execute(f"UPDATE {table} SET pii = ?, data = ? WHERE {key} = ?", (pii, data, k))
        if table == "appointments":
            db.execute("UPDATE appointments SET start = ? WHERE code = ?", (start, k))


# Forms filled once: the citizens' profiles and the forms issued with tickets.
# Both hold only Fernet tokens (hall.crypto.DataCipher); a profile is found by
# the keyed hash of its ID number, never by the number itself.
V2_FORMS = """
CREATE TABLE profiles (
    key TEXT PRIMARY KEY, updated_at REAL NOT NULL, expires_at REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX profiles_expires ON profiles(expires_at);
CREATE TABLE ticket_forms (
    ticket TEXT PRIMARY KEY, day TEXT NOT NULL, target TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX ticket_forms_day ON ticket_forms(day);
"""

# Cases: one row per case, the applicant inside only as a DataCipher token.
V3_CASES = """
CREATE TABLE cases (
    id TEXT PRIMARY KEY, ticket TEXT, stage TEXT NOT NULL, open INTEGER NOT NULL,
    deadline TEXT NOT NULL, updated_at REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX cases_open ON cases(open);
CREATE INDEX cases_updated ON cases(updated_at);
CREATE UNIQUE INDEX cases_ticket ON cases(ticket) WHERE ticket IS NOT NULL;
"""

# Daily aggregates written as each day closes (caller/daystats.py), read by
# reports without touching a ticket; and the windows' open/paused stretches,
# the one part of a day the tickets do not record.
V5_DAYSTATS = """
CREATE TABLE day_stats (
    day TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (day, scope, key));
CREATE TABLE presence (
    day TEXT NOT NULL, window TEXT NOT NULL, start REAL NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (window, start));
CREATE INDEX presence_day ON presence(day);
"""

# A case an outside case system opened is found by "<system>:<its own number>"; unique,
# so a resent open can never make a second case.
V6_CASE_REFS = """
ALTER TABLE cases ADD COLUMN ref TEXT;
CREATE UNIQUE INDEX cases_ref ON cases(ref) WHERE ref IS NOT NULL;
"""

MIGRATIONS: list[Migration] = [
    ("tables of the unversioned engine (idempotent on such a database)", lambda db: run_sql(db, V1)),
    ("profiles and ticket forms (encrypted personal data)", lambda db: run_sql(db, V2_FORMS)),
    ("cases (办件) with their timelines", lambda db: run_sql(db, V3_CASES)),
    ("personal data encrypted at rest (phones, forms, answers), config revisions", Keyed(lambda db, cipher: (
        _encrypt_personal_data(db, cipher), run_sql(db, V4_TABLES)))),
    ("daily aggregates for reports and the windows' presence stretches", lambda db: run_sql(db, V5_DAYSTATS)),
    ("cases opened by an outside case system, found by its own number", lambda db: run_sql(db, V6_CASE_REFS)),
]


def version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, migrations: list[Migration] | None = None, cipher: Any = None) -> int:
    """Bring ``db`` (autocommit mode) to the newest version; returns it.

    ``cipher`` (a :class:`hall.crypto.DataCipher`) is needed only by steps that
    encrypt rows already there."""
    steps = MIGRATIONS if migrations is None else migrations
    have = version(db)
    if have > len(steps):
        raise SchemaError(f"database schema v{have} is newer than this engine's v{len(steps)}; "
                          "run the newer engine or restore a backup")
    for n, (what, step) in enumerate(steps[have:], start=have + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            step.fn(db, cipher) if isinstance(step, Keyed) else step(db)
            db.execute(f"PRAGMA user_version = {n:d}")
            db.execute("COMMIT")
        except BaseException as e:
            db.execute("ROLLBACK")
            raise SchemaError(f"migration to v{n} ({what}) failed: {e}") from e
    return len(steps)
