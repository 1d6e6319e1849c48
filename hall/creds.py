"""`onewindow creds add|rotate|remove ID`: one broker password per identity.

A random secret goes to two places and nowhere else:

* mosquitto's password file (``/etc/mosquitto/onewindow.passwd``), hashed by
  ``mosquitto_passwd`` (PBKDF2-SHA512), mode 0640, owner root, group
  mosquitto (the broker drops root before reading it);
* the device's systemd credential file
  (``/etc/onewindow/credentials/<id>-mqtt-password``, 0600 root), which the
  unit hands to the process with ``LoadCredential=mqtt-password:…`` and
  :class:`hall.bus.BusSettings` reads from ``$CREDENTIALS_DIRECTORY``.

The secret is never on a command line (``mosquitto_passwd -b`` would show it in
the process list): it is hashed with ``mosquitto_passwd -U`` on a temporary
``user:secret`` file in a private (0700) folder, which is removed at once.
Files are replaced atomically (temp file, fsync, rename), so the broker never
reads half a password file. ``--root`` prefixes every path (tests, images).
"""

from __future__ import annotations

import grp
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from .topics import check_id

PASSWD = Path("etc/mosquitto/onewindow.passwd")
CRED_DIR = Path("etc/onewindow/credentials")


class CredsError(Exception):
    """A credential that cannot be added, rotated or removed as asked."""


def passwd_path(root: str | Path = "/") -> Path:
    return Path(root) / PASSWD


def credential_path(ident: str, root: str | Path = "/") -> Path:
    return Path(root) / CRED_DIR / f"{check_id(ident, 'identity')}-mqtt-password"


def _mosquitto_passwd() -> str:
    exe = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.path.exists(exe):
        raise CredsError("mosquitto_passwd not found (Debian package mosquitto)")
    return exe


def hash_lines(users: dict[str, str]) -> dict[str, str]:
    """``{user: secret}`` → ``{user: "user:$7$…"}`` through ``mosquitto_passwd -U``."""
    for u in users:
        check_id(u, "username")
    with tempfile.TemporaryDirectory(prefix="onewindow-creds-") as d:  # 0700
        tmp = Path(d) / "passwd"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"{u}:{pw}\n" for u, pw in users.items())
        subprocess.run([_mosquitto_passwd(), "-U", str(tmp)], check=True, capture_output=True)
        out = {}
        for line in tmp.read_text(encoding="utf-8").splitlines():
            user, _, _ = line.partition(":")
            out[user] = line
    return out


def _read_lines(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {ln.partition(":")[0]: ln for ln in path.read_text(encoding="utf-8").splitlines() if ":" in ln}


def _atomic_write(path: Path, text: str, mode: int, group: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if group is not None and os.geteuid() == 0:
            try:
                os.fchown(fd, 0, grp.getgrnam(group).gr_gid)
            except KeyError:
                pass  # no such group on this machine (a build host): root only
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def write_passwords(path: str | Path, users: dict[str, str]) -> None:
    """Replace ``path`` with exactly ``users`` (name → secret), hashed."""
    lines = hash_lines(users)
    _atomic_write(Path(path), "".join(f"{lines[u]}\n" for u in users), 0o640, "mosquitto")


def _set(ident: str, secret: str | None, root: str | Path) -> None:
    pw = passwd_path(root)
    lines = _read_lines(pw)
    if secret is None:
        lines.pop(ident, None)
    else:
        lines[ident] = hash_lines({ident: secret})[ident]
    _atomic_write(pw, "".join(f"{ln}\n" for ln in lines.values()), 0o640, "mosquitto")


def add(ident: str, root: str | Path = "/") -> Path:
    """Provision a new identity; returns its credential file. Refuses an existing one."""
    cred = credential_path(ident, root)
    if ident in _read_lines(passwd_path(root)) or cred.exists():
        raise CredsError(f"{ident} already has a credential: use `onewindow creds rotate {ident}`")
    return _provision(ident, root)


def rotate(ident: str, root: str | Path = "/") -> Path:
    """A new secret for an existing identity (the old one stops working)."""
    if ident not in _read_lines(passwd_path(root)):
        raise CredsError(f"{ident} has no credential: use `onewindow creds add {ident}`")
    return _provision(ident, root)


def remove(ident: str, root: str | Path = "/") -> None:
    """The identity can no longer log in; its credential file is deleted."""
    check_id(ident, "identity")
    known = ident in _read_lines(passwd_path(root))
    cred = credential_path(ident, root)
    if not known and not cred.exists():
        raise CredsError(f"{ident} has no credential")
    if known:
        _set(ident, None, root)
    if cred.exists():
        cred.unlink()


def _provision(ident: str, root: str | Path) -> Path:
    secret = secrets.token_urlsafe(32)
    cred = credential_path(ident, root)
    # the device's copy first: a broker that already knows a secret the device
    # does not have would lock the device out until the next rotate
    cred.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(cred.parent, 0o700)
    _atomic_write(cred, secret + "\n", 0o600)
    _set(ident, secret, root)
    return cred


@click.group(name="creds")
def cmd() -> None:
    """Broker passwords: one random secret per identity, in mosquitto's password
    file (hashed) and the device's systemd credential file. Reload mosquitto
    afterwards (systemctl reload mosquitto)."""


_root = click.option("--root", default="/", show_default=True, type=click.Path(file_okay=False),
                     help="Prefix of every path (for images and tests).")
_config = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
                       help="Hall config: refuse an id that is not one of its identities.")


def _check_known(config_path: str | None, ident: str) -> None:
    if not config_path:
        return
    from .config import ConfigError, load_config
    from .config.access import identities
    try:
        known = {i.id: i.kind for i in identities(load_config(config_path))}
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if ident not in known:
        raise click.ClickException(f"{ident!r} is not an identity of {config_path} "
                                   f"(kiosks, displays, access:, notify.sms.sender_id)")


def _run(fn, ident: str, root: str):
    try:
        return fn(ident, root)
    except (CredsError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    except subprocess.CalledProcessError as e:
        raise click.ClickException(f"mosquitto_passwd failed: {e.stderr.decode(errors='replace')}") from None


def _provisioning(name: str, fn, doc: str) -> None:
    @cmd.command(name=name, help=doc)
    @_root
    @_config
    @click.argument("ident")
    def run(root: str, config_path: str | None, ident: str) -> None:
        _check_known(config_path, ident)
        click.echo(f"{ident}: secret in {_run(fn, ident, root)} and {passwd_path(root)}")


_provisioning("add", add, "Give IDENT a new broker password.")
_provisioning("rotate", rotate, "Replace IDENT's broker password (restart the device's unit afterwards).")


@cmd.command(name="remove")
@_root
@click.argument("ident")
def remove_cmd(root: str, ident: str) -> None:
    """Take IDENT off the bus: its password and credential file go."""
    _run(remove, ident, root)
    click.echo(f"{ident}: removed from {passwd_path(root)}")
