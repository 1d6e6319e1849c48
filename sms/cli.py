"""`onewindow sms`: run the SMS sender of a hall until SIGTERM."""

from __future__ import annotations

import logging

import click

from hall.bus import BusSettings
from hall.config import ConfigError, load_config
from hall.runner import serve

log = logging.getLogger("sms")


@click.command(name="sms")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True),
              help="Hall config YAML (its `notify.sms` section).")
@click.option("--journal", "journal_path", default="/var/lib/onewindow/sms.sqlite", show_default=True,
              help="The sender's own SQLite journal.")
@click.option("--host", default=None, help="MQTT host (env ONEWINDOW_MQTT_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="MQTT port (env ONEWINDOW_MQTT_PORT, default 1883).")
@click.option("--protocol", type=click.Choice(["5", "3.1.1"]), default=None, help="MQTT protocol.")
def cmd(config_path: str, journal_path: str, host: str | None, port: int | None, protocol: str | None) -> None:
    """Send the hall's SMS reminders through a GSM modem or an HTTP gateway."""
    from sms.service import SmsService, build_driver
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    sc = cfg.notify.sms
    if not sc.enabled:
        log.warning("notify.sms.enabled is false: the engine sends no requests; serving anyway")
    svc = SmsService(cfg.hall.id, sc.sender_id, build_driver(cfg), journal_path,
                     BusSettings.from_env(host=host, port=port, protocol=protocol))
    serve(svc, f"sms sender {sc.sender_id} of hall {cfg.hall.id} ({sc.sender.type})")
