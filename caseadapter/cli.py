"""`onewindow case-adapter`: send an outside case system's CSV drop files to the engine."""

from __future__ import annotations

import click

from hall.config import ConfigError, load_config
from hall.mqtt_options import MqttOptions, mqtt_options
from hall.runner import serve


@click.command(name="case-adapter")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Hall config YAML (its `cases.systems` names this adapter's id).")
@click.option("--id", "system_id", required=True, help="The outside case system's id (`cases.systems[].id`), "
                                                       "also its broker username.")
@click.option("--inbox", required=True, type=click.Path(file_okay=False),
              help="The drop folder the outside system writes its CSV files into.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.2, 3600),
              help="Seconds between looks at the inbox.")
@mqtt_options
def cmd(config_path: str, system_id: str, inbox: str, interval: float, mqtt: MqttOptions) -> None:
    """Open cases and report their steps from an outside case system (审批系统) through a CSV drop folder."""
    from .service import CaseAdapter
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if system_id not in {s.id for s in cfg.cases.systems}:
        raise click.ClickException(f"{system_id!r} is not in cases.systems of {config_path}: the engine "
                                   "would refuse its requests")
    svc = CaseAdapter(cfg.hall.id, system_id, inbox, mqtt.settings(default_user=system_id), interval)
    serve(svc, f"case adapter {system_id} of hall {cfg.hall.id} (inbox {inbox})")
