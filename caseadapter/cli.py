"""`onewindow case-adapter`: send an outside case system's CSV drop files to the engine."""

from __future__ import annotations

from typing import Any

import click

from hall.config import ConfigError, load_config
from hall.mqtt_options import MqttOptions, mqtt_options
from hall.runner import serve


@click.command(name="case-adapter")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Hall config YAML (its `cases.systems` names this adapter's id).")
@click.option("--id", "system_id", required=True, help="The outside case system's id (`cases.systems[].id`), "
                                                       "also its broker username.")
@click.option("--inbox", type=click.Path(file_okay=False),
              help="The drop folder the outside system writes its CSV files into.")
@click.option("--url", help="Or: the outside system's HTTPS feed of events, polled (caseadapter/httpfeed.py).")
@click.option("--state", type=click.Path(dir_okay=False),
              help="With --url: the file that keeps the feed's cursor (default: /var/lib/onewindow/<id>.cursor).")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False),
              help="With --url: the CA that signed the system's certificate (else the system's trust store).")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False),
              help="With --url: a file holding the bearer token the system asks for (a systemd credential).")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.2, 3600),
              help="Seconds between looks at the inbox or the feed.")
@mqtt_options
def cmd(config_path: str, system_id: str, inbox: str | None, url: str | None, state: str | None,
        cafile: str | None, token_file: str | None, interval: float, mqtt: MqttOptions) -> None:
    """Open cases and report their steps from an outside case system (审批系统): a CSV drop folder or an HTTPS feed."""
    from .service import CaseAdapter
    if (inbox is None) == (url is None):
        raise click.UsageError("give one of --inbox (a CSV drop folder) or --url (an HTTPS feed)")
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if system_id not in {s.id for s in cfg.cases.systems}:
        raise click.ClickException(f"{system_id!r} is not in cases.systems of {config_path}: the engine "
                                   "would refuse its requests")
    source: Any = inbox
    if url is not None:
        from pathlib import Path

        from .httpfeed import HttpFeed
        token = Path(token_file).read_text(encoding="utf-8").strip() if token_file else None
        try:
            source = HttpFeed(url, state or f"/var/lib/onewindow/{system_id}.cursor", cafile=cafile, token=token)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
    svc = CaseAdapter(cfg.hall.id, system_id, source, mqtt.settings(default_user=system_id), interval)
    serve(svc, f"case adapter {system_id} of hall {cfg.hall.id} ({svc.inbox.where()})")
