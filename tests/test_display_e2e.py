"""A test hall through mosquitto: the engine calls, the display shows, the announcer speaks.

The display here is the real app object (``display.app.make_app``) built
headless and driven frame by frame; the announcer renders real espeak-ng
speech to WAV files (no sound card).
"""

from __future__ import annotations

from tests import display_kit as kit  # noqa: I001  (sets up headless Kivy first)

import time

import pytest

from hall import messages as m
from hall.broker import start_local_broker
from hall.bus import Requester
from hall.config import HallConfig, parse_config
from hall.topics import REGISTRY

from display.announcer_service import AnnouncerService
from display.app import make_app
from display.feed import DisplayFeed
from display.synth import EspeakSynth, NullPlayer
from display.theme import BG
from tests.needs import needs

pytestmark = [pytest.mark.broker, pytest.mark.ui]


def with_screens(cfg: HallConfig, **screens) -> HallConfig:
    raw = cfg.to_json_dict()
    raw["screens"] = {
        "flash_seconds": 3,
        "displays": [{"id": "D1", "zones": ["Z1"], "layout": "landscape", "languages": ["zh-CN", "en"]}],
        "voice": {"synth": "espeak-ng", "player": "none", "max_age_seconds": 30,
                  "zones": {"Z2": {"volume": 0.9, "languages": ["zh-CN"]}}},
        **screens,
    }
    return parse_config(raw)


def pump_until(pred, timeout=8.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        kit.pump(1)
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def display_app(broker):
    """Factory: (config, settings) → the built app's WallScreen and its feed."""
    win = kit.window()
    made = []

    def make(cfg, settings=None, screen_id="D1"):
        feed = DisplayFeed(cfg, cfg.screens.screen(screen_id), settings or broker.settings,
                           client_id=f"disp-{cfg.hall.id}-{len(made)}")
        app = make_app(feed)
        old = tuple(win.size)
        win.size = (1920, 1080)
        wall = app.build()
        win.size = old
        wall.size_hint = (None, None)
        wall.size = (1920, 1080)
        win.add_widget(wall)
        made.append((app, wall))
        return app, wall, feed

    yield make
    for app, wall in made:
        win.remove_widget(wall)
        app.on_stop()


@needs("espeak-ng")
def test_calls_reach_the_screen_and_the_announcer_in_order(running_engine, small_config, bus_client,
                                                           display_app, broker, tmp_path):
    cfg = with_screens(small_config)
    eng = running_engine(config=cfg)
    client = bus_client(eng.hall_id, "e2e")
    ann = AnnouncerService(cfg, broker.settings, tmp_path / "wav", synth=EspeakSynth(),
                           player=NullPlayer(), client_id=f"ann-{eng.hall_id}")
    spoken = []
    ann.announcer.listeners.append(spoken.append)
    ann.start()
    app, wall, feed = display_app(cfg)
    try:
        kiosk = Requester(client, "kiosk", "K1")
        w1, w5 = Requester(client, "window", "W1"), Requester(client, "window", "W5")
        for matter in ("M1", "M1", "M1", "M4", "M4"):
            kiosk.call("issue", {"matter": matter})
        w1.call("login", {"staff": "S1"})
        w5.call("login", {"staff": "S5"})

        w1.call("next", {})
        pump_until(lambda: wall.texts_shown()["hero_number"] == "请 A001 号", what="A001 on screen")
        shown = wall.texts_shown()
        assert "1" in shown["hero_window"] and shown["hero_sub"] == "No. A001 → Window 1"
        assert shown["offline"] == ""
        pump_until(lambda: feed.board.view(time.time()).flashing, what="A001 flashing")
        pump_until(lambda: ("A 企业开办", "2") in wall.texts_shown()["waiting"], what="waiting counts")

        w1.call("next", {})
        pump_until(lambda: wall.texts_shown()["hero_number"] == "请 A002 号", what="A002 on screen")
        # the newest call is drawn first (after A001's flash had its flash_min_seconds),
        # the earlier ones shift down a frame later
        pump_until(lambda: wall.texts_shown()["current"][:1] == ["A001  1号窗口"], what="A001 listed")
        kit.screenshot(wall, "e2e-landscape-a002", background=BG)

        w5.call("next", {})    # G001, zone Z2: spoken, not on this Z1 screen
        w5.call("recall", {})  # G001 again
        w5.call("next", {})    # G002
        deadline = time.monotonic() + 15
        while len(spoken) < 3 and time.monotonic() < deadline:
            kit.pump(1)
            time.sleep(0.02)
        assert [(o.status, o.job.event.number, o.job.event.recall) for o in spoken] == [
            ("spoken", "G001", 0), ("spoken", "G001", 1), ("spoken", "G002", 0)]
        wavs = sorted(p.name for p in (tmp_path / "wav").glob("*.wav"))
        assert wavs == ["000001-Z2-G001.wav", "000002-Z2-G001-r1.wav", "000003-Z2-G002.wav"]
        from display.audio import wav_seconds
        assert all(2.0 < wav_seconds(str(tmp_path / "wav" / n)) < 10 for n in wavs)
        assert "G00" not in wall.texts_shown()["hero_number"]  # zone filter

        # the engine goes away: an unobtrusive mark, the calls stay
        client.publish(REGISTRY["engine.availability"], "caller", m.Availability(state="offline"))
        pump_until(lambda: wall.texts_shown()["offline"].endswith("叫号系统离线"), what="engine offline mark")
        assert wall.texts_shown()["hero_number"] == "请 A002 号"
        client.publish(REGISTRY["engine.availability"], "caller", m.Availability(state="online"))
        pump_until(lambda: wall.texts_shown()["offline"] == "", what="mark cleared")
    finally:
        ann.stop()


def test_display_rebuilds_from_retained_state_after_a_broker_restart(small_config, display_app, tmp_path):
    """Its own broker (the shared one is not restarted under other tests)."""
    from caller.service import CallerService
    from hall.bus import Bus
    b = start_local_broker(workdir=tmp_path / "broker")
    cfg = with_screens(small_config)
    eng = CallerService(cfg, tmp_path / "engine.sqlite", b.settings, client_id=f"eng-{cfg.hall.id}")
    client = Bus(cfg.hall.id, f"cli-{cfg.hall.id}", b.settings)
    try:
        eng.start()
        client.start()
        kiosk, w2 = Requester(client, "kiosk", "K1"), Requester(client, "window", "W2")
        kiosk.call("issue", {"matter": "M2"})
        kiosk.call("issue", {"matter": "M2"})
        w2.call("login", {"staff": "S2"})
        w2.call("next", {})
        time.sleep(0.2)  # the retained board is on the broker
        # a display that starts now sees the call from retained state, not flashing
        app, wall, feed = display_app(cfg, b.settings)
        pump_until(lambda: wall.texts_shown()["hero_number"] == "请 A001 号", what="A001 from retained")
        assert not feed.board.view(time.time()).flashing
        b.restart()  # persistence off: the broker forgets every retained message
        pump_until(lambda: wall.texts_shown()["offline"] != "", timeout=10, what="offline mark")
        kit.screenshot(wall, "e2e-broker-restart-offline", background=BG)
        pump_until(lambda: wall.texts_shown()["offline"] == "" and client.connected, timeout=20,
                   what="reconnected")
        # the engine republished its retained state; the screen is the same and nothing flashes
        pump_until(lambda: feed.board._boards.get("Z1") is not None, what="board again")
        shown = wall.texts_shown()
        assert shown["hero_number"] == "请 A001 号" and not feed.board.view(time.time()).flashing
        w2.call("next", {})
        pump_until(lambda: wall.texts_shown()["hero_number"] == "请 A002 号", what="A002 after reconnect")
        # the board may come before the event; the event makes it flash
        pump_until(lambda: feed.board.view(time.time()).flashing, what="A002 flashing")
    finally:
        client.stop()
        eng.stop()
        b.stop()
