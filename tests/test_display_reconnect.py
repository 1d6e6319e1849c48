"""The wall display never misses a call: whether it connects after the call
was made or loses its link and comes back, it shows every call it missed,
from the retained state (the real engine, mosquitto, and a network link the
test cuts between the display and the broker; no Kivy: the display's feed and
view model, as the app drives them)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from hall.bus import Requester
from hall.config import HallConfig, parse_config

from display.feed import DisplayFeed
from tests.netcut import NetCut

pytestmark = pytest.mark.broker


def with_screen(cfg: HallConfig) -> HallConfig:
    raw = cfg.to_json_dict()
    raw["screens"] = {"flash_seconds": 3, "displays": [{"id": "D1", "zones": ["Z1"], "layout": "landscape"}]}
    return parse_config(raw)


def on_screen(feed: DisplayFeed) -> set[str]:
    v = feed.board.view(time.time())
    return {c.number for c in (v.hero, *v.current, *v.recent) if c is not None}


def pump(feed: DisplayFeed, pred, what: str, timeout: float = 20.0) -> None:
    """Drain the feed as the app's frames do, until ``pred()``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        feed.drain(time.time())
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; on screen: {sorted(on_screen(feed))}")


@pytest.fixture
def hall(running_engine, small_config, bus_client, broker):
    cfg = with_screen(small_config)
    eng = running_engine(config=cfg)
    client = bus_client(eng.hall_id, "staff")
    link = NetCut(broker.settings.port).start()  # a test sets link.delay_s for a slow link
    feeds: list[DisplayFeed] = []

    def display(**kw) -> DisplayFeed:
        feed = DisplayFeed(cfg, cfg.screens.screen("D1"), dataclasses.replace(broker.settings, port=link.port),
                           client_id=f"disp-{cfg.hall.id}-{len(feeds)}", **kw)
        feeds.append(feed)
        return feed

    yield eng, client, link, display
    for f in feeds:
        f.stop()
    link.stop()


def call(client, window: str, staff: str) -> str:
    w = Requester(client, "window", window)
    w.call("login", {"staff": staff})
    return w.call("next", {})["ticket"]["number"]


def test_a_display_started_after_the_first_call_shows_it(hall):
    eng, client, link, display = hall
    Requester(client, "kiosk", "K1").call("issue", {"matter": "M1"})
    first = call(client, "W1", "S1")
    feed = display()
    feed.start(timeout=10)
    pump(feed, lambda: feed.board.view(time.time()).hero is not None, "the first call")
    v = feed.board.view(time.time())
    assert v.hero.number == first and not v.flashing  # an old call is shown, never presented as new


def test_a_display_that_could_not_connect_at_start_shows_the_call_made_meanwhile(hall):
    eng, client, link, display = hall
    link.cut()  # the display's network is down when it starts
    feed = display()
    feed.start(timeout=0.5)  # gives up waiting, shows "offline", keeps trying
    assert not feed.bus.connected
    Requester(client, "kiosk", "K1").call("issue", {"matter": "M1"})
    first = call(client, "W1", "S1")
    link.restore()
    pump(feed, lambda: first in on_screen(feed), "the first call after the link came up")
    assert feed.board.view(time.time()).offline is None


def test_after_its_link_drops_the_display_shows_every_call_it_missed(hall):
    eng, client, link, display = hall
    kiosk = Requester(client, "kiosk", "K1")
    for _ in range(3):
        kiosk.call("issue", {"matter": "M1"})
    feed = display()
    feed.start(timeout=10)
    pump(feed, lambda: feed.board._boards.get("Z1") is not None, "the retained board")
    assert on_screen(feed) == set()  # nobody called yet
    link.cut()
    pump(feed, lambda: feed.board.view(time.time()).offline == "broker", "the offline mark")
    # while the display is away: the first call of the day, and another
    missed = [call(client, "W1", "S1"), call(client, "W2", "S2")]
    link.restore()
    pump(feed, lambda: set(missed) <= on_screen(feed), "both missed calls")
    v = feed.board.view(time.time())
    assert v.offline is None and v.hero.number == missed[-1] and not v.flashing
    # and it is live again: the next call flashes
    nxt = Requester(client, "window", "W1").call("next", {})["ticket"]["number"]
    pump(feed, lambda: feed.board.view(time.time()).flashing and feed.board.view(time.time()).hero.number == nxt,
         "the next call, flashing")


def test_a_display_on_a_link_slower_than_its_connect_timeout_still_connects(hall):
    """Its connection is not thrown away when the wait for it times out: on a link
    (or a CPU) so slow that a connect takes longer than any timeout the display
    waits for, giving up and starting again would never connect."""
    eng, client, link, display = hall
    Requester(client, "kiosk", "K1").call("issue", {"matter": "M1"})
    first = call(client, "W1", "S1")
    link.delay_s = 3.5  # CONNECT and CONNACK: 7 s, longer than the 5 s of each retry
    feed = display()
    feed.start(timeout=0.5)
    assert not feed.bus.connected
    pump(feed, lambda: first in on_screen(feed), "the first call over the slow link", timeout=40)
