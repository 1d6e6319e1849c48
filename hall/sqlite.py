"""SQLite opened for durability: WAL, synchronous=FULL, one writer thread."""

from __future__ import annotations

import os
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
    private(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    if schema:
        db.executescript(schema)
    return db


def private(path: str | Path) -> None:
    """Make ``path`` (created empty if missing) and its WAL and shm files 0600:
    they hold personal data, however well encrypted.  SQLite gives the -wal and
    -shm files the database file's mode, so a new database is private from its
    first byte; an older, wider one is narrowed here."""
    path = Path(path)
    if str(path) == ":memory:":
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass
