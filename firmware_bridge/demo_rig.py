"""Fake devices on ptys plus a running bridge, for `onewindow demo` and the tests.

``start_demo_rig(config, bus_settings, workdir)`` gives every configured
serial device a fake on a pty that speaks its real protocol (or, when the
config declares none, an LED bar, a keypad and an evaluator per window on
generated OWB/1 lines), points the lines' ports at those ptys, and starts the
real :class:`~firmware_bridge.bridge.Bridge` on them.  The demo's simulated
staff press keys with ``rig.press("W1", "next")``; citizens rate with
``rig.rate("W1", 5)``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hall.bus import BusSettings
from hall.config.devices import DevicesConfig, Line, SerialDevice

from .bridge import Bridge
from .fakes import (FakeEvaluator, FakeKeypad, FakeLedBar, FakeLegacyEvaluator, FakeLegacyKeypad,
                    FakeLine, Quirks)

log = logging.getLogger("firmware_bridge.demo")

PER_LINE = 82  # three addresses a window, 247 addresses a line
_FAKES = {("onewindow", "ledbar"): FakeLedBar, ("onewindow", "keypad"): FakeKeypad,
          ("onewindow", "evaluator"): FakeEvaluator, ("legacy68", "keypad"): FakeLegacyKeypad,
          ("legacy68", "evaluator"): FakeLegacyEvaluator}


def generated_devices(config, baud: int = 115200) -> DevicesConfig:
    """An LED bar, a keypad and an evaluator for every window, on OWB/1 lines."""
    lines, serial = [], []
    for i, w in enumerate(config.windows):
        n, k = divmod(i, PER_LINE)
        if k == 0:
            lines.append(Line(id=f"demo{n + 1}", port=f"/dev/onewindow-demo{n + 1}", baud=baud))
        for j, kind in enumerate(("ledbar", "keypad", "evaluator")):
            serial.append(SerialDevice(id=f"{kind}-{w.id}", line=lines[-1].id, kind=kind,
                                       address=3 * k + j + 1, window=w.id,
                                       rows=2 if kind == "ledbar" else 1, columns=32))
    return DevicesConfig(lines=lines, serial=serial, led=config.devices.led,
                         evaluation_grace_s=config.devices.evaluation_grace_s)


class DemoRig:
    def __init__(self, config, bus_settings: BusSettings, workdir: str | Path,
                 quirks: Quirks | None = None, reply_timeout_ms: float = 200, bridge_id: str = "demo-bridge"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        devices = config.devices if config.devices.serial else generated_devices(config)
        self.lines: dict[str, FakeLine] = {}
        self.fakes: dict[str, object] = {}          # device id → fake
        self.by_window: dict[str, dict[str, object]] = {}
        new_lines = []
        for line in devices.lines:
            # emulated wire time by default: realistic poll rates, and a pty bus that
            # does not spin a CPU core polling as fast as the kernel allows
            q = quirks if quirks is not None else Quirks(wire_baud=line.baud)
            fake = FakeLine(line.protocol, str(self.workdir / f"tty-{line.id}"), quirks=q)
            self.lines[line.id] = fake
            # on a pty the wire is instant; a generous timeout rides out a loaded CI machine
            new_lines.append(line.model_copy(update={"port": fake.port,
                                                     "reply_timeout_ms": reply_timeout_ms}))
        for d in devices.serial:
            proto = self.lines[d.line].protocol
            fake = self.lines[d.line].add(_FAKES[(proto, d.kind)](d.address))
            self.fakes[d.id] = fake
            self.by_window.setdefault(d.window, {})[d.kind] = fake
        devices = devices.model_copy(update={"lines": new_lines, "inputs": []})
        self.config = config.model_copy(update={"devices": devices})
        self.bridge = Bridge(self.config, bus_settings, bridge_id=bridge_id, inputs=False)

    def start(self) -> "DemoRig":
        for fl in self.lines.values():
            fl.start()
        self.bridge.start()
        return self

    def stop(self) -> None:
        self.bridge.stop()
        for fl in self.lines.values():
            fl.stop()

    # ---- what the simulated people do
    def press(self, window: str, key: str, arg: str = "") -> bool:
        """A key on the window's keypad; False when it has no keypad or no such key
        (FF-68 keypads have no `start`)."""
        kp = self.by_window.get(window, {}).get("keypad")
        if kp is None:
            return False
        try:
            kp.press(key, arg)
        except ValueError:
            return False
        return True

    def rate(self, window: str, level: int) -> bool:
        ev = self.by_window.get(window, {}).get("evaluator")
        return bool(ev is not None and ev.rate(level))

    def led(self, window: str):
        return self.by_window.get(window, {}).get("ledbar")

    def led_text(self, window: str) -> str:
        led = self.led(window)
        return led.text if led is not None else ""


def start_demo_rig(config, bus_settings: BusSettings, workdir, **kw) -> DemoRig:
    return DemoRig(config, bus_settings, workdir or os.getcwd(), **kw).start()
