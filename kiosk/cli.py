"""`onewindow kiosk`: run the touchscreen kiosk."""

from __future__ import annotations

import time

import click

from hall.mqtt_options import MqttOptions, mqtt_options


@click.command(name="kiosk")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Hall config YAML (with a `kiosks:` section).")
@click.option("--id", "kiosk_id", required=True, help="This kiosk's id (kiosks.devices[].id).")
@click.option("--fullscreen/--windowed", default=False, help="Fullscreen on the kiosk panel (SDL2 KMSDRM on a Pi).")
@click.option("--window-size", default=None, help="WxH for a desk test, e.g. 540x960.")
@click.option("--ready-exit", is_flag=True, help="Exit once the home screen is drawn (cold-start benchmark).")
@mqtt_options
def cmd(config_path: str, kiosk_id: str, mqtt: MqttOptions, fullscreen: bool,
        window_size: str | None, ready_exit: bool) -> None:
    """Run the touchscreen kiosk KIOSK_ID of the hall in CONFIG."""
    t0 = time.perf_counter()
    from hall.config import ConfigError, load_config

    from .scanner import EvdevSource

    try:
        cfg = load_config(config_path)
        from hall.guide import check_guides
        check_guides(cfg)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    dev = cfg.kiosks.device(kiosk_id)
    if dev is None:
        raise click.ClickException(f"no kiosk {kiosk_id!r} in kiosks.devices of {config_path}")
    size = None
    if window_size:
        w, _, h = window_size.partition("x")
        size = (int(w), int(h))

    from .app import configure_kivy, run_app
    configure_kivy(cfg.kiosks.screen, fullscreen=fullscreen, size=size)

    from .service import KioskService, make_printer
    printer, fake = make_printer(cfg, kiosk_id)
    # the broker knows a kiosk by its id as username (`onewindow acl`)
    settings = mqtt.settings(default_user=kiosk_id)
    svc = KioskService(cfg, kiosk_id, settings, printer=printer)
    svc.start()
    for sc in dev.scanners:
        if sc.type != "evdev":
            continue
        # no evdev here: the reader reports the scanner unavailable, the kiosk runs touch only
        svc.add_source(EvdevSource(sc, on_availability=svc.scanner_availability))
    try:
        run_app(svc, ready_exit=ready_exit, t0=t0)
    finally:
        svc.stop()
        if fake is not None:
            fake.stop()
