"""`onewindow config check|show FILE`."""

from __future__ import annotations

import json

import click

from .config import ConfigError, load_config


@click.group(name="config")
def cmd() -> None:
    """Check or show a hall config."""


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
