"""``onewindow display`` and ``onewindow announcer``."""

from __future__ import annotations

import os
import signal
import threading

import click

from hall.config import ConfigError, HallConfig, load_config
from hall.config.screens import Screen
from hall.mqtt_options import MqttOptions, mqtt_options

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
@mqtt_options
def display_cmd(config_path: str, screen_id: str | None, windowed: bool, mqtt: MqttOptions) -> None:
    """Run a wall display: newest call, earlier calls, waiting counts, progress board."""
    cfg = _load(config_path)
    screen = pick_screen(cfg, screen_id)
    from .app import configure_kivy, make_app
    configure_kivy(screen, windowed)
    from .feed import DisplayFeed
    feed = DisplayFeed(cfg, screen, mqtt.settings(default_user=screen.id))
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
@mqtt_options
def announcer_cmd(config_path: str, ident: str, out_dir: str | None, player: str | None,
                  mqtt: MqttOptions) -> None:
    """Speak calls in the zones configured for voice (chime, Mandarin, English)."""
    cfg = _load(config_path)
    from .announcer_service import AnnouncerService
    from .synth import make_player
    state = os.environ.get("STATE_DIRECTORY")
    out = out_dir or (os.path.join(state, "wav") if state else os.path.join("/tmp", f"onewindow-{ident}"))
    svc = AnnouncerService(cfg, mqtt.settings(default_user=ident), out, ident=ident,
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


@click.command(name="voice-clips")
@click.option("--out", default="/var/lib/onewindow/voice-clips", show_default=True,
              help="Folder for the prompts (`screens.voice.clips_dir`).")
@click.option("--rate", type=int, default=150, show_default=True, help="Speaking rate, words per minute.")
def voice_clips_cmd(out: str, rate: int) -> None:
    """Make the default voice prompts with espeak-ng (run at install; replace them with recordings)."""
    from .clips import cmd_main
    cmd_main(out, rate)
