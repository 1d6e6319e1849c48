"""`onewindow install ROLE`: the plan of roles.py applied, then the steps that
are commands rather than files (service user, broker logins and TLS files,
enabling the units).

On the machine itself (``--root /``, as root) it also reloads systemd and udev
and starts the units; in a staging tree (``--root DIR``) every step that can
run offline runs against DIR (``systemd-sysusers --root``, ``systemctl
--root enable``) and the rest is listed as skipped, so a test sees the tree a
real install would leave.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import layout as L
from .plan import Applier, Entry, describe
from .roles import InstallOptions, plan, units_for


@dataclass
class Report:
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, written|unchanged|kept)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (what, done|skipped: why)

    def lines(self) -> list[str]:
        out = [f"{what:9} {path}" for path, what in self.files]
        out += [f"step      {what}: {how}" for what, how in self.steps]
        return out


Runner = Callable[[list[str]], None]


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def entries_for(o: InstallOptions, root: Path) -> list[Entry]:
    secrets: dict[str, bytes] = {}
    if o.role == "server":
        from .provision import server_secrets
        secrets = server_secrets(root, o)
    return plan(o, secrets)


def dry_run(o: InstallOptions, root: Path) -> str:
    """Every file, folder and link the install would write, with its bytes."""
    return "\n".join(describe(e) for e in entries_for(o, root)) + "\n"


def install(o: InstallOptions, root: Path, run: Runner = _run) -> Report:
    root = Path(root)
    on_machine = str(root) == "/"
    if on_machine and o.role == "server" and shutil.which("mosquitto") is None \
            and not Path("/usr/sbin/mosquitto").exists():
        raise ValueError("the hall server needs the broker first: apt-get install mosquitto")
    rep = Report()
    entries = entries_for(o, root)
    applier = Applier(root)
    # the user first: a real install chowns to it
    sysusers = [e for e in entries if e.path.startswith("/etc/sysusers.d/")]
    rep.files += applier.apply(sysusers)
    _step(rep, "service user", run, ["systemd-sysusers", *([] if on_machine else [f"--root={root}"]),
                                     str(root / "etc/sysusers.d/onewindow.conf")], needs="systemd-sysusers")
    rep.files += applier.apply([e for e in entries if e not in sysusers])
    if o.role == "server":
        from .provision import ensure_server_logins, ensure_server_tls
        rep.steps.append(("broker logins", ensure_server_logins(root, o, applier)))
        rep.steps.append(("broker TLS", ensure_server_tls(root, o, applier)))
    units = list(units_for(o))
    # a oneshot started by its timer is not enabled itself
    enable = [u for u in units if not (u.endswith(".service") and u[:-8] + ".timer" in units)]
    _step(rep, "enable units", run, ["systemctl", *([] if on_machine else [f"--root={root}"]), "enable", *enable],
          needs="systemctl")
    if on_machine:
        _step(rep, "reload systemd", run, ["systemctl", "daemon-reload"], needs="systemctl")
        _step(rep, "reload udev", run, ["udevadm", "control", "--reload"], needs="udevadm")
        _step(rep, "trigger udev", run, ["udevadm", "trigger"], needs="udevadm")
        if o.role == "server":
            _step(rep, "restart broker", run, ["systemctl", "restart", "mosquitto.service"], needs="systemctl")
        _step(rep, "start units", run, ["systemctl", "restart", *enable], needs="systemctl")
    else:
        rep.steps.append(("reload systemd, udev; start units", "skipped: staging tree"))
    return rep


def _step(rep: Report, what: str, run: Runner, cmd: list[str], needs: str) -> None:
    if shutil.which(needs) is None:
        rep.steps.append((what, f"skipped: {needs} not installed"))
        return
    try:
        run(cmd)
    except subprocess.CalledProcessError as e:  # said as one clear line; what was written stays
        raise ValueError(f"{what} failed: {' '.join(cmd)}: {(e.stderr or '').strip()[-500:]}") from None
    rep.steps.append((what, "done: " + " ".join(cmd)))
