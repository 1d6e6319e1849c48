"""`onewindow status`: every process and device of the hall from retained
availability — what is offline, and since when.

The broker keeps each client's retained availability but not when it was
set; the times come from `onewindow metrics`' retained digest
(``stats/hall/availability``).  Without it (the exporter not running) the
states are still right and the times say so.  ``--config`` adds what the hall
config names but the bus has never seen (a kiosk that was never switched on).
"""

from __future__ import annotations

import threading
import time

import click

from hall import messages as m
from hall.bus import Bus, BusSettings
from hall.mqtt_options import MqttOptions, mqtt_options
from hall.topics import REGISTRY

from .monitor import AVAILABILITY

ORDER = {"offline": 0, "stopped": 1, "online": 2}


def configured(cfg) -> set[tuple[str, str]]:
    """The clients the hall config names: the engine, kiosks, wall displays, serial and input devices."""
    out = {("engine", "caller")}
    out |= {("kiosk", d.id) for d in cfg.kiosks.devices}
    out |= {("display", d.id) for d in cfg.screens.displays}
    out |= {("device", d.id) for d in cfg.devices.serial}
    out |= {("device", d.id) for d in cfg.devices.inputs}
    return out


def _ago(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days"


def render(hall_id: str, states: dict[tuple[str, str], str], digest: m.AvailabilityDigest | None,
           expected: set[tuple[str, str]], now: float, tz=None) -> str:
    """The report, offline first (pure: tests compare it line by line)."""
    since = {(c.kind, c.id): c for c in digest.clients} if digest else {}

    def clock(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t) if tz is None else time.gmtime(t))

    count = {s: sum(1 for v in states.values() if v == s) for s in ORDER}
    never = sorted(expected - set(states))
    lines = [f"hall {hall_id}: {count['online']} online, {count['offline']} offline, "
             f"{count['stopped']} stopped" + (f", {len(never)} never seen" if expected else "")
             + f" (at {clock(now)})"]
    if digest is None:
        lines.append("(no times: `onewindow metrics` is not running or has published nothing)")
    for key in sorted(states, key=lambda k: (ORDER[states[k]], k)):
        state = states[key]
        c = since.get(key)
        if c is None or c.state != state:
            when = "since ?"
        elif c.seen_change:
            when = f"since {clock(c.since)} ({_ago(now - c.since)})"
        else:
            when = f"since before {clock(c.since)} (already {state} when the monitor started)"
        lines.append(f"{state.upper():8} {key[0]:8} {key[1]:16} {when}")
    for kind, ident in never:
        lines.append(f"{'NEVER':8} {kind:8} {ident:16} in the hall config, never on the bus")
    return "\n".join(lines) + "\n"


def read_retained(hall_id: str, settings: BusSettings, quiet: float = 0.5, timeout: float = 10.0,
                  client_id: str | None = None):
    """Retained availability and the digest; done when nothing new came for ``quiet`` s."""
    states: dict[tuple[str, str], str] = {}
    digest: list[m.AvailabilityDigest] = []
    last = [time.monotonic()]
    lock = threading.Lock()

    def on_avail(p, avail: m.Availability | None) -> None:
        with lock:
            last[0] = time.monotonic()
            if avail is not None:
                states[(p.spec.kind.value, p.ident)] = avail.state

    def on_digest(p, got: m.AvailabilityDigest | None) -> None:
        with lock:
            last[0] = time.monotonic()
            digest[:] = [got] if got is not None else []

    bus = Bus(hall_id, client_id or f"onewindow-status-{int(time.time())}", settings)
    for name in AVAILABILITY:  # typed by the bus: a payload that does not decode is dropped there
        bus.listen(REGISTRY[name], on_avail)
    bus.listen(REGISTRY["stats.availability"], on_digest, ident="hall")
    bus.start(timeout)
    try:
        end = time.monotonic() + timeout
        last[0] = time.monotonic()
        while time.monotonic() < end:
            time.sleep(0.05)
            with lock:
                if time.monotonic() - last[0] >= quiet:
                    break
    finally:
        bus.stop()
    return states, (digest[0] if digest else None)


@click.command(name="status")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Hall config YAML (also: who should be there).")
@click.option("--exit-code", is_flag=True, help="Exit 2 if anything is offline or never seen (for scripts).")
@mqtt_options
def cmd(config_path: str, exit_code: bool, mqtt: MqttOptions) -> None:
    """Print every process and device of the hall: what is offline, since when."""
    from hall.config import ConfigError, load_config
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    try:
        states, digest = read_retained(cfg.hall.id, mqtt.settings())
    except TimeoutError as e:
        raise click.ClickException(f"cannot reach the hall bus: {e}") from None
    expected = configured(cfg)
    click.echo(render(cfg.hall.id, states, digest, expected, time.time()), nl=False)
    if exit_code and (any(s == "offline" for s in states.values()) or expected - set(states)):
        raise SystemExit(2)
