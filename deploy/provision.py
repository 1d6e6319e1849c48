"""The identity steps the installer needs, behind one small interface.

`onewindow creds` (hall.creds) and `onewindow certs` (hall.certs) own the
broker password file, the per-device credential files and the hall CA; the
ACL comes from the hall config (hall.acl).  The installer calls them; this
module only adapts their calls to the installer's ``--root``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import layout as L
from .plan import Entry


def acl_text(o: Any) -> str:
    """The hall's ACL: generated from the hall config where hall.acl can
    (one line per identity), else from the template with the hall id."""
    import inspect

    import yaml

    from hall import acl
    from hall.config import parse_config
    if next(iter(inspect.signature(acl.render_acl).parameters)) == "config":
        return acl.render_acl(parse_config(yaml.safe_load(o.hall_yaml)))
    return acl.render_acl(o.hall_id)


CONSOLE_ADMIN = "web-admin"  # the console's admin identity, when access.admins lists it (docs/admin.md)
CASE_ADAPTER = "case-adapter"  # onewindow-case-adapter.service: an outside case system's CSV drop folder
CASE_ADAPTER_UNIT = "onewindow-case-adapter.service"


def case_adapter_system(cfg: Any) -> str | None:
    """The id of the outside case system (cases.systems) whose CSV drop folder
    this server reads, if any. The unit is one instance with one inbox, so a
    hall naming two such systems is refused with the reason."""
    csv = [s.id for s in cfg.cases.systems if s.adapter == "csv"]
    if len(csv) > 1:
        raise ValueError(f"cases.systems: {', '.join(csv)} all use the CSV drop folder; the server runs one "
                         f"case adapter (one inbox): set `adapter: none` on all but one")
    return csv[0] if csv else None


def server_logins(o: Any) -> dict[str, str]:
    """process -> MQTT username, as the hall config names them (the ACL is made
    from the same config): the engine's and the SMS sender's ids, the web
    terminal and the metrics monitor where the config lists them, the
    console's admin identity (`web-admin`) where access.admins has it, and the
    case adapter's where cases.systems has one with a CSV drop folder."""
    import yaml

    from hall.config import parse_config
    cfg = parse_config(yaml.safe_load(o.hall_yaml))
    access = getattr(cfg, "access", None)
    terminals = [t.id for t in getattr(access, "terminals", [])]
    monitors = list(getattr(access, "monitors", []))
    out = {"caller": getattr(access, "engine", "onewindow-caller"),
           "web": "web" if "web" in terminals else "onewindow-web",
           "sms": cfg.notify.sms.sender_id,
           "metrics": monitors[0] if monitors else "onewindow-metrics"}
    if CONSOLE_ADMIN in getattr(access, "admins", []):
        out[CONSOLE_ADMIN] = CONSOLE_ADMIN
    system = case_adapter_system(cfg)
    if system:
        out[CASE_ADAPTER] = system
    return out


def _creds():
    try:
        from hall import creds
    except ImportError:  # before `onewindow creds` exists
        return None
    return creds


def server_secrets(root: Path, o: Any = None) -> dict[str, bytes]:
    """New values for the server's credential files that do not exist yet
    (the applier keeps existing ones). The broker passwords are made by
    `onewindow creds` (ensure_server_logins), the rest here."""
    out: dict[str, bytes] = {}
    cred = root / L.CREDENTIALS.lstrip("/")
    # onewindow-web loads the console's admin password (LoadCredential= cannot be
    # optional): an empty one where the hall has no console admin identity
    if o is not None and CONSOLE_ADMIN not in server_logins(o) \
            and not (cred / f"{CONSOLE_ADMIN}-mqtt-password").exists():
        out[f"{CONSOLE_ADMIN}-mqtt-password"] = b""
    if not (cred / "data-key").exists():
        from hall.crypto import new_key
        out["data-key"] = new_key()
    for optional in ("sms-gateway", "sms-sim-pin"):  # empty: the sender that needs one has it filled in
        if not (cred / optional).exists():
            out[optional] = b""
    return out


TLS = f"{L.ETC}/tls"


def ensure_server_logins(root: Path, o: Any, applier: Any) -> str:
    """One broker login per server process: `onewindow creds add` for each one
    without a credential (hashed into the password file, 0640 root:mosquitto),
    and the unit's fixed credential name linked to it."""
    creds = _creds()
    if creds is None:
        return "skipped: hall.creds (`onewindow creds`) not available"
    made = []
    logins = server_logins(o)
    for user in logins.values():
        if creds.credential_path(user, root).exists():
            continue
        pw = creds.passwd_path(root)
        known = pw.exists() and any(ln.partition(":")[0] == user for ln in pw.read_text().splitlines())
        (creds.rotate if known else creds.add)(user, root)
        made.append(user)
    entries = [Entry(f"/{creds.PASSWD}", 0o640, "root", "mosquitto", b"")]
    entries += [Entry(f"{L.CREDENTIALS}/{u}-mqtt-password", 0o600, "root", "root", b"", secret=True)
                for u in logins.values()]
    links = [Entry(f"{L.CREDENTIALS}/{proc}-mqtt-password", 0o777, link=f"{user}-mqtt-password")
             for proc, user in logins.items() if proc != user]
    applier.apply(links)
    applier.adopt(entries)
    return f"done: new {', '.join(made)}" if made else "done: every login existed"


def ensure_server_tls(root: Path, o: Any, applier: Any) -> str:
    """The hall CA and the broker's certificate (`onewindow certs`), made once."""
    try:
        from hall import certs
    except ImportError:
        return "skipped: hall.certs (`onewindow certs`) not available"
    tls = root / TLS.lstrip("/")
    made = []
    if not (tls / "ca.crt").exists():
        certs.make_ca(tls, o.hall_id)
        made.append("hall CA")
    hosts = [o.server, "localhost", "127.0.0.1"]
    if not (tls / "server.crt").exists():
        certs.make_cert(tls, "server", hosts=hosts, server=True)
        made.append("broker certificate")
    # the window terminal's HTTPS: its key is a systemd credential of onewindow-web
    web_key = root / L.CREDENTIALS.lstrip("/") / "web-tls-key"
    if not (tls / "web.crt").exists() or not web_key.exists():
        files = certs.make_cert(tls, "web", hosts=hosts, server=True)
        web_key.parent.mkdir(parents=True, exist_ok=True)
        web_key.write_bytes(files.key.read_bytes())
        files.key.unlink()  # one copy of a key, where systemd hands it out
        made.append("web certificate")
    applier.adopt([
        Entry(TLS, 0o755, "root", "root"),
        Entry(f"{TLS}/ca.crt", 0o644, "root", "root", b""),
        Entry(f"{TLS}/ca.key", 0o600, "root", "root", b"", secret=True),  # stays on this server
        Entry(f"{TLS}/server.crt", 0o644, "root", "root", b""),
        Entry(f"{TLS}/server.key", 0o640, "root", "mosquitto", b"", secret=True),  # the broker reads it
        Entry(f"{TLS}/web.crt", 0o644, "root", "root", b""),
        Entry(f"{L.CREDENTIALS}/web-tls-key", 0o600, "root", "root", b"", secret=True),
    ])
    return f"done: new {', '.join(made)}" if made else "done: CA and certificate existed"
