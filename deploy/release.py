"""Releases side by side under /opt/onewindow, switched by symlinks.

Each release is its own venv in ``releases/<name>``; ``current`` points at
the one the units run (their ExecStart is ``/opt/onewindow/current/bin/…``)
and ``previous`` at the one before, kept for a rollback.  A switch replaces a
symlink with ``rename(2)``, so there is never a moment without ``current``.

An upgrade of the hall server first takes a backup of the engine's database
(``pre-upgrade-<release>.sqlite``): the new engine migrates the schema at
start (caller/store_schema.py), and an older engine refuses a newer schema,
so a rollback past a migration restores that backup.  Tickets issued between
the upgrade and the rollback are then lost, and the command says so.

Pis and the hall LAN have no internet: packages come from a wheelhouse
(``pip download`` / ``pip wheel`` on a machine that has it, copied over) and
pip runs with ``--no-index``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import layout as L

# what each role runs beyond the core (pyproject.toml optional-dependencies)
EXTRAS = {"server": "web", "kiosk": "ui,input", "display": "ui", "announcer": "voice", "bridge": "input"}


class ReleaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Releases:
    root: Path

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    @property
    def current(self) -> Path | None:
        return self._target(L.CURRENT)

    @property
    def previous(self) -> Path | None:
        return self._target(L.PREVIOUS)

    def _target(self, link: str) -> Path | None:
        p = self.path(link)
        return self.path(L.RELEASES) / os.readlink(p).rsplit("/", 1)[-1] if p.is_symlink() else None

    def all(self) -> list[Path]:
        d = self.path(L.RELEASES)
        return sorted(p for p in d.iterdir() if p.is_dir()) if d.exists() else []

    def _link(self, link: str, release: Path) -> None:
        p = self.path(link)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(f"{L.RELEASES}/{release.name}")  # absolute on the target machine
        os.replace(tmp, p)

    def switch(self, release: Path) -> Path | None:
        """``current`` → ``release``; the old current becomes ``previous``."""
        old = self.current
        if old is not None and old.name != release.name:
            self._link(L.PREVIOUS, old)
        self._link(L.CURRENT, release)
        return old

    def prune(self) -> list[Path]:
        """Remove releases that are neither current nor previous."""
        keep = {p.name for p in (self.current, self.previous) if p is not None}
        gone = [p for p in self.all() if p.name not in keep]
        for p in gone:
            shutil.rmtree(p)
        return gone


def release_name(version: str, now: Callable[[], float] = time.time) -> str:
    return f"{version}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now()))}"


def project_version(source: Path) -> str:
    """The version of a wheel file or a project folder."""
    if source.suffix == ".whl":
        return source.name.split("-")[1]
    import tomllib
    return tomllib.loads((source / "pyproject.toml").read_text())["project"]["version"]


def build(rel: Releases, source: Path, role: str, *, wheelhouse: Path | None = None, no_deps: bool = False,
          python: str = sys.executable, name: str | None = None) -> Path:
    """A new venv with onewindow from ``source`` (a wheel or the project folder).

    ``no_deps``: only onewindow itself — for a staging tree, where nothing runs
    and the dependencies are not the point."""
    if name is None:
        base = release_name(project_version(source))
        name, n = base, 1
        while (rel.path(L.RELEASES) / name).exists():  # two builds in one second
            n += 1
            name = f"{base}-{n}"
    dest = rel.path(L.RELEASES) / name
    if dest.exists():
        raise ReleaseError(f"{dest} exists already")
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        # the release's own pip: the running release may be a venv without one,
        # and Debian's system pip refuses to install (PEP 668)
        subprocess.run([python, "-m", "venv", str(partial)], check=True, capture_output=True, text=True)
        extras = EXTRAS.get(role, "")
        target = str(source) + (f"[{extras}]" if extras and not no_deps else "")
        cmd = [str(partial / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-warn-script-location", "--no-compile"]
        cmd += ["--no-deps"] if no_deps else []
        cmd += ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
        r = subprocess.run(cmd + [target], capture_output=True, text=True)
        if r.returncode != 0:
            raise ReleaseError(f"pip install into {partial} failed:\n{r.stderr[-2000:]}")
        # the units' Documentation= points here; the docs travel in the wheel as package data
        docs = sorted(partial.glob("lib/python3*/site-packages/deploy/data/docs"))
        if docs:
            shutil.copytree(docs[0], partial / "docs")
        _fix_venv_paths(partial, dest, rel.root)
        os.replace(partial, dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return dest


def _fix_venv_paths(built: Path, final: Path, root: Path) -> None:
    """Scripts name their interpreter by absolute path: the one the release
    will have on the machine (under ``root`` only while staging)."""
    on_machine = f"/{final.relative_to(root)}" if str(root) != "/" else str(final)
    for f in (built / "bin").iterdir():
        if f.is_file() and not f.is_symlink():
            data = f.read_bytes()
            if str(built).encode() in data:  # shebangs, activate scripts
                f.write_bytes(data.replace(str(built).encode(), on_machine.encode()))
    cfg = built / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace(str(built), on_machine))


def schema_of(release: Path) -> int:
    """The newest schema version a release's engine knows (0: before versioning)."""
    r = subprocess.run([str(release / "bin" / "python"), "-c",
                        "import sys\ntry:\n from caller.store_schema import MIGRATIONS\n"
                        "except ModuleNotFoundError:\n print(0); sys.exit()\nprint(len(MIGRATIONS))"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise ReleaseError(f"cannot ask {release} for its schema version: {r.stderr[-500:]}")
    return int(r.stdout.strip())


def db_version(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()
