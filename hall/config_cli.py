"""`onewindow config check|show FILE` (local) and `get|push|diff|history|rollback`
(the running engine's config, over the bus)."""

from __future__ import annotations

import json

import click

from .config import ConfigError, load_config


@click.group(name="config")
def cmd() -> None:
    """Check a hall config file; get, push, diff, roll back the engine's, with its history."""


@cmd.command()
@click.argument("path", type=click.Path())
def check(path: str) -> None:
    """Validate PATH; print each refused field with its reason."""
    try:
        cfg = load_config(path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{path}: ok — hall {cfg.hall.id}, {len(cfg.zones)} zones, {len(cfg.matters)} matters, "
               f"{len(cfg.bundles)} bundles, {len(cfg.windows)} windows, digest {cfg.digest()}")


@cmd.command()
@click.argument("path", type=click.Path())
def show(path: str) -> None:
    """Print PATH as the normalised JSON the engine publishes."""
    try:
        cfg = load_config(path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(cfg.to_json_dict(), ensure_ascii=False, indent=2))


# ----------------------------------------------- the engine's config, over the bus --
# These talk to the running engine (config/<client>/request/…): every change is
# checked against the revision it was made from, written, and audited there.

REVISION_LINE = "# onewindow config revision: "


def _bus_options(f):
    for opt in (
        click.option("--hall", default=None, help="Hall id (default: from FILE, or $ONEWINDOW_HALL)."),
        click.option("--client", default=None, help="This tool's id on the bus (default: $ONEWINDOW_MQTT_USER "
                                                    "or `admin`); the audit record names it."),
        click.option("--host", default=None, help="MQTT host (env ONEWINDOW_MQTT_HOST)."),
        click.option("--port", type=int, default=None, help="MQTT port (env ONEWINDOW_MQTT_PORT)."),
    ):
        f = opt(f)
    return f


def _call(hall: str | None, client: str | None, host: str | None, port: int | None, op: str, body: dict):
    import os

    from .bus import Bus, BusSettings, RequestError, Requester
    hall = hall or os.environ.get("ONEWINDOW_HALL")
    if not hall:
        raise click.UsageError("give --hall (or set ONEWINDOW_HALL)")
    client = client or os.environ.get("ONEWINDOW_MQTT_USER") or "admin"
    bus = Bus(hall, f"{client}-config-{os.getpid()}", BusSettings.from_env(host=host, port=port))
    try:
        bus.start(timeout=10)
    except TimeoutError as e:
        raise click.ClickException(str(e)) from None
    try:
        return Requester(bus, "config", client).call(op, body, timeout=15.0, retries=1)
    except RequestError as e:
        raise click.ClickException(f"{e.code}: {e.message}") from None
    finally:
        bus.stop()


def revision_text(data: dict) -> str:
    """A ``config/…/response/get`` reply as a file: the revision line, then the YAML
    (``config get --out`` and the console's export)."""
    from caller.config_admin import to_yaml
    return f"{REVISION_LINE}{data['revision']} (digest {data['digest']})\n" + to_yaml(data["config"])


def revision_of(text: str) -> int | None:
    """The revision a config file names in its first line (written by :func:`revision_text`)."""
    first = text.split("\n", 1)[0]
    if first.startswith(REVISION_LINE):
        try:
            return int(first[len(REVISION_LINE):].split()[0])
        except (ValueError, IndexError):
            return None
    return None


def _load_raw(path: str) -> tuple[dict, int | None]:
    """A config file as the mapping to push, and the revision written in its first line."""
    cfg = _checked(path)
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    return cfg.to_json_dict(), revision_of(first)


def _checked(path: str):
    try:
        return load_config(path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@cmd.command()
@_bus_options
@click.option("--out", type=click.Path(dir_okay=False), default="-", help="Write the YAML here (default stdout).")
def get(hall, client, host, port, out):
    """Fetch the config in force, with its revision in the first line (the base of your next push)."""
    data = _call(hall, client, host, port, "get", {})
    text = revision_text(data)
    if out == "-":
        click.echo(text, nl=False)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"{out}: revision {data['revision']}", err=True)


@cmd.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_bus_options
@click.option("--base", type=int, default=None,
              help="Revision PATH was made from (default: the one `config get` wrote in its first line).")
@click.option("--by", default=None, help="Who makes the change (for the audit record).")
def push(path, hall, client, host, port, base, by):
    """Put PATH in force; refused if the config changed since the revision it was made from."""
    raw, file_base = _load_raw(path)
    base = base if base is not None else file_base
    if base is None:
        raise click.UsageError(f"{path} names no revision: give --base N (`onewindow config get --out FILE` "
                               "writes it in the file's first line)")
    data = _call(hall or raw["hall"]["id"], client, host, port, "set",
                 {"config": raw, "base": base} | ({"by": by} if by else {}))
    click.echo(f"revision {data['revision']} in force (digest {data['digest']})")


@cmd.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_bus_options
def diff(path, hall, client, host, port):
    """Show what pushing PATH would change (a unified diff against the config in force)."""
    from caller.config_admin import config_diff
    raw, _ = _load_raw(path)
    data = _call(hall or raw["hall"]["id"], client, host, port, "get", {})
    text = config_diff(data["config"], raw, f"revision {data['revision']}", path)
    click.echo(text if text else f"{path}: no change from revision {data['revision']}")


@cmd.command()
@_bus_options
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--diff", "show_diff", is_flag=True, help="Print each change's diff.")
def history(hall, client, host, port, limit, show_diff):
    """Config changes, newest first: revision, when, who, what."""
    import datetime as dt
    data = _call(hall, client, host, port, "history", {"limit": limit})
    for r in data["revisions"]:
        when = dt.datetime.fromtimestamp(r["at"]).isoformat(timespec="seconds")
        who = r["who"] + (f" ({r['by']})" if r.get("by") else "")
        extra = f" of revision {r['rollback_of']}" if r.get("rollback_of") is not None else ""
        click.echo(f"revision {r['revision']}  {when}  {r['action']}{extra} by {who}  "
                   f"base {r['base'] if r['base'] is not None else '-'}  digest {r['digest']}")
        if show_diff and r["diff"]:
            click.echo(r["diff"])


@cmd.command()
@click.argument("revision", type=int)
@_bus_options
@click.option("--base", type=int, default=None, help="Revision in force you mean to replace (default: "
                                                     "the current one).")
@click.option("--by", default=None, help="Who rolls back (for the audit record).")
def rollback(revision, hall, client, host, port, base, by):
    """Put REVISION's config back in force, as a new revision (the server's SMS settings stay)."""
    if base is None:
        base = _call(hall, client, host, port, "get", {})["revision"]
    data = _call(hall, client, host, port, "rollback",
                 {"revision": revision, "base": base} | ({"by": by} if by else {}))
    click.echo(f"revision {data['revision']} in force (revision {revision} again; digest {data['digest']})")
