"""`onewindow bridge`: run the device bridge of one Pi (serial lines and evdev inputs)."""

from __future__ import annotations

import logging
import signal
import socket
import tempfile
import threading

import click

from hall.config import ConfigError, load_config
from hall.mqtt_options import MqttOptions, mqtt_options
from hall.topics import TopicError, check_id

log = logging.getLogger("firmware_bridge.cli")


@click.command(name="bridge")
@click.option("--config", "config_path", type=click.Path(exists=True), required=True,
              envvar="ONEWINDOW_CONFIG", help="Hall config (devices: section).")
@click.option("--line", "lines", multiple=True,
              help="Only these lines (repeatable); default: every line in the config.")
@click.option("--inputs/--no-inputs", default=True, show_default=True,
              help="Also read the evdev keypads and scanners of the config.")
@click.option("--id", "bridge_id", default=None,
              help="This bridge's id (its MQTT username and device/<id>/availability); default "
                   "bridge-<hostname>. An id of access.bridges selects its lines and inputs.")
@click.option("--fake", is_flag=True,
              help="Run against fake devices on ptys (no hardware needed): for trying the config.")
@click.option("--scan", is_flag=True,
              help="Probe every address of the lines, print who answers against the config, and exit "
                   "(the bridge must not be running on those ports).")
@mqtt_options
def cmd(config_path: str, lines: tuple[str, ...], inputs: bool, bridge_id: str | None, fake: bool,
        scan: bool, mqtt: MqttOptions) -> None:
    """Bridge RS-485 LED bars, keypads, evaluators and USB keypads/scanners to the hall bus."""
    from .bridge import Bridge, BridgeError
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    known = {ln.id for ln in cfg.devices.lines}
    unknown = set(lines) - known
    if unknown:
        raise click.ClickException(f"--line: no line {sorted(unknown)} in the config (have {sorted(known)})")
    if scan:
        _scan(cfg, set(lines) or known)
        return
    ident = bridge_id or "bridge-" + "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-"
                                             for c in socket.gethostname())[:50]
    try:
        check_id(ident, "--id")
    except TopicError as e:
        raise click.ClickException(str(e)) from None
    settings = mqtt.settings(default_user=ident)
    # a bridge named in access.bridges drives its own lines and inputs only: the
    # broker lets it act for their windows and no others
    own = next((b for b in cfg.access.bridges if b.id == ident), None)
    if own is not None and not lines:
        lines = tuple(own.lines)
    use_inputs: bool | set[str] = (set(own.inputs) if own is not None else True) if inputs else False
    try:
        if fake:
            from .demo_rig import start_demo_rig
            runner = start_demo_rig(cfg, settings, tempfile.mkdtemp(prefix="onewindow-bridge-fake-"))
            click.echo("bridge running on fake devices: " +
                       ", ".join(f"{k}={v.port}" for k, v in runner.lines.items()))
        else:
            runner = Bridge(cfg, settings, bridge_id=ident, lines=set(lines) or None, inputs=use_inputs).start()
    except (BridgeError, TimeoutError) as e:
        raise click.ClickException(str(e)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    from hall import sdnotify
    sdnotify.NOTIFIER.ready()
    try:
        while not stop.wait(1.0):
            sdnotify.beat("bridge")  # the lines' own threads beat too (driver.py)
    except KeyboardInterrupt:
        pass
    finally:
        sdnotify.NOTIFIER.stopping()
        runner.stop()


def _scan(cfg, lines: set[str]) -> None:
    from hall.seriallink import LinkError, SerialLink
    from .scan import report, scan_line
    for line in cfg.devices.lines:
        if line.id not in lines:
            continue
        link = SerialLink(line.port, line.baud)
        try:
            link.open()
        except LinkError as e:
            click.echo(f"{line.id}: cannot open {line.port}: {e}")
            continue
        try:
            configured = {d.address: (d.id, d.kind) for d in cfg.devices.serial if d.line == line.id}
            for row in report(line, scan_line(line, link), configured):
                click.echo(row)
        finally:
            link.close()
