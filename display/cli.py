"""``onewindow display`` and ``onewindow announcer``."""

from __future__ import annotations

import os
import signal
import threading

import click

from hall.bus import BusSettings
from hall.config import ConfigError, HallConfig, load_config
from hall.config.screens import Screen

from .checks import check_screens


def _load(path: str) -> HallConfig:
    try:
        cfg = load_config(path)
        check_screens(cfg, path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    return cfg


def pick_screen(cfg: HallConfig, screen_id: str | None) -> Screen:
    if screen_id:
        s = cfg.screens.screen(screen_id)
        if s is None:
            known = ", ".join(d.id for d in cfg.screens.displays) or "none"
            raise click.ClickException(f"no display {screen_id!r} in screens.displays (known: {known})")
        return s
    if cfg.screens.displays:
        return cfg.screens.displays[0]
    return Screen(id="display")  # every zone, landscape


@click.command(name="display")
@click.option("--config", "config_path", envvar="ONEWINDOW_CONFIG", required=True,
              type=click.Path(dir_okay=False), help="Hall config YAML.")
@click.option("--screen", "screen_id", envvar="ONEWINDOW_SCREEN", default=None,
              help="Display id in screens.displays (default: the first one).")
@click.option("--windowed", is_flag=True, help="A half-size window with decorations, for a desk.")
@click.option("--host", default=None, help="MQTT broker host (default $ONEWINDOW_MQTT_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="MQTT broker port.")
def display_cmd(config_path: str, screen_id: str | None, windowed: bool, host: str | None,
                port: int | None) -> None:
    """Run a wall display: newest call, earlier calls, waiting counts, progress board."""
    cfg = _load(config_path)
    screen = pick_screen(cfg, screen_id)
    from .app import configure_kivy, make_app
    configure_kivy(screen, windowed)
    from .feed import DisplayFeed
    feed = DisplayFeed(cfg, screen, BusSettings.from_env(host=host, port=port))
    app = make_app(feed)
    # systemd stops with SIGTERM: leave through on_stop, which says "stopped"
    # (not the Last-Will "offline" a crash would leave).
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    app.run()


@click.command(name="announcer")
@click.option("--config", "config_path", envvar="ONEWINDOW_CONFIG", required=True,
              type=click.Path(dir_okay=False), help="Hall config YAML.")
@click.option("--id", "ident", default="announcer", show_default=True,
              help="Its availability id: display/<id>/availability.")
@click.option("--out-dir", default=None,
              help="Where call WAVs are written (default $STATE_DIRECTORY/wav or a temp dir).")
@click.option("--player", type=click.Choice(["aplay", "paplay", "none"]), default=None,
              help="Override screens.voice.player.")
@click.option("--host", default=None, help="MQTT broker host.")
@click.option("--port", type=int, default=None, help="MQTT broker port.")
def announcer_cmd(config_path: str, ident: str, out_dir: str | None, player: str | None,
                  host: str | None, port: int | None) -> None:
    """Speak calls in the zones configured for voice (chime, Mandarin, English)."""
    cfg = _load(config_path)
    from .announcer_service import AnnouncerService
    from .synth import make_player
    state = os.environ.get("STATE_DIRECTORY")
    out = out_dir or (os.path.join(state, "wav") if state else os.path.join("/tmp", f"onewindow-{ident}"))
    svc = AnnouncerService(cfg, BusSettings.from_env(host=host, port=port), out, ident=ident,
                           player=make_player(player) if player else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    svc.start()
    from hall import sdnotify
    sdnotify.NOTIFIER.ready()
    click.echo(f"announcer {ident}: speaking zones "
               f"{sorted(z for z, v in cfg.screens.voice.zones.items() if v.enabled) or 'none'}; WAVs in {out}")
    stop.wait()
    sdnotify.NOTIFIER.stopping()
    svc.stop()
