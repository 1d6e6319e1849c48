"""`onewindow followup`: list and close bad-review follow-ups (整改/回访) over the bus.

Requests go to the engine (``alert/<client>/request/followups`` and
``…/followup_close``); this tool never opens the engine's database, so a
closed follow-up is committed, published and audited like every other change.
"""

from __future__ import annotations

import json

import click

from hall.bus import Bus, RequestError, Requester
from hall.config import ConfigError, load_config
from hall.mqtt_options import MqttOptions, mqtt_options


def _hall_id(config_path: str | None, hall: str | None) -> str:
    if hall:
        return hall
    if not config_path:
        raise click.UsageError("give --hall or --config")
    try:
        return load_config(config_path).hall.id
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


def _call(ctx: click.Context, op: str, body: dict):
    # resolved here, not in the group: `followup list --help` needs no config or broker
    o = ctx.obj
    hall_id = _hall_id(o["config"], o["hall"])
    mqtt: MqttOptions = o["mqtt"]
    try:
        settings = mqtt.settings(default_user=o["client"])
    except OSError as e:
        raise click.ClickException(f"MQTT password file: {e}") from None
    bus = Bus(hall_id, o["client"], settings)
    try:
        bus.start(timeout=10)
    except TimeoutError as e:
        raise click.ClickException(str(e)) from None
    try:
        return Requester(bus, "alert", o["client"]).call(op, body, timeout=5.0)
    except RequestError as e:
        raise click.ClickException(f"{e.code}: {e.message}") from None
    finally:
        bus.stop()


def _line(f: dict) -> str:
    flag = "OVERDUE " if f.get("overdue") else ""
    who = f"window {f.get('window_number') or '-'} staff {f.get('staff') or '-'}"
    text = (f"{f['followup']}  {f['status']:<6} {flag}level {f['level']}  {f['number']} ({f['day']})  "
            f"{who}  matter {f.get('matter') or '-'}  phone {f.get('phone') or '-'}  "
            f"回访 by {f['callback_due']}  整改 by {f['due']}")
    if f.get("reasons") or f.get("comment"):
        text += f"\n    reasons {','.join(f.get('reasons') or []) or '-'}: {f.get('comment') or ''}"
    if f["status"] == "closed":
        text += f"\n    closed by {f.get('closed_by')}: {f.get('note')}"
    return text


@click.group(name="followup")
@click.option("--config", "config_path", type=click.Path(exists=True), help="Hall config (for the hall id).")
@click.option("--hall", default=None, help="Hall id (instead of --config).")
@click.option("--client", default="admin", show_default=True,
              help="This tool's id on the bus and its MQTT username: an admin of access.admins.")
@mqtt_options
@click.pass_context
def cmd(ctx, config_path, hall, client, mqtt):
    """Bad-review follow-ups: list them, close one with a note."""
    ctx.obj = {"config": config_path, "hall": hall, "client": client, "mqtt": mqtt}


@cmd.command(name="list")
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx, status, as_json):
    """List follow-ups (open ones first, earliest deadline first)."""
    data = _call(ctx, "followups", {"status": status})
    items = data["followups"]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo(f"no {status} follow-ups")
    for f in items:
        click.echo(_line(f))


@cmd.command(name="close")
@click.argument("followup")
@click.option("--note", required=True, help="What was done (整改措施/回访结果); required.")
@click.option("--by", default=None, help="Who closes it (staff id); default: the client id.")
@click.pass_context
def close_cmd(ctx, followup, note, by):
    """Close one follow-up with a note."""
    if not note.strip():
        raise click.UsageError("--note must say what was done")
    body = {"followup": followup, "note": note} | ({"by": by} if by else {})
    click.echo(_line(_call(ctx, "followup_close", body)))
