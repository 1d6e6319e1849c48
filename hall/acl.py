"""`onewindow acl`: the mosquitto ACL and password file for one hall.

The ACL comes from ``config/mosquitto/acl.template`` with the hall id filled
in; passwords are hashed by ``mosquitto_passwd`` (the Debian mosquitto package),
so no password is ever stored in clear by us.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click

from .topics import check_id

TEMPLATE = Path(__file__).resolve().parent.parent / "config" / "mosquitto" / "acl.template"


def render_acl(hall_id: str, template: Path = TEMPLATE, window_grid_displays: tuple[str, ...] = ()) -> str:
    """The hall's ACL; ``window_grid_displays`` (display ids whose style is
    `windows`) may also read every window's state, which no other client of
    their kind may (a soft caller sees only its own window)."""
    check_id(hall_id, "hall id")
    text = template.read_text(encoding="utf-8").replace("HALL", hall_id)
    for d in window_grid_displays:
        check_id(d, "display id")
        text += f"\n# window-grid display {d}: every window's state\nuser {d}\n" \
                f"topic read onewindow/{hall_id}/window/+/state\n"
    return text


def write_passwords(path: Path, users: dict[str, str]) -> None:
    """Create ``path`` with hashed passwords for ``users`` (name → password)."""
    exe = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    path.write_text("")
    path.chmod(0o644)  # read by the `mosquitto` user
    for name, pw in users.items():
        subprocess.run([exe, "-b", str(path), name, pw], check=True, capture_output=True)


def start_acl_broker(hall_id: str, users: dict[str, str], window_grid_displays: tuple[str, ...] = ()):
    """A local mosquitto with passwords and this hall's ACL (for tests and trials).

    mosquitto drops root for the ``mosquitto`` user before it reads these files,
    so they go into a folder of their own that it can read (a pytest tmp_path is
    0700). ``write_passwords(broker.workdir / "passwd", …)`` and
    ``broker.restart()`` change the users later.
    """
    import os
    import tempfile

    from .broker import start_local_broker
    d = Path(tempfile.mkdtemp(prefix="onewindow-acl-", dir="/tmp"))
    os.chmod(d, 0o755)
    acl, pw = d / "acl", d / "passwd"
    acl.write_text(render_acl(hall_id, window_grid_displays=window_grid_displays))
    write_passwords(pw, users)
    for f in (acl, pw):
        os.chmod(f, 0o644)
    return start_local_broker(workdir=d, extra_conf=f"allow_anonymous false\npassword_file {pw}\nacl_file {acl}\n")


@click.command(name="acl")
@click.option("--hall", "hall_id", required=True, help="Hall id.")
@click.option("--out", type=click.Path(dir_okay=False), default="-", help="ACL file (default stdout).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Hall config: adds the lines its window-grid displays need.")
def cmd(hall_id: str, out: str, config_path: str | None) -> None:
    """Print the mosquitto ACL of a hall (see config/mosquitto/)."""
    grids: tuple[str, ...] = ()
    if config_path:
        from .config import load_config
        cfg = load_config(config_path)
        grids = tuple(d.id for d in cfg.screens.displays if d.style == "windows")
    text = render_acl(hall_id, window_grid_displays=grids)
    if out == "-":
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")
