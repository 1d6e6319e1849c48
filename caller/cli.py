"""`onewindow caller`: run the queue engine until SIGTERM."""

from __future__ import annotations

import logging

import click

from caller.pydantic_plugins import without_pydantic_plugins

without_pydantic_plugins()  # before the config's models are built

from hall.config import ConfigError, load_config  # noqa: E402
from hall.mqtt_options import MqttOptions, mqtt_options  # noqa: E402
from hall.runner import serve  # noqa: E402

log = logging.getLogger("caller")


@click.command(name="caller")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True),
              help="Hall config YAML.")
@click.option("--db", "db_path", default="/var/lib/onewindow/caller.sqlite", show_default=True,
              help="SQLite file of the engine.")
@click.option("--max-batch", type=click.IntRange(1, 5000), default=500, show_default=True,
              help="Most requests committed in one transaction (group commit).")
@click.option("--mqtt-client", type=click.Choice(["gmqtt", "paho"]), default="gmqtt", show_default=True,
              help="The engine's MQTT client: gmqtt in its event loop, or paho with its own "
                   "network thread (kept to compare; docs/design.md).")
@click.option("--data-key", "data_key", type=click.Path(dir_okay=False), default=None,
              help="File holding the key that encrypts personal data at rest (default: "
                   "$ONEWINDOW_DATA_KEY_FILE, else the systemd credential `data-key`).")
@mqtt_options
def cmd(config_path: str, db_path: str, mqtt: MqttOptions, max_batch: int, data_key: str | None,
        mqtt_client: str) -> None:
    """Run the queue engine of one hall."""
    from hall.crypto import DataCipher, KeyError_

    from .service import CallerService, ClockError
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    try:
        cipher = DataCipher.from_env(data_key)
    except KeyError_ as e:
        raise click.ClickException(str(e)) from None
    settings = mqtt.settings()
    svc = CallerService(cfg, db_path, settings, config_path=config_path, max_batch=max_batch,
                        cipher=cipher, mqtt_client=mqtt_client)
    try:
        serve(svc, f"engine of hall {cfg.hall.id} ({len(cfg.windows)} windows, {len(cfg.matters)} matters)",
              failed=lambda: svc.failed is not None)
    except ClockError as e:  # said once, clearly; systemd's StartLimit* stops the retries
        raise click.ClickException(str(e)) from None
