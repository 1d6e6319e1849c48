"""Acknowledgements of alerts, kept by the web process in its own small SQLite.

The engine has no acknowledge operation for 空岗, follow-ups or balancer
suggestions (a follow-up is *closed* with `onewindow followup`, which is a
different act): a supervisor's "I have seen it, someone is on it" is recorded
here with who and when, and never changes the hall's queue.

An alert's key includes when it began (``unattended:W3:1764480000``), so an
alert that clears and comes back must be acknowledged again.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS acks (
    key TEXT PRIMARY KEY,   -- the alert's key (kind:subject:since)
    kind TEXT NOT NULL,
    by TEXT NOT NULL,       -- the console account that acknowledged
    role TEXT NOT NULL,
    at REAL NOT NULL,       -- epoch seconds
    note TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True)
class Ack:
    key: str
    kind: str
    by: str
    role: str
    at: float
    note: str


class AckStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def open(self) -> "AckStore":
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._db.executescript(SCHEMA)
        return self

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.open()
        return self._db  # type: ignore[return-value]

    def ack(self, key: str, kind: str, by: str, role: str, at: float, note: str = "") -> Ack:
        """Record the first acknowledgement of ``key``; a second one keeps the first (who was first counts)."""
        with self._lock:
            db = self._conn()
            db.execute("INSERT OR IGNORE INTO acks(key, kind, by, role, at, note) VALUES (?,?,?,?,?,?)",
                       (key, kind, by, role, at, note))
            row = db.execute("SELECT key, kind, by, role, at, note FROM acks WHERE key=?", (key,)).fetchone()
        return Ack(*row)

    def get(self, keys: list[str]) -> dict[str, Ack]:
        if not keys:
            return {}
        with self._lock:
            rows = self._conn().execute(
                f"SELECT key, kind, by, role, at, note FROM acks WHERE key IN ({','.join('?' * len(keys))})",
                keys).fetchall()
        return {r[0]: Ack(*r) for r in rows}

    def recent(self, limit: int = 50) -> list[Ack]:
        with self._lock:
            rows = self._conn().execute("SELECT key, kind, by, role, at, note FROM acks ORDER BY at DESC "
                                        "LIMIT ?", (limit,)).fetchall()
        return [Ack(*r) for r in rows]
