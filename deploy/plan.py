"""An install as a list of files with modes and owners, applied idempotently.

Every step of `onewindow install` first becomes an :class:`Entry` (a folder,
a file with its bytes, or a symlink), so ``--dry-run`` can print every file
before anything is written, and ``--root DIR`` writes the same tree under a
staging folder.  Owners are applied with ``chown`` only on a real install as
root; in a staging tree they are recorded in the manifest (``MANIFEST``),
which is how tests (and an admin) check who would own what.

A secret (``secret=True``) is never overwritten once it exists — re-running
the installer must not lock devices out — and is never printed.
"""

from __future__ import annotations

import json
import os
import pwd
import grp
from dataclasses import dataclass
from pathlib import Path

from .layout import MANIFEST


@dataclass(frozen=True)
class Entry:
    path: str  # absolute, as on the target machine
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    content: bytes | None = None  # None: a folder (or a symlink when ``link`` is set)
    link: str | None = None
    secret: bool = False  # written once, kept afterwards, never printed
    why: str = ""

    @property
    def kind(self) -> str:
        return "link" if self.link else "dir" if self.content is None else "file"


def text(path: str, body: str, mode: int = 0o644, owner: str = "root", group: str = "root",
         why: str = "") -> Entry:
    return Entry(path, mode, owner, group, body.encode("utf-8"), why=why)


def folder(path: str, mode: int = 0o755, owner: str = "root", group: str = "root", why: str = "") -> Entry:
    return Entry(path, mode, owner, group, why=why)


def describe(e: Entry) -> str:
    """How --dry-run shows an entry: the header line and, for files, every line."""
    head = f"{e.kind} {e.path} {e.mode:04o} {e.owner}:{e.group}" + (f" -> {e.link}" if e.link else "")
    if e.why:
        head += f"  # {e.why}"
    if e.kind != "file":
        return head
    if e.secret:
        return head + f"\n    <secret, {len(e.content or b'')} bytes, kept if it exists>"
    body = (e.content or b"").decode("utf-8", "replace")
    return head + "\n" + "".join(f"    {line}\n" for line in body.splitlines()).rstrip("\n")


class Applier:
    """Writes entries under ``root``; returns what it did to each path."""

    def __init__(self, root: str | Path = "/", chown: bool | None = None):
        self.root = Path(root)
        # chown needs root and the real users: only on the machine itself
        self.chown = (str(self.root) == "/" and os.geteuid() == 0) if chown is None else chown

    def target(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def apply(self, entries: list[Entry]) -> list[tuple[str, str]]:
        done = [(e.path, self._one(e)) for e in entries]
        self._record(entries)
        return done

    def _one(self, e: Entry) -> str:
        t = self.target(e.path)
        if e.kind == "dir":
            existed = t.is_dir()
            t.mkdir(parents=True, exist_ok=True)
            changed = self._meta(t, e)
            return "unchanged" if existed and not changed else "written"
        t.parent.mkdir(parents=True, exist_ok=True)
        if e.kind == "link":
            if t.is_symlink() and os.readlink(t) == e.link:
                return "unchanged"
            tmp = t.with_name(t.name + ".new")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(e.link)
            os.replace(tmp, t)  # atomic: never a moment without the link
            return "written"
        assert e.content is not None
        if t.exists():
            if e.secret:
                self._meta(t, e)
                return "kept"
            if t.read_bytes() == e.content:
                return "unchanged" if not self._meta(t, e) else "written"
        tmp = t.with_name(t.name + ".onewindow-new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, e.mode)
        try:
            os.write(fd, e.content)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._meta(tmp, e)
        os.replace(tmp, t)
        return "written"

    def _meta(self, t: Path, e: Entry) -> bool:
        """Mode (and owner on a real install); True if something changed."""
        st = t.stat()
        changed = (st.st_mode & 0o7777) != e.mode
        if changed:
            os.chmod(t, e.mode)
        if self.chown:
            uid, gid = pwd.getpwnam(e.owner).pw_uid, grp.getgrnam(e.group).gr_gid
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.chown(t, uid, gid)
                changed = True
        return changed

    def adopt(self, entries: list[Entry]) -> None:
        """Files another tool wrote (hall.creds, hall.certs): set their mode and
        owner as ``entries`` say, and record them."""
        for e in entries:
            self._meta(self.target(e.path), e)
        self._record(entries)

    def _record(self, entries: list[Entry]) -> None:
        """The manifest: every path with its mode and owner, merged over earlier runs."""
        path = self.target(MANIFEST)
        old = json.loads(path.read_text()) if path.exists() else {}
        for e in entries:
            old[e.path] = {"kind": e.kind, "mode": f"{e.mode:04o}", "owner": e.owner, "group": e.group}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(old, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
