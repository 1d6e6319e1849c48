"""The systemd units shipped in systemd/, and a root in which
`systemd-analyze verify --root` can check them away from a real machine."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# package data (links to systemd/ in a checkout), so an installed release can install too
UNIT_DIR = Path(__file__).resolve().parent / "data" / "systemd"
HOST_UNITS = Path("/usr/lib/systemd/system")  # the targets our units name (multi-user, network-online…)


def unit_text(name: str) -> str:
    return (UNIT_DIR / name).read_text(encoding="utf-8")


def exec_paths(text: str) -> list[str]:
    """The executables of ``ExecStart=`` lines (verify checks they exist)."""
    return [m.group(1) for m in re.finditer(r"^ExecStart=[-@:+!]*(\S+)", text, flags=re.M)]


def verify_root(root: Path, units: list[Path], executables: bool = True) -> Path:
    """A tree with the host's own unit folder and ``units`` in /etc/systemd/system.

    ``executables``: put an empty executable where ExecStart points when the
    tree has none (a staged install without a release)."""
    dest = root / "etc/systemd/system"
    dest.mkdir(parents=True, exist_ok=True)
    lib = root / "usr/lib/systemd/system"
    if not lib.exists():
        shutil.copytree(HOST_UNITS, lib, symlinks=True)
    for u in units:
        if u.parent != dest:
            shutil.copy(u, dest / u.name)
        if executables:
            for exe in exec_paths(u.read_text(encoding="utf-8")):
                t = root / exe.lstrip("/")
                if not t.exists() and not t.is_symlink():
                    t.parent.mkdir(parents=True, exist_ok=True)
                    t.write_text("#!/bin/sh\n")
                    t.chmod(0o755)
    return root
