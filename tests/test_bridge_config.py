"""Devices config, and the pure presenters: LED text (golden frames), keypad keys, evaluator sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_bridge import frames as F
from firmware_bridge.bridge import Bridge, BridgeError
from firmware_bridge.evaluator import IDLE, EvaluatorSession, PromptView
from firmware_bridge.keypad import DigitEntry, KeypadView, KeyRefused, keypad_view, request_for_key
from firmware_bridge.ledbar import LedPresenter, columns, gb2312
from hall import messages as m
from hall.bus import BusSettings
from hall.config import ConfigError, load_config, parse_config
from hall.config.devices import DevicesConfig, LedTexts, SerialDevice

from .goldens import read_jsonl

ROOT = Path(__file__).parent.parent


def state(status="open", number=None, tstate="called", recalls=0, ticket="20261121-A023"):
    brief = None
    if number:
        brief = m.TicketBrief(ticket=ticket, number=number, matter="M1", bundle=None, state=tstate,
                              called_at=1.0, recalls=recalls, priority="normal")
    return m.WindowState(window="W05", number="5", zone="Z1", status=status, staff="1001" if status != "closed"
                         else None, ticket=brief, at=1.0)


# ----------------------------------------------------------------- config --

def test_example_hall_devices_are_valid():
    cfg = load_config(ROOT / "config" / "hall.example.yaml")
    assert cfg.devices.lines and cfg.devices.serial and cfg.devices.inputs
    assert cfg.devices.window_problems({w.id for w in cfg.windows}) == []


def _raw_devices(**over):
    d = {"lines": [{"id": "L1", "port": "/dev/ttyUSB0", "baud": 9600},
                   {"id": "L2", "port": "/dev/ttyUSB1", "baud": 9600, "protocol": "legacy68"}],
         "serial": [{"id": "led1", "line": "L1", "kind": "ledbar", "address": 1, "window": "W1"}]}
    d.update(over)
    return d


@pytest.mark.parametrize("over, needle", [
    ({"serial": [{"id": "a", "line": "L1", "kind": "ledbar", "address": 1, "window": "W1"},
                 {"id": "b", "line": "L1", "kind": "keypad", "address": 1, "window": "W1"}]},
     "address: 1 already used by a"),
    ({"serial": [{"id": "a", "line": "L9", "kind": "ledbar", "address": 1, "window": "W1"}]}, "unknown line"),
    ({"serial": [{"id": "a", "line": "L2", "kind": "ledbar", "address": 1, "window": "W1"}]},
     "legacy68 line carries keypads and evaluators only"),
    ({"serial": [{"id": "a", "line": "L1", "kind": "ledbar", "address": 300, "window": "W1"}]}, "address"),
    ({"inputs": [{"id": "k", "kind": "keypad", "path": "/dev/input/x", "window": "W1",
                  "keymap": {"KEY_KP1": "explode"}}]}, "unknown op 'explode'"),
    ({"inputs": [{"id": "k", "kind": "keypad", "path": "/dev/input/x"}]}, "a keypad needs `window`"),
    ({"lines": [{"id": "L1", "port": "/dev/ttyUSB0", "baud": 12345}]}, "unsupported baud"),
    ({"serial": [], "colour": "red"}, "colour"),
])
def test_bad_devices_config_is_refused_with_a_reason(over, needle):
    from tests.conftest import small_raw
    raw = small_raw()
    raw["devices"] = _raw_devices(**over)
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert needle in str(e.value)
    assert "devices" in str(e.value)


def test_unknown_window_is_refused_by_the_bridge():
    from tests.conftest import small_raw
    raw = small_raw()
    raw["devices"] = _raw_devices(serial=[{"id": "a", "line": "L1", "kind": "ledbar", "address": 1,
                                           "window": "W99"}])
    with pytest.raises(ConfigError) as e:  # `onewindow config check` already says so
        parse_config(raw)
    assert ("devices.serial[0].window", "unknown window 'W99'") in e.value.problems
    # a config assembled in code (not parsed) is still refused by the bridge itself
    good = small_raw()
    cfg = parse_config(good)
    bad_devices = cfg.devices.model_validate(raw["devices"])
    cfg = cfg.model_copy(update={"devices": bad_devices})
    assert cfg.devices.window_problems({w.id for w in cfg.windows}) == [
        ("devices.serial[0].window", "unknown window 'W99'")]
    with pytest.raises(BridgeError, match="W99"):
        Bridge(cfg, BusSettings(), inputs=False)


# ----------------------------------------------------------------- ledbar --

LED = SerialDevice(id="led", line="L1", kind="ledbar", address=1, window="W05", columns=16, rows=1)
LED2 = LED.model_copy(update={"rows": 2, "columns": 32})


def led_cases() -> list[dict]:
    texts = LedTexts()
    out = []
    for name, dev, st, waiting in [
        ("closed", LED, state("closed"), 3),
        ("idle", LED, state("open"), 3),
        ("paused", LED, state("paused"), 3),
        ("call", LED, state(number="A023"), 3),
        ("serving", LED, state(number="A023", tstate="serving"), 3),
        ("call_2rows", LED2, state(number="G105"), 12),
        ("unknown", LED, None, 0),
    ]:
        view = LedPresenter(dev, texts, "5").render(st, 100.0, waiting=waiting)
        enc = view.encoded()
        frame = F.encode(1, F.LED_TEXT, F.led_payload(enc, view.flash_s, any(len(b) > dev.columns for b in enc)),
                         seq=1)
        out.append({"name": name, "lines": list(view.lines), "flash_s": view.flash_s, "frame": frame.hex()})
    return out


def test_led_frames_match_golden():
    golden = read_jsonl("bridge/led_frames.jsonl")
    assert led_cases() == golden
    by = {c["name"]: c for c in golden}
    assert by["call"]["lines"] == ["A023 请到5号窗口"]
    assert by["closed"]["lines"] == ["5号窗口 暂停服务"]
    assert by["call_2rows"]["lines"] == ["G105 请到5号窗口", "等候 12 人"]


def test_led_out_of_service_text_replaces_a_stale_call():
    p = LedPresenter(LED2, LedTexts(), "5")
    assert p.render(state(number="A023", recalls=1), 100.0).lines[0] == "A023 请到5号窗口"
    away = p.render(state(number="A023", recalls=1), 101.0, out_of_service=True)
    assert (away.lines, away.flash_s) == (("5号窗口 系统维护",), 0)
    assert p.render(state(number="A023", recalls=1), 102.0, waiting=3).lines == ("A023 请到5号窗口", "等候 3 人")


def test_led_flashes_after_a_recall_only_for_a_while():
    p = LedPresenter(LED, LedTexts(flash_s=8), "5")
    assert p.render(state(number="A023"), 100.0).flash_s == 0
    assert p.render(state(number="A023", recalls=1), 101.0).flash_s == 8
    assert p.render(state(number="A023", recalls=1), 104.5, waiting=9).flash_s == 5  # still flashing
    assert p.render(state(number="A023", recalls=1), 120.0).flash_s == 0
    assert p.render(state(number="A024"), 121.0).flash_s == 0  # a new call is not a recall


def test_gb2312_width_scroll_and_unencodable_characters():
    assert columns("A023 请到5号窗口") == 16
    assert gb2312("𠀀A") == b"?A"  # outside GB2312: shown as ?, the rest survives
    long = LedPresenter(LED, LedTexts(call="{number} 请到{window}号窗口办理业务谢谢"), "5")
    view = long.render(state(number="A023"), 0.0)
    assert long.scroll(view)
    assert len(view.encoded()[0]) > 16


# ----------------------------------------------------------------- keypad --

NUMBERS = {"1": "W01", "5": "W05", "12": "W12"}


def test_keys_become_window_requests():
    assert request_for_key("next", "", state(), NUMBERS) == ("next", {})
    assert request_for_key("login", "1001", state("closed"), NUMBERS) == ("login", {"staff": "1001"})
    assert request_for_key("transfer", "012", state(), NUMBERS) == ("transfer", {"window": "W12"})
    assert request_for_key("pause", "", state("open"), NUMBERS) == ("pause", {})
    assert request_for_key("pause", "", state("paused"), NUMBERS) == ("resume", {})
    with pytest.raises(KeyRefused):
        request_for_key("transfer", "99", state(), NUMBERS)
    with pytest.raises(KeyRefused):
        request_for_key("login", "", state(), NUMBERS)


def test_keypad_view():
    assert keypad_view(state(number="A023"), 4) == KeypadView("open", 4, "A023")
    assert keypad_view(None) == KeypadView("closed", 0, "----")


def test_digit_entry_forgets_on_escape():
    d = DigitEntry({"KEY_KPENTER": "login"})
    for k in ("KEY_KP1", "KEY_KP2", "KEY_ESC", "KEY_KP7"):
        assert d.feed(k) is None
    assert d.feed("KEY_KPENTER") == ("login", "7")


# -------------------------------------------------------------- evaluator --

def test_one_rating_per_visit_and_never_a_made_up_one():
    s = EvaluatorSession(grace_s=5)
    assert s.key(5) is None  # no prompt: nothing
    s.prompt("T1", "A023", 30, now=0.0)
    assert s.view == PromptView("T1", "A023", 30)
    assert s.key(5) == {"ticket": "T1", "level": 5, "timeout": False}
    assert s.key(4) is None and s.view == IDLE
    s.prompt("T2", "A024", 30, now=100.0)
    assert s.tick(134.0) is None
    assert s.tick(135.0) == {"ticket": "T2", "level": None, "timeout": True}
    s.prompt("T3", "A025", 30, now=200.0)
    closed = s.prompt("T4", "A026", 30, now=210.0)  # next visit finished before T3 was rated
    assert closed == [{"ticket": "T3", "level": None, "timeout": True}]
    assert s.key(None) == {"ticket": "T4", "level": None, "timeout": True}


def test_devices_config_default_is_empty():
    assert DevicesConfig().serial == [] and DevicesConfig().lines == []


# ------------------------------------------------------------ bridge shell --

def test_generated_demo_devices_fill_lines_of_247_addresses():
    from firmware_bridge.demo_rig import generated_devices
    from tests.conftest import small_raw
    raw = small_raw()
    raw["windows"] = [{"id": f"W{i}", "number": str(i), "zone": "Z1", "serves": {"M1": 1, "M2": 1, "M3": 1}}
                      for i in range(1, 101)] + [{"id": "WG", "number": "G", "zone": "Z2",
                                                   "serves": {"M4": 1, "M5": 1, "M6": 1}}]
    cfg = parse_config(raw)
    dc = generated_devices(cfg)
    assert [ln.id for ln in dc.lines] == ["demo1", "demo2"]
    assert max(d.address for d in dc.serial) <= 247
    assert len(dc.serial) == 3 * 101
    assert {d.kind for d in dc.serial if d.window == "W100"} == {"ledbar", "keypad", "evaluator"}


def test_stale_keys_are_dropped_not_replayed(small_config):
    from firmware_bridge.driver import KeyEvent
    from hall.clock import ManualClock

    calls = []

    class Req:
        def request(self, op, body, **kw):
            calls.append((op, body))

    clock = ManualClock(1000.0)
    br = Bridge(small_config, BusSettings(), inputs=False, clock=clock)
    br._requesters = {"W1": Req()}
    pressed = clock.monotonic()
    br._send((pressed, KeyEvent("kp", "W1", "next")))
    clock.advance(30)  # the engine was unreachable for half a minute
    br._send((pressed, KeyEvent("kp", "W1", "next")))
    br._send(("W1", "rate", {"ticket": "T1", "level": 5, "timeout": False}))  # ratings are kept
    assert calls == [("next", {}), ("rate", {"ticket": "T1", "level": 5, "timeout": False})]
