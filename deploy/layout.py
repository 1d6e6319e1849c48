"""Where an installed hall keeps what, and which units each role runs.

One prefix for the software (releases side by side, ``current`` and
``previous`` symlinks for rollback), one folder for configuration and
credentials, the engine's state under systemd's StateDirectory.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "/opt/onewindow"
RELEASES = f"{PREFIX}/releases"
CURRENT = f"{PREFIX}/current"  # symlink to the running release: the units' ExecStart
PREVIOUS = f"{PREFIX}/previous"  # the release before it, kept for `onewindow upgrade --rollback`
ETC = "/etc/onewindow"
HALL_DIR = f"{ETC}/hall"  # hall.yaml; the engine rewrites it on a config push (own folder)
HALL_CONFIG = f"{HALL_DIR}/hall.yaml"
CREDENTIALS = f"{ETC}/credentials"
STATE = "/var/lib/onewindow"
ENGINE_DB = f"{STATE}/caller.sqlite"
BACKUPS = f"{STATE}/backups"
UNIT_PATH = "/etc/systemd/system"
MANIFEST = f"{ETC}/install-manifest.json"
USER = GROUP = "onewindow"
MOSQUITTO_CONF_DIR = "/etc/mosquitto/conf.d"
MOSQUITTO_DIR = "/etc/mosquitto"


@dataclass(frozen=True)
class Role:
    name: str
    units: tuple[str, ...]  # unit files from systemd/, all enabled
    what: str


ROLES: dict[str, Role] = {r.name: r for r in (
    Role("server", ("onewindow-caller.service", "onewindow-web.service", "onewindow-sms.service",
                    "onewindow-metrics.service", "onewindow-backup.service", "onewindow-backup.timer"),
         "hall server: mosquitto, queue engine, web, SMS sender, metrics, nightly backup"),
    Role("kiosk", ("onewindow-kiosk.service",), "touchscreen kiosk with printer and scanners"),
    Role("display", ("onewindow-display.service",), "wall display (silent calling)"),
    Role("announcer", ("onewindow-announcer.service",), "voice announcer"),
    Role("bridge", ("onewindow-bridge.service",), "RS-485 and USB device bridge"),
)}

# The server's processes, each with its own broker login: the unit loads
# /etc/onewindow/credentials/<process>-mqtt-password (a link to the login's own
# `<username>-mqtt-password` made by `onewindow creds`) and reads its username
# from /etc/onewindow/<process>.env.
SERVER_PROCESSES = ("caller", "web", "sms", "metrics")
