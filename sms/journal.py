"""The sender's own journal (SQLite, synchronous=FULL): what it was given and what became of it.

It makes the sender at-most-once per message id while the engine is
at-least-once: a resent request for a known id is never sent again, only its
state is reported again.  A message is marked ``sending`` (durably) before it
goes to the modem; after a crash such a message is reported ``unknown`` and not
retried, because it may have left already (never two messages for one reason).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hall.sqlite import open_durable

SCHEMA = """
CREATE TABLE IF NOT EXISTS msgs (
    id TEXT PRIMARY KEY, phone TEXT NOT NULL, text TEXT NOT NULL, state TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, retry_at REAL NOT NULL DEFAULT 0,
    concat_ref INTEGER NOT NULL, done_parts INTEGER NOT NULL DEFAULT 0, parts INTEGER NOT NULL DEFAULT 0,
    refs TEXT NOT NULL DEFAULT '[]', error TEXT, tries INTEGER NOT NULL DEFAULT 0,
    reported INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS msgs_state ON msgs(state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

FINAL = ("sent", "failed", "expired", "unknown")


@dataclass
class Msg:
    id: str
    phone: str
    text: str
    state: str
    created_at: float
    expires_at: float
    retry_at: float
    concat_ref: int
    done_parts: int
    parts: int
    refs: list[str]
    error: str | None
    tries: int


_COLS = "id, phone, text, state, created_at, expires_at, retry_at, concat_ref, done_parts, parts, refs, error, tries"


def _msg(row) -> Msg:
    r = list(row)
    r[10] = json.loads(r[10])
    return Msg(*r)


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> list[str]:
        """Open, and turn messages caught mid-send by a crash into ``unknown``; returns their ids."""
        db = self._db = open_durable(self.path, SCHEMA)
        ids = [r[0] for r in db.execute("SELECT id FROM msgs WHERE state = 'sending'")]
        db.execute("UPDATE msgs SET state = 'unknown', reported = 0, "
                   "error = 'the sender stopped while sending it' WHERE state = 'sending'")
        return ids

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "journal not open"
        return self._db

    def _next_ref(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'concat_ref'").fetchone()
        ref = (int(row[0]) + 1) % 256 if row else 1
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('concat_ref', ?)", (str(ref),))
        return ref

    def accept(self, sms_id: str, phone: str, text: str, created_at: float, expires_at: float,
               now: float) -> bool:
        """Journal a new message (state ``queued``); False if the id is known (it is then
        marked for a fresh report of its state)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM msgs WHERE id = ?", (sms_id,)).fetchone():
                db.execute("UPDATE msgs SET reported = 0 WHERE id = ? AND state != 'sending'", (sms_id,))
                db.execute("COMMIT")
                return False
            db.execute("INSERT INTO msgs (id, phone, text, state, created_at, expires_at, concat_ref, "
                       "updated_at) VALUES (?,?,?,?,?,?,?,?)",
                       (sms_id, phone, text, "queued", created_at, expires_at, self._next_ref(), now))
            db.execute("COMMIT")
            return True
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def next_due(self, now: float) -> Msg | None:
        row = self.db.execute(f"SELECT {_COLS} FROM msgs WHERE state = 'queued' AND retry_at <= ? "
                              "ORDER BY created_at, id LIMIT 1", (now,)).fetchone()
        return _msg(row) if row else None

    def get(self, sms_id: str) -> Msg | None:
        row = self.db.execute(f"SELECT {_COLS} FROM msgs WHERE id = ?", (sms_id,)).fetchone()
        return _msg(row) if row else None

    def set_state(self, sms_id: str, state: str, now: float, *, error: str | None = None,
                  parts: int | None = None, refs: list[str] | None = None, retry_at: float | None = None,
                  tried: bool = False) -> None:
        sets = ["state = ?", "updated_at = ?", "error = ?", "reported = 0"]
        args: list = [state, now, error]
        if parts is not None:
            sets.append("parts = ?")
            args.append(parts)
        if refs is not None:
            sets.append("refs = ?")
            args.append(json.dumps(refs))
        if retry_at is not None:
            sets.append("retry_at = ?")
            args.append(retry_at)
        if tried:
            sets.append("tries = tries + 1")
        self.db.execute(f"UPDATE msgs SET {', '.join(sets)} WHERE id = ?", (*args, sms_id))

    def progress(self, sms_id: str, done_parts: int, refs: list[str]) -> None:
        """A part went out: a retry after a fault resumes after it."""
        self.db.execute("UPDATE msgs SET done_parts = ?, refs = ? WHERE id = ?",
                        (done_parts, json.dumps(refs), sms_id))

    def unreported(self) -> list[Msg]:
        return [_msg(r) for r in self.db.execute(
            f"SELECT {_COLS} FROM msgs WHERE reported = 0 AND state != 'sending' ORDER BY updated_at")]

    def mark_reported(self, sms_id: str, state: str) -> None:
        self.db.execute("UPDATE msgs SET reported = 1 WHERE id = ? AND state = ?", (sms_id, state))

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM msgs GROUP BY state").fetchall())

    def prune(self, before: float) -> None:
        self.db.execute("DELETE FROM msgs WHERE updated_at < ? AND reported = 1 AND state IN "
                        "('sent','failed','expired','unknown')", (before,))
