"""What `onewindow install ROLE` writes, as a list of :class:`~deploy.plan.Entry`.

Pure: the hall config, the options and the secrets come in, the entries go
out; nothing here touches the disk (the applier does), so ``--dry-run``,
``--root`` and a real install are the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import layout as L
from .pi import kivy_config, asound_conf, PI_NOTES
from .plan import Entry, folder, text
from .udev import udev_rules
from .units import unit_text

DATA = Path(__file__).resolve().parent / "data"  # systemd/, config/mosquitto/, docs/ as package data


@dataclass(frozen=True)
class InstallOptions:
    role: str
    hall_yaml: bytes  # the hall config as given
    hall_id: str
    device_id: str | None = None  # kiosk / display / announcer / bridge id (its MQTT username)
    server: str = "hall-server.local"  # the broker as the Pis reach it (TLS)
    bridge_lines: tuple[str, ...] = ()
    rotation: int = 0  # kiosk/display panel rotation, degrees
    audio_card: str | None = None  # ALSA card name for the announcer (aplay -l)
    printer_usb: str | None = None  # "vvvv:pppp" of the kiosk's USB ticket printer
    rs485: tuple[tuple[str, str], ...] = ()  # (line id, USB serial number of its adapter)
    # device credentials copied from the bundle the server made (`onewindow creds` /
    # `onewindow certs`): name → bytes, names mqtt-password, mqtt-ca, mqtt-cert, mqtt-key
    device_credentials: dict[str, bytes] = field(default_factory=dict)


# The journal keeps the hall's logs (no personal data in them) for a season,
# within a bounded size on an SD card.
JOURNALD = """[Journal]
Storage=persistent
SystemMaxUse=1G
MaxRetentionSec=90day
"""

SYSUSERS = """# onewindow's service user (systemd-sysusers(8)); the units add the device groups
u onewindow - "onewindow hall services" /var/lib/onewindow /usr/sbin/nologin
"""


def env_file(o: InstallOptions) -> str:
    """The per-role environment: where the broker is and as whom to log in."""
    lines = [f"# {o.role} of hall {o.hall_id}: written by `onewindow install`, read by its unit"]
    if o.role == "server":
        # the server's processes use loopback plaintext (their units say so); this
        # file is for what differs per hall
        lines += ["BACKUP_KEEP=14", "METRICS_LISTEN=0.0.0.0:9464"]
        return "\n".join(lines) + "\n"
    lines += [f"ONEWINDOW_MQTT_HOST={o.server}", "ONEWINDOW_MQTT_PORT=8883", "ONEWINDOW_MQTT_TLS=1",
              f"ONEWINDOW_MQTT_USER={o.device_id}"]
    key = {"kiosk": "KIOSK_ID", "display": "DISPLAY_ID", "announcer": "ANNOUNCER_ID", "bridge": "BRIDGE_ID"}
    lines.append(f"{key[o.role]}={o.device_id}")
    if o.role == "bridge":
        lines.append("BRIDGE_ARGS=" + " ".join(f"--line {ln}" for ln in o.bridge_lines))
    return "\n".join(lines) + "\n"


def common(o: InstallOptions) -> list[Entry]:
    hall_owner = "onewindow" if o.role == "server" else "root"
    return [
        text("/etc/sysusers.d/onewindow.conf", SYSUSERS, why="the service user"),
        folder(L.ETC, 0o755, why="configuration (no secrets at this level)"),
        # the engine rewrites hall.yaml on a config push: a folder of its own
        folder(L.HALL_DIR, 0o750, hall_owner, "onewindow", why="the hall config"),
        text(L.HALL_CONFIG, o.hall_yaml.decode("utf-8"), 0o640, hall_owner, "onewindow"),
        # systemd reads credentials as root and hands each unit its own copy
        folder(L.CREDENTIALS, 0o700, why="systemd credentials (LoadCredential=)"),
        text(f"{L.ETC}/{o.role}.env", env_file(o), 0o640, "root", "onewindow", why="the unit's EnvironmentFile"),
        text("/etc/systemd/journald.conf.d/onewindow.conf", JOURNALD, why="log retention"),
    ] + [text(f"{L.UNIT_PATH}/{u}", unit_text(u), why="systemd unit") for u in units_for(o)]


def units_for(o: InstallOptions) -> tuple[str, ...]:
    """The role's units, and on a server the case adapter's where the hall config
    has an outside case system with a CSV drop folder."""
    units = L.ROLES[o.role].units
    if o.role == "server":
        from .provision import CASE_ADAPTER, CASE_ADAPTER_UNIT, server_logins
        if CASE_ADAPTER in server_logins(o):
            units += (CASE_ADAPTER_UNIT,)
    return units


def secret(path: str, value: bytes, mode: int = 0o600, group: str = "root", why: str = "") -> Entry:
    return Entry(path, mode, "root", group, value, secret=True, why=why)


def server(o: InstallOptions, secrets: dict[str, bytes]) -> list[Entry]:
    """mosquitto (ACL, TLS listener, password file) and the server's own credentials.

    ``secrets``: credential file name → value, new random values for any that
    do not exist yet (the applier keeps existing ones)."""
    from .provision import acl_text
    conf = (DATA / "mosquitto" / "onewindow.conf").read_text(encoding="utf-8")
    out = [
        text(f"{L.MOSQUITTO_CONF_DIR}/onewindow.conf", conf, why="broker: loopback plaintext, LAN TLS"),
        text(f"{L.MOSQUITTO_DIR}/onewindow.acl", acl_text(o), 0o640, "root", "mosquitto",
             why="ACL from the hall config"),
        folder(f"{L.STATE}", 0o700, "onewindow", "onewindow", why="engine store (StateDirectory)"),
        folder(L.BACKUPS, 0o700, "onewindow", "onewindow", why="`onewindow backup` copies"),
    ]
    for name, value in secrets.items():
        out.append(secret(f"{L.CREDENTIALS}/{name}", value, why="systemd credential"))
    from .provision import server_logins
    from .provision import CASE_ADAPTER, CONSOLE_ADMIN
    logins = server_logins(o)
    for proc, user in logins.items():
        if proc == CONSOLE_ADMIN:
            continue  # not a process: the web process's second login, named in web.env
        extra = f"ONEWINDOW_WEB_ADMIN_ID={CONSOLE_ADMIN}\n" if proc == "web" and CONSOLE_ADMIN in logins else ""
        if proc == CASE_ADAPTER:
            extra = f"CASE_SYSTEM_ID={user}\n"  # the unit's --id: the system's id is its login
        out.append(text(f"{L.ETC}/{proc}.env", f"# onewindow-{proc}'s broker login (the hall config's id)\n"
                        f"ONEWINDOW_MQTT_USER={user}\n{extra}", 0o640, "root", "onewindow",
                        why=f"onewindow-{proc}.service"))
    return out


def device(o: InstallOptions) -> list[Entry]:
    """A Pi: its credentials from the server's bundle, udev rules, screen/audio set-up."""
    out: list[Entry] = []
    for name in ("mqtt-password", "mqtt-ca", "mqtt-cert", "mqtt-key"):
        if name in o.device_credentials:
            out.append(secret(f"{L.CREDENTIALS}/{name}", o.device_credentials[name],
                              why=f"from the server's bundle for {o.device_id}"))
    rules = udev_rules(o)
    if rules:
        out.append(text("/etc/udev/rules.d/70-onewindow.rules", rules, why="device permissions and names"))
    if o.role in ("kiosk", "display"):
        out.append(folder(f"{L.STATE}", 0o700, "onewindow", "onewindow"))
        out.append(folder(f"{L.STATE}/kivy", 0o700, "onewindow", "onewindow"))
        out.append(text(f"{L.STATE}/kivy/config.ini", kivy_config(o), 0o600, "onewindow", "onewindow",
                        why="Kivy: KMSDRM, rotation, hidden cursor, touch"))
        out.append(text("/etc/systemd/logind.conf.d/onewindow.conf", PI_NOTES["logind"],
                        why="no getty/autovt on the panel's tty"))
    if o.role == "announcer" and o.audio_card:
        out.append(text("/etc/asound.conf", asound_conf(o.audio_card), why="the hall amplifier's ALSA card"))
    return out


def plan(o: InstallOptions, secrets: dict[str, bytes] | None = None) -> list[Entry]:
    if o.role not in L.ROLES:
        raise ValueError(f"unknown role {o.role!r}: one of {', '.join(L.ROLES)}")
    if o.role != "server" and not o.device_id:
        raise ValueError(f"role {o.role} needs --id (this device's id in the hall config)")
    entries = common(o)
    entries += server(o, secrets or {}) if o.role == "server" else device(o)
    return entries
