"""`onewindow install|upgrade|backup|restore`: the admin's commands for a hall."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import layout as L

ROOT_OPT = click.option("--root", "root", default="/", show_default=True, type=click.Path(file_okay=False),
                        help="Install into this tree instead of the machine (a staging tree for checks "
                             "or an image).")


def _hall_id(raw: bytes, path: str, role: str, device_id: str | None) -> str:
    """The hall's id; a kiosk or display id must be one the config names."""
    from hall.config import ConfigError, parse_config
    import yaml
    try:
        cfg = parse_config(yaml.safe_load(raw), path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    known = {"kiosk": [d.id for d in cfg.kiosks.devices], "display": [d.id for d in cfg.screens.displays]}
    if device_id and role in known and device_id not in known[role]:
        raise click.ClickException(f"--id {device_id}: no {role} of that id in {path} "
                                   f"(there are: {', '.join(known[role]) or 'none'})")
    return cfg.hall.id


def _device_credentials(d: str | None, ident: str | None) -> dict[str, bytes]:
    """The bundle made on the server: ``<id>-mqtt-password`` (onewindow creds),
    ``ca.crt``, ``<id>.crt``, ``<id>.key`` (onewindow certs)."""
    if d is None:
        return {}
    p = Path(d)
    names = {"mqtt-password": f"{ident}-mqtt-password", "mqtt-ca": "ca.crt",
             "mqtt-cert": f"{ident}.crt", "mqtt-key": f"{ident}.key"}
    missing = [f for f in names.values() if not (p / f).exists()]
    if missing:
        raise click.ClickException(f"{d}: missing {', '.join(missing)} (see docs/deploy.md, 'Device credentials')")
    return {k: (p / f).read_bytes() for k, f in names.items()}


@click.command(name="install")
@click.argument("role", type=click.Choice(sorted(L.ROLES)))
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The hall config to install (copied to /etc/onewindow/hall/hall.yaml).")
@click.option("--id", "device_id", default=None, help="This device's id in the hall config (not for server).")
@click.option("--server", default="hall-server.local", show_default=True,
              help="The hall server's name as the devices reach it (TLS host name).")
@click.option("--line", "lines", multiple=True, help="bridge: an RS-485 line of this Pi (repeatable).")
@click.option("--rs485", multiple=True, metavar="LINE=SERIAL",
              help="bridge: the USB serial number of a line's adapter (udevadm info /dev/ttyUSB0 | grep SERIAL).")
@click.option("--rotation", type=click.Choice(["0", "90", "180", "270"]), default="0", show_default=True,
              help="kiosk/display: panel rotation (picture and touch).")
@click.option("--printer-usb", default=None, metavar="VID:PID", help="kiosk: the USB ticket printer (lsusb).")
@click.option("--audio-card", default=None, help="announcer: ALSA card name (aplay -l), e.g. Headphones.")
@click.option("--credentials", "cred_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="device: the folder of credentials made for it on the server.")
@ROOT_OPT
@click.option("--dry-run", is_flag=True, help="Print every file it would write, write nothing.")
@click.option("--release/--no-release", default=True, show_default=True,
              help="Also install the software (a venv under /opt/onewindow) from --source.")
@click.option("--source", default=None, type=click.Path(exists=True),
              help="A onewindow wheel or project folder (default: this checkout).")
@click.option("--wheelhouse", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder of wheels for an offline install (pip --no-index --find-links).")
@click.option("--no-deps", is_flag=True, help="The release without its dependencies (a staging tree).")
def install_cmd(role, config_path, device_id, server, lines, rs485, rotation, printer_usb, audio_card, cred_dir,
                root, dry_run, release, source, wheelhouse, no_deps):
    """Set up this machine for ROLE: user, /etc/onewindow, units, udev, broker."""
    from .install import dry_run as plan_text, install
    from .roles import InstallOptions
    raw = Path(config_path).read_bytes()
    pairs = []
    for item in rs485:
        line, sep, serial = item.partition("=")
        if not sep or not line or not serial:
            raise click.BadParameter(f"{item!r}: expected LINE=SERIAL", param_hint="--rs485")
        pairs.append((line, serial))
    o = InstallOptions(role=role, hall_yaml=raw, hall_id=_hall_id(raw, config_path, role, device_id), device_id=device_id,
                       server=server, bridge_lines=tuple(lines), rotation=int(rotation), audio_card=audio_card,
                       printer_usb=printer_usb, rs485=tuple(pairs),
                       device_credentials=_device_credentials(cred_dir, device_id))
    src = Path(source) if source else Path(__file__).resolve().parent.parent
    if release and not dry_run and not source and not (src / "pyproject.toml").exists():
        raise click.UsageError("--source WHEEL is needed (this onewindow is not a checkout), or --no-release")
    if dry_run:
        click.echo(plan_text(o, Path(root)), nl=False)
        if release:
            click.echo(f"release /opt/onewindow/releases/<version>-<time>: a venv with onewindow from {src}"
                       f"{' and the wheels of ' + wheelhouse if wheelhouse else ''}; current -> it")
        return
    if release:  # the software first: the units start at the end of the install
        from .release import ReleaseError
        from .upgrade import upgrade
        try:
            for line in upgrade(Path(root), src, role, wheelhouse=Path(wheelhouse) if wheelhouse else None,
                                no_deps=no_deps):
                click.echo(f"release   {line}")
        except ReleaseError as e:
            raise click.ClickException(str(e)) from None
    try:
        rep = install(o, Path(root))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    for line in rep.lines():
        click.echo(line)


@click.command(name="upgrade")
@click.option("--source", default=None, type=click.Path(exists=True),
              help="The new onewindow wheel or project folder.")
@click.option("--role", type=click.Choice(sorted(L.ROLES)), default="server", show_default=True,
              help="Which extras to install.")
@click.option("--wheelhouse", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder of wheels (offline: pip --no-index --find-links).")
@click.option("--rollback", is_flag=True, help="Go back to the previous release.")
@click.option("--no-deps", is_flag=True, help="Install onewindow alone (a staging tree).")
@ROOT_OPT
def upgrade_cmd(source, role, wheelhouse, rollback, no_deps, root):
    """Install a new release beside the running one and switch; or roll back."""
    from .release import ReleaseError
    from .upgrade import rollback as do_rollback, upgrade
    try:
        if rollback:
            lines = do_rollback(Path(root))
        else:
            if source is None:
                raise click.UsageError("--source is required (or --rollback)")
            lines = upgrade(Path(root), Path(source), role, wheelhouse=Path(wheelhouse) if wheelhouse else None,
                            no_deps=no_deps)
    except ReleaseError as e:
        raise click.ClickException(str(e)) from None
    for line in lines:
        click.echo(line)


@click.command(name="backup")
@click.option("--db", default=L.ENGINE_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--dir", "dest", default=L.BACKUPS, show_default=True, type=click.Path(file_okay=False))
@click.option("--keep", type=click.IntRange(1, 10000), default=14, show_default=True,
              help="How many backups to keep (the oldest beyond are removed).")
def backup_cmd(db, dest, keep):
    """Copy the engine's database while it runs (SQLite backup API)."""
    from .backup import BackupError, backup
    try:
        click.echo(backup(db, dest, keep))
    except BackupError as e:
        raise click.ClickException(str(e)) from None


@click.command(name="restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", default=L.ENGINE_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--systemd/--no-systemd", "use_systemd", default=True, show_default=True,
              help="Stop onewindow-caller.service first and start it afterwards.")
def restore_cmd(backup_file, db, use_systemd):
    """Check a backup (integrity, schema version) and put it in place of the database."""
    import shutil
    import subprocess
    from .backup import BackupError, check_file, restore
    try:
        check_file(Path(backup_file))  # before stopping anything
        if use_systemd and shutil.which("systemctl"):
            subprocess.run(["systemctl", "stop", "onewindow-caller.service"], check=True)
        kept = restore(backup_file, db)
        if use_systemd and shutil.which("systemctl"):
            subprocess.run(["systemctl", "start", "onewindow-caller.service"], check=True)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"restored {backup_file} to {db}" + (f"; the replaced database is {kept}" if kept else ""),
               file=sys.stdout)
