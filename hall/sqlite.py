"""SQLite opened for durability: WAL, synchronous=FULL, one writer thread."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_durable(path: str | Path, schema: str = "") -> sqlite3.Connection:
    """Open (creating folders and, given a ``schema``, tables) in autocommit mode;
    callers BEGIN/COMMIT.

    synchronous=FULL: a COMMIT returns after the WAL is on disk, which is what
    lets a process acknowledge only what survives ``kill -9`` and power loss.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    if schema:
        db.executescript(schema)
    return db
