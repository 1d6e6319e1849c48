"""`onewindow backup` and `onewindow restore`: the engine's SQLite, online.

Backup uses SQLite's backup API in one step: the copy is one read
transaction, which in WAL mode never blocks the engine's writer and sees
exactly the state of one commit — every ticket acknowledged before the
backup began is in it (a reply is sent only after its commit).  A stepwise
copy (``pages=N``) would restart each time the engine commits and, under
load, might never finish.  The copy is written to a temporary file, checked
(``PRAGMA integrity_check``), fsynced and renamed, so a backup folder never
holds half a file; then the oldest copies beyond ``keep`` are removed.

Restore checks before it touches anything: the file's integrity, and that its
schema version is one this engine can open (``PRAGMA user_version`` ≤ the
newest migration).  The engine must be stopped; the database it replaces is
kept beside it, and the old ``-wal``/``-shm`` files are moved away with it (a
stale WAL replayed over a restored file would corrupt it).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Callable

NAME = re.compile(r"^caller-(\d{8}T\d{6}Z)(?:-(\d+))?\.sqlite$")


class BackupError(RuntimeError):
    """A backup that cannot be made, or a file that must not be restored."""


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_file(path: Path) -> int:
    """Integrity and schema version of a database file; returns its version."""
    from caller.store_schema import MIGRATIONS
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise BackupError(f"{path}: cannot open: {e}") from None
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            raise BackupError(f"{path}: integrity check failed: {'; '.join(rows[:5])}")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        has_tickets = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='tickets'").fetchone()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path}: not a usable SQLite database: {e}") from None
    finally:
        con.close()
    if not has_tickets:
        raise BackupError(f"{path}: no tickets table: not an engine database")
    if version > len(MIGRATIONS):
        raise BackupError(f"{path}: schema v{version} is newer than this engine's v{len(MIGRATIONS)}: "
                          "restore it with the release that made it")
    return version


def backup(db: str | Path, dest: str | Path, keep: int = 14,
           now: Callable[[], float] = time.time, name: str | None = None) -> Path:
    """An online copy of ``db`` into ``dest`` (0600); keeps the newest ``keep``.

    ``name``: a copy with this name, outside the rotation (before an upgrade)."""
    db, dest = Path(db), Path(dest)
    if not db.exists():
        raise BackupError(f"{db}: no such database")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now()))
    final = dest / (name or f"caller-{stamp}.sqlite")
    n = 1
    while final.exists() and not name:  # two backups in one second (a test, a manual run next to the timer)
        final = dest / f"caller-{stamp}-{n}.sqlite"
        n += 1
    tmp = dest / f".{final.name}.partial"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: never readable by others
    os.close(fd)
    src = sqlite3.connect(db, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)  # pages=-1: one step, one read transaction, one consistent state
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        dst.close()
        src.close()
    try:
        check_file(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
        _fsync_dir(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not name:
        rotate(dest, keep)
    return final


def backups(dest: str | Path) -> list[Path]:
    """The backups in ``dest``, oldest first."""
    d = Path(dest)
    if not d.exists():
        return []
    found = [(m.group(1), int(m.group(2) or 0), p) for p in d.iterdir() if (m := NAME.match(p.name))]
    return [p for *_, p in sorted(found)]


def rotate(dest: str | Path, keep: int) -> list[Path]:
    old = backups(dest)[:-keep] if keep > 0 else []
    for p in old:
        p.unlink()
    return old


def restore(src: str | Path, db: str | Path, now: Callable[[], float] = time.time) -> Path | None:
    """Replace ``db`` (engine stopped) with the checked copy ``src``.

    Returns where the replaced database was moved (None if there was none)."""
    src, db = Path(src), Path(db)
    check_file(src)
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.restoring")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(src, "rb") as f:
            while chunk := f.read(1 << 20):
                os.write(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    if os.geteuid() == 0:  # run as root (`sudo onewindow restore`): the engine's user keeps its file
        st = (db if db.exists() else db.parent).stat()
        os.chown(tmp, st.st_uid, st.st_gid)
    kept = None
    if db.exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now()))
        kept = db.with_name(f"{db.name}.before-restore-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{db}{suffix}")
            if p.exists():
                os.replace(p, Path(f"{kept}{suffix}"))
    os.replace(tmp, db)
    _fsync_dir(db.parent)
    return kept
