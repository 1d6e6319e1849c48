"""Config of the hall's serial and input devices (owned by firmware_bridge/).

Two device families:

* ``lines``: RS-485 buses, each one USB adapter (port, baud, protocol) with
  many addressed devices on it (``serial``): LED bars, caller keypads,
  evaluators;
* ``inputs``: Linux input devices found under ``/dev/input/by-id``: USB
  numeric keypads used as callers, QR/barcode scanners and ID-card readers in
  keyboard mode.

Window ids are checked against the hall's windows by :func:`window_problems`
(the device section alone cannot see them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Ident, Strict

WINDOW_OPS = ("next", "recall", "noshow", "start", "transfer", "pause", "resume",
              "finish", "login", "logout")


class Line(Strict):
    id: Ident = Field(description="Name of the bus, used in logs and device status.")
    port: str = Field(min_length=1, description="Serial port; prefer `/dev/serial/by-id/…` so a "
                                                "replugged adapter keeps its name.")
    baud: int = Field(9600, description="Line speed, 8N1.")
    protocol: Literal["onewindow", "legacy68"] = Field(
        "onewindow", description="`onewindow`: our OWB/1 protocol (docs/hardware.md); `legacy68`: the "
                                 "`FF 68 … 16` framing of deployed third-party callers and evaluators.")
    reply_timeout_ms: float = Field(
        0, ge=0, le=2000, description="Wait for a reply before retransmitting; 0 = computed from the "
                                      "baud rate (wire time of request and reply + 20 ms turnaround).")
    retries: int = Field(2, ge=0, le=10, description="Retransmissions before a device counts as silent.")
    poll_interval_ms: float = Field(
        0, ge=0, le=5000, description="Least time between two polls of one keypad or evaluator; 0 = as "
                                      "fast as the bus allows.")
    coalesce_ms: float = Field(
        1000, ge=0, le=60000, description="Least time between two non-urgent updates of one device (a "
                                          "waiting count on a keypad); a new call or prompt is never held.")
    keepalive_s: float = Field(5, gt=0, le=300,
                               description="Ping an output-only device (LED bar) this often to notice it gone; "
                                           "stretched so keepalives take at most a tenth of the line.")
    backoff_max_s: float = Field(30, gt=0, le=600,
                                 description="Longest wait between retries of a silent device or a lost port.")

    @model_validator(mode="after")
    def _baud(self) -> "Line":
        if self.baud not in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400):
            raise ValueError(f"unsupported baud rate {self.baud}")
        return self


class SerialDevice(Strict):
    id: Ident = Field(description="Device id; its availability is `device/<id>/availability`.")
    line: Ident = Field(description="The `lines[].id` this device hangs on.")
    kind: Literal["ledbar", "keypad", "evaluator"] = Field(description="What the device is.")
    address: int = Field(ge=1, le=247, description="Bus address set on the device (DIP switch or menu).")
    window: Ident = Field(description="The window it belongs to.")
    columns: int = Field(16, ge=8, le=64, description="LED bar: width in half-width columns (a Han "
                                                      "character takes two).")
    rows: int = Field(1, ge=1, le=2, description="LED bar: text lines.")


class InputDevice(Strict):
    id: Ident = Field(description="Device id; its availability is `device/<id>/availability`.")
    kind: Literal["keypad", "scanner"] = Field(description="`keypad`: a USB numeric keypad used as a "
                                                           "caller; `scanner`: QR/barcode or ID-card reader.")
    path: str = Field(min_length=1, description="`/dev/input/by-id/…-event-kbd`: stable across replugs.")
    window: Ident | None = Field(None, description="Window the keypad calls for, or the scanner serves.")
    grab: bool = Field(True, description="Take the device exclusively so the desktop (Kivy) does not "
                                         "also see the keys.")
    keymap: dict[str, str] = Field(
        default={}, description="Keypad: evdev key name → window op (`KEY_KPENTER: next`). Digits typed "
                                "before `login` or `transfer` become its staff or window number.")

    @model_validator(mode="after")
    def _check(self) -> "InputDevice":
        if self.kind == "keypad":
            if self.window is None:
                raise ValueError("a keypad needs `window`")
            for key, op in self.keymap.items():
                if not key.startswith(("KEY_", "BTN_")):
                    raise ValueError(f"keymap key {key!r} is not an evdev key name (KEY_…)")
                if op not in WINDOW_OPS:
                    raise ValueError(f"keymap.{key}: unknown op {op!r}; one of {', '.join(WINDOW_OPS)}")
        elif self.keymap:
            raise ValueError("only a keypad has a keymap")
        return self


DEFAULT_KEYPAD_MAP = {
    "KEY_KPENTER": "next", "KEY_KPPLUS": "recall", "KEY_KPMINUS": "noshow",
    "KEY_KPASTERISK": "transfer", "KEY_KPSLASH": "pause", "KEY_NUMLOCK": "resume",
    "KEY_KPDOT": "finish", "KEY_BACKSPACE": "login",
}


class LedTexts(Strict):
    """What the LED bars say; `{number}` is the ticket, `{window}` the window number,
    `{waiting}` the people waiting.  Texts are encoded GB2312 for the bar."""

    call: str = Field("{number} 请到{window}号窗口", description="A ticket called (flashes on recall).")
    serving: str = Field("{number} 正在办理", description="The citizen arrived and is served.")
    idle: str = Field("{window}号窗口 欢迎您", description="Open, nobody called.")
    paused: str = Field("{window}号窗口 暂停服务", description="Paused.")
    closed: str = Field("{window}号窗口 暂停服务", description="Nobody logged in.")
    second_line: str = Field("等候 {waiting} 人", description="Second line of two-line bars.")
    flash_s: int = Field(8, ge=0, le=60, description="Seconds the bar flashes after a recall.")
    out_of_service: str = Field("{window}号窗口 系统维护", description=(
        "Shown instead of the window's state once the queue engine has been unreachable for "
        "`out_of_service_after_s`: the last call on the bar would be stale and misleading."))
    out_of_service_after_s: int = Field(30, ge=0, le=3600, description=(
        "Seconds the engine may be unreachable (its availability not `online`, or the broker "
        "lost) before the bars show `out_of_service`; 0 never shows it."))


class DevicesConfig(Strict):
    lines: list[Line] = Field(default=[], description="RS-485 buses (one USB adapter each).")
    serial: list[SerialDevice] = Field(default=[], description="Addressed devices on the lines.")
    inputs: list[InputDevice] = Field(default=[], description="evdev keypads and scanners.")
    led: LedTexts = Field(default_factory=LedTexts, description="LED bar texts.")
    evaluation_grace_s: float = Field(
        5, ge=0, le=120, description="If an evaluator says nothing this long after its own timeout "
                                     "(e.g. it is unplugged), the bridge reports the visit as not rated.")

    @model_validator(mode="after")
    def _cross(self) -> "DevicesConfig":
        errs: list[str] = []
        lines = {ln.id: ln for ln in self.lines}
        if len(lines) != len(self.lines):
            errs.append("lines: duplicate id")
        ports = [ln.port for ln in self.lines]
        if len(set(ports)) != len(ports):
            errs.append("lines: two lines on one port")
        ids = [d.id for d in self.serial] + [d.id for d in self.inputs]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            errs.append(f"serial/inputs: duplicate device ids {dup}")
        seen: dict[tuple[str, int], str] = {}
        per_window: dict[tuple[str, str], str] = {}
        for i, d in enumerate(self.serial):
            line = lines.get(d.line)
            if line is None:
                errs.append(f"serial[{i}].line: unknown line {d.line!r}")
                continue
            if line.protocol == "legacy68" and d.kind == "ledbar":
                errs.append(f"serial[{i}].kind: a legacy68 line carries keypads and evaluators only")
            other = seen.get((d.line, d.address))
            if other:
                errs.append(f"serial[{i}].address: {d.address} already used by {other} on {d.line}")
            seen[(d.line, d.address)] = d.id
            other = per_window.get((d.window, d.kind))
            if other:
                errs.append(f"serial[{i}].window: {d.window} already has a {d.kind} ({other})")
            per_window[(d.window, d.kind)] = d.id
        if errs:
            raise ValueError("; ".join(errs))
        return self

    def window_problems(self, window_ids: set[str]) -> list[tuple[str, str]]:
        """Devices naming a window the hall does not have, as (path, reason)."""
        out = []
        for i, d in enumerate(self.serial):
            if d.window not in window_ids:
                out.append((f"devices.serial[{i}].window", f"unknown window {d.window!r}"))
        for i, d in enumerate(self.inputs):
            if d.window is not None and d.window not in window_ids:
                out.append((f"devices.inputs[{i}].window", f"unknown window {d.window!r}"))
        return out

    def keymap(self, dev: InputDevice) -> dict[str, str]:
        return dict(dev.keymap) if dev.keymap else dict(DEFAULT_KEYPAD_MAP)


def window_problems(config) -> list[tuple[str, str]]:
    """For a whole :class:`hall.config.HallConfig`."""
    return config.devices.window_problems({w.id for w in config.windows})
