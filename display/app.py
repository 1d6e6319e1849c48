"""The Kivy app of a wall display (``onewindow display``): full screen, no cursor.

:func:`configure_kivy` must run before anything imports ``kivy.core.window``:
Kivy reads fullscreen, rotation and cursor settings when the window opens.
"""

from __future__ import annotations

import gc
import os
import tempfile

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
    Config.set("graphics", "maxfps", "30")  # a Pi does not need more for text; saves power and heat
    Config.set("kivy", "exit_on_escape", "0")  # a keyboard left on the kiosk must not close it
    Config.set("input", "mouse", "mouse,disable_multitouch")


def make_app(feed: DisplayFeed, clock: HallClock | None = None):
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window

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
            self._more = Clock.create_trigger(self.refresh)
            Clock.schedule_interval(self.refresh, 0.1)  # blink, clock, idle page rotation
            # a marquee moves 30 times a second; paged notices only need a timer
            Clock.schedule_interval(self.wall.ticker.scroll, 1 / 30 if feed.screen.notice_scroll else 0.5)
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
            if self.wall.show(feed.board.view(now), now, hero_first=True):
                self._more()  # the rest of the change on the next frame

        def on_stop(self):
            feed.stop()

    return DisplayApp()
