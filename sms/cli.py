"""`onewindow sms`: run the SMS sender of a hall until SIGTERM."""

from __future__ import annotations

import logging

import click

from hall.config import ConfigError, load_config
from hall.mqtt_options import MqttOptions, mqtt_options
from hall.runner import serve

log = logging.getLogger("sms")


@click.command(name="sms")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True),
              help="Hall config YAML (its `notify.sms` section).")
@click.option("--journal", "journal_path", default="/var/lib/onewindow/sms.sqlite", show_default=True,
              help="The sender's own SQLite journal.")
@mqtt_options
def cmd(config_path: str, journal_path: str, mqtt: MqttOptions) -> None:
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
                     mqtt.settings(default_user=sc.sender_id))
    serve(svc, f"sms sender {sc.sender_id} of hall {cfg.hall.id} ({sc.sender.type})")
