"""What the bridge redraws when the bus says something (no broker, no line: the
drivers' set_view is recorded)."""

from __future__ import annotations

from firmware_bridge.bridge import Bridge
from firmware_bridge.keypad import KeypadView
from firmware_bridge.ledbar import LedView
from hall import messages
from hall.bus import BusSettings
from hall.config import parse_config
from hall.topics import REGISTRY, Parsed
from tests.conftest import small_raw


def bridge_with(led_rows: dict[str, int], led_texts: dict | None = None):
    raw = small_raw()
    raw["devices"] = {**({"led": led_texts} if led_texts else {}),
        "lines": [{"id": "L1", "port": "/dev/ttyUSB-none", "baud": 115200}],
        "serial": [d for i, (wid, rows) in enumerate(led_rows.items()) for d in (
            {"id": f"led-{wid}", "line": "L1", "kind": "ledbar", "address": 2 * i + 1, "window": wid,
             "columns": 32, "rows": rows},
            {"id": f"kp-{wid}", "line": "L1", "kind": "keypad", "address": 2 * i + 2, "window": wid})],
    }
    cfg = parse_config(raw)
    b = Bridge(cfg, BusSettings(), inputs=False)  # no I/O before start()
    shown: list[tuple[str, object]] = []
    for drv in b.drivers.values():
        drv.set_view = lambda dev, view, urgent=False: shown.append((dev, view))
    return cfg, b, shown


def state(cfg, wid: str, status: str = "open") -> messages.WindowState:
    w = next(w for w in cfg.windows if w.id == wid)
    return messages.WindowState(window=wid, number=w.number, zone=w.zone, status=status, staff="1001",
                                ticket=None, at=0.0)


def test_a_new_waiting_count_redraws_only_the_devices_that_show_it():
    """A count moves at every window of a zone whenever one of them calls: a one-line
    bar with the default texts does not show it and is not even formatted again; a
    two-line bar and the keypads show the new count."""
    cfg, b, shown = bridge_with({"W1": 1, "W2": 2})
    hid = cfg.hall.id
    for wid in ("W1", "W2"):
        b._on_state(Parsed(REGISTRY["window.state"], hid, wid), state(cfg, wid))
    assert {dev for dev, _ in shown} == {"led-W1", "kp-W1", "led-W2", "kp-W2"}
    shown.clear()
    b._on_waiting(Parsed(REGISTRY["zone.waiting"], hid, "Z1"),
                  messages.ZoneWaiting(zone="Z1", groups={"A": 7}, total=7, windows={"W1": 7, "W2": 5}, at=0.0))
    got = dict(shown)
    assert set(got) == {"kp-W1", "led-W2", "kp-W2"}  # not led-W1
    assert got["kp-W1"] == KeypadView("open", 7, "----")
    assert got["kp-W2"] == KeypadView("open", 5, "----")
    assert isinstance(got["led-W2"], LedView) and got["led-W2"].lines[1] == "等候 5 人"
    # the one-line bar still shows the count where its texts ask for it
    cfg2, b2, shown2 = bridge_with({"W1": 1}, {"idle": "{window}号窗口 等候{waiting}人"})
    b2._on_state(Parsed(REGISTRY["window.state"], hid, "W1"), state(cfg2, "W1"))
    shown2.clear()
    b2._on_waiting(Parsed(REGISTRY["zone.waiting"], hid, "Z1"),
                   messages.ZoneWaiting(zone="Z1", groups={}, total=3, windows={"W1": 3}, at=0.0))
    assert dict(shown2)["led-W1"].lines == ("1号窗口 等候3人",)
