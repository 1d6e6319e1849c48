"""`onewindow upgrade`: a new release beside the running one, then the switch;
`onewindow upgrade --rollback`: back to the previous one (see release.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable

from . import layout as L
from .backup import backup, restore
from .release import Releases, ReleaseError, build, db_version, schema_of

Runner = Callable[[list[str]], None]


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def _units(root: Path) -> list[str]:
    d = root / L.UNIT_PATH.lstrip("/")
    return sorted(p.name for p in d.glob("onewindow-*.service")) if d.exists() else []


def _systemctl(root: Path, run: Runner, *args: str) -> str:
    if str(root) != "/":
        return "skipped: staging tree"
    if shutil.which("systemctl") is None:
        return "skipped: no systemctl"
    run(["systemctl", *args])
    return "done: systemctl " + " ".join(args)


def pre_upgrade_backup(root: Path, release: str) -> Path | None:
    db = root / L.ENGINE_DB.lstrip("/")
    if not db.exists():
        return None
    return backup(db, root / L.BACKUPS.lstrip("/"), name=f"pre-upgrade-{release}.sqlite")


def upgrade(root: Path, source: Path, role: str, *, wheelhouse: Path | None = None, no_deps: bool = False,
            run: Runner = _run, name: str | None = None) -> list[str]:
    rel = Releases(Path(root))
    out = []
    new = build(rel, source, role, wheelhouse=wheelhouse, no_deps=no_deps, name=name)
    out.append(f"built {new.name}")
    saved = pre_upgrade_backup(rel.root, new.name)
    if saved:
        out.append(f"database saved as {saved.name} (for a rollback past a schema migration)")
    old = rel.switch(new)
    out.append(f"current -> {new.name}" + (f", previous -> {old.name}" if old else ""))
    units = _units(rel.root)
    if units:  # the new engine migrates its schema as it starts
        out.append("restart: " + _systemctl(rel.root, run, "try-restart", *units))
    for gone in rel.prune():
        out.append(f"removed old release {gone.name}")
    return out


def rollback(root: Path, run: Runner = _run) -> list[str]:
    rel = Releases(Path(root))
    cur, prev = rel.current, rel.previous
    if cur is None or prev is None:
        raise ReleaseError("no previous release to go back to")
    out = []
    units = _units(rel.root)
    db = rel.root / L.ENGINE_DB.lstrip("/")
    if db.exists() and db_version(db) > schema_of(prev):
        saved = rel.root / L.BACKUPS.lstrip("/") / f"pre-upgrade-{cur.name}.sqlite"
        if not saved.exists():
            raise ReleaseError(f"the database is schema v{db_version(db)}, {prev.name} knows only "
                               f"v{schema_of(prev)}, and there is no {saved.name} to go back to")
        out.append("stop: " + _systemctl(rel.root, run, "stop", "onewindow-caller.service"))
        kept = restore(saved, db)
        out.append(f"database restored from {saved.name} (the newer one kept as {kept.name if kept else '-'}); "
                   "tickets issued since the upgrade are not in it")
    rel.switch(prev)
    out.append(f"current -> {prev.name}, previous -> {cur.name}")
    if units:
        out.append("restart: " + _systemctl(rel.root, run, "try-restart", *units))
    if any(line.startswith("stop: done") for line in out):
        out.append("start: " + _systemctl(rel.root, run, "start", "onewindow-caller.service"))
    return out
