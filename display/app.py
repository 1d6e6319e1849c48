"""The Kivy app of a wall display (``onewindow display``): full screen, no cursor.

:func:`configure_kivy` must run before anything imports ``kivy.core.window``:
Kivy reads fullscreen, rotation and cursor settings when the window opens.
"""

from __future__ import annotations

import gc
import math
import os
import tempfile
import threading
import time
from typing import Callable

from hall import sdnotify
from hall.clock import Clock as HallClock
from hall.clock import SystemClock
from hall.config.screens import Screen

from .feed import DisplayFeed

SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}


def configure_kivy(screen: Screen, windowed: bool = False) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_HOME", os.path.join(tempfile.gettempdir(), "onewindow-kivy"))
    # A call arriving from the network thread wakes the loop at once instead of
    # waiting out the frame's sleep (Kivy's "interrupt" clock).
    os.environ.setdefault("KIVY_CLOCK", "interrupt")
    from kivy.config import Config
    w, h = SIZES[screen.layout]
    if screen.rotation in (90, 270):  # the panel itself is the other way round
        w, h = h, w
    full = screen.fullscreen and not windowed
    Config.set("graphics", "fullscreen", "auto" if full else "0")
    Config.set("graphics", "borderless", "1" if full else "0")
    Config.set("graphics", "show_cursor", "0" if full else "1")
    Config.set("graphics", "rotation", str(screen.rotation))
    Config.set("graphics", "width", str(w if full else w // 2))
    Config.set("graphics", "height", str(h if full else h // 2))
    render_settings()
    Config.set("kivy", "exit_on_escape", "0")  # a keyboard left on the kiosk must not close it
    Config.set("input", "mouse", "mouse,disable_multitouch")


def render_settings() -> None:
    """How the screen is drawn (the benchmark and the tests draw it the same way)."""
    from kivy.config import Config
    Config.set("graphics", "maxfps", "30")  # a Pi does not need more for text; saves power and heat
    # No multisampling: the screen is text and axis-aligned boxes, whose edges
    # it cannot smooth (glyphs come antialiased from FreeType), and Kivy's
    # default (2, which Mesa makes 4) multiplies every pixel's cost by four —
    # on a software renderer 18 ms to clear a 1080p frame instead of 2.
    Config.set("graphics", "multisamples", "0")


def next_tick(now: float, flashing: bool, change: float | None) -> float:
    """Seconds from ``now`` to the next refresh: the next whole second (the clock,
    page turns, the progress rotation: all timed in seconds), the next half second
    while a call blinks (display/screen.py blinks at 2 Hz), or a flash's end."""
    at = math.floor(now) + 1.0
    if flashing:
        at = min(at, (math.floor(now * 2) + 1) / 2)
    if change is not None and change > now:
        at = min(at, change)
    return at - now + 0.002  # just past the boundary, not just before it


class Alarm:
    """Calls ``fire`` (from its own thread) once, ``delay`` seconds after the last ``set``."""

    def __init__(self, fire: Callable[[], None]):
        self._fire = fire
        self._cv = threading.Condition()
        self._at: float | None = None
        self._stopped = False
        threading.Thread(target=self._run, name="display-alarm", daemon=True).start()

    def set(self, delay: float) -> None:
        with self._cv:
            self._at = time.monotonic() + delay
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (self._at is None or self._at > time.monotonic()):
                    self._cv.wait(None if self._at is None else self._at - time.monotonic())
                if self._stopped:
                    return
                self._at = None
            self._fire()


def make_app(feed: DisplayFeed, clock: HallClock | None = None):
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window

    from .redraw import PartialRedraw
    from .screen import WallScreen
    from .theme import BG, register_font

    class DisplayApp(App):
        def build(self):
            register_font()
            self.title = f"onewindow display {feed.screen.id}"
            self.clock = clock or SystemClock()
            if feed.screen.fullscreen:
                Window.show_cursor = False
            # lay out for the screen's shape; ``u`` scales with the real window
            Window.clearcolor = BG
            self.wall = WallScreen(feed.config, feed.screen, tuple(int(v) for v in Window.size),
                                   paint_background=False)
            self.wall.size_hint = (1, 1)
            feed.wake = Clock.create_trigger(self.refresh)
            feed.config_listeners.append(self.wall.apply_config)
            # the progress board pages by what the screen can show at the reading rule's size
            feed.board.progress_capacity = self.wall.progress_capacity
            feed.config_listeners.append(
                lambda *_: setattr(feed.board, "progress_capacity", self.wall.progress_capacity))
            if os.environ.get("SDL_VIDEODRIVER") == "offscreen":
                # SDL's offscreen swap does not flush Mesa: unflushed frames pile up
                # (memory grows every frame) and the next texture upload stalls on
                # all of them.  A real display's swap flushes by itself.  (glFinish
                # would also wait for the software rasteriser: ~40 ms a call here.)
                from kivy.graphics.opengl import glFlush
                Window.bind(on_flip=lambda *_: glFlush())
            # where the frame buffer keeps its pixels (a software renderer), a
            # frame draws only what changed (display/redraw.py)
            self.redraw = PartialRedraw(Window, time.monotonic)
            self.redraw.install()
            self._more = Clock.create_trigger(self.refresh)
            # Woken by the next change that comes with time alone (a blink, the
            # clock, a page), from a thread of its own rather than a Kivy timer:
            # Kivy's clock spins for the last ~20 ms before each of its timers, so
            # ten timers a second kept the UI thread busy on an idle screen.
            self._alarm = Alarm(self._more)
            self._last_refresh = None
            # Kivy purges its caches by a once-a-second timer of its own: the
            # display's tick runs it instead (one wake a second, not two)
            from kivy.cache import Cache
            Clock.unschedule(Cache._purge_by_timeout)
            self._purge = Cache._purge_by_timeout
            self._purged_at = self.clock.now()
            if feed.screen.notice_scroll:  # a marquee moves 30 times a second
                Clock.schedule_interval(self.wall.ticker.scroll, 1 / 30)
            feed.start(timeout=2.0)
            self.refresh()
            # The widget tree, fonts and config live as long as the process: keep
            # them out of every future full collection (a pause in the middle of
            # drawing a call otherwise walks all of Kivy's objects).
            gc.collect()
            gc.freeze()
            sdnotify.NOTIFIER.ready()
            sdnotify.watch("display-ui")
            return self.wall

        def refresh(self, *_):
            sdnotify.beat("display-ui")  # the UI thread itself: a frozen screen gets restarted
            now = self.clock.now()
            feed.drain(now)
            if now - self._purged_at >= 1:
                self._purge(now - self._purged_at)
                self._purged_at = now
            if not feed.screen.notice_scroll and self._last_refresh is not None:
                self.wall.ticker.scroll(now - self._last_refresh)  # paged: turns every PAGE_S
            self._last_refresh = now
            view = feed.board.view(now)
            if self.wall.show(view, now, hero_first=True):
                self._more()  # the rest of the change on the next frame
            self._alarm.set(next_tick(now, view.flashing, feed.board.next_change(now)))

        def on_stop(self):
            self._alarm.stop()
            self.redraw.remove()
            feed.stop()

    return DisplayApp()
