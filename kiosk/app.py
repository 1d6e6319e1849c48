"""The Kivy application and a headless harness that drives the same widgets.

``KioskApp`` is what runs on the kiosk; ``Harness`` is used by tests and the
bench: same service, same ``KioskView``, but the Kivy event loop is stepped by
hand so a test can press a button, wait for a reply and save a screenshot.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from hall import sdnotify
from hall.config.kiosk import ScreenConfig

from . import view as views
from .service import KioskService


def configure_kivy(screen: ScreenConfig, *, fullscreen: bool = False, size: tuple[int, int] | None = None) -> None:
    """Must run before the first Kivy window import."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from kivy.config import Config
    w, h = size or (screen.width, screen.height)
    Config.set("graphics", "width", str(w))
    Config.set("graphics", "height", str(h))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    # touch only: no on-screen keyboard from Kivy, no right-click red dots
    Config.set("kivy", "keyboard_mode", "")
    # a keyboard plugged in for service must not close the kiosk with Esc
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")


def tune_gc() -> None:
    """Take garbage collection off the touch path.

    Every screen rebuild leaves a few thousand Kivy objects in reference
    cycles (widgets ⇄ bound callbacks).  With automatic collection a full
    pass sometimes landed between a touch and the number on screen (measured
    on the bench machine: p99 0.7–2 s).  Instead, start-up objects are frozen
    out of the collector, automatic collection is off, and
    :meth:`Renderer.collect_if_due` collects after a screen has been drawn,
    never while a request is out (the busy screen): each pass then only walks
    the garbage of one screen.
    """
    import gc
    gc.collect()
    gc.freeze()
    gc.disable()


class Renderer:
    """Redraws the view whenever the flow reports a change."""

    def __init__(self, svc: KioskService, on_action: Callable[[str], None] | None = None):
        from .ui import KioskView
        self.svc = svc
        self.view = KioskView(svc.cfg.kiosks.screen, on_action or self._act)
        self._seen: tuple[int, int] | None = None
        self.shown_at: float | None = None
        self._garbage = False

    def collect_if_due(self) -> None:
        """Collect the garbage of replaced screens once they are off the glass."""
        import gc
        if self._garbage and self.svc.flow.screen.value != "busy":
            gc.collect()
            self._garbage = False

    def _act(self, action: str) -> None:
        self.svc.press(action)
        self.refresh()

    def refresh(self, force: bool = False) -> bool:
        flow = self.svc.flow
        key = (id(flow), flow.changes)
        if key == self._seen and not force:
            return False
        self._seen = key
        self.view.show(views.build(flow, self.svc.clock.now()))
        self.shown_at = time.perf_counter()
        self._garbage = True
        return True


class Harness:
    """Steps Kivy by hand (``SDL_VIDEODRIVER=offscreen``) around a KioskService."""

    def __init__(self, svc: KioskService):
        from kivy.base import EventLoop
        EventLoop.ensure_window()
        self.window = EventLoop.window
        scr = svc.cfg.kiosks.screen
        self.window.size = (scr.width, scr.height)
        self.svc = svc
        self.renderer = Renderer(svc)
        for child in list(self.window.children):
            self.window.remove_widget(child)
        self.window.add_widget(self.renderer.view.root)
        self.step()
        tune_gc()

    @property
    def view(self):
        return self.renderer.view

    def step(self, frames: int = 2) -> None:
        from kivy.base import EventLoop
        self.svc.pump()
        self.svc.tick()
        self.renderer.refresh()
        for _ in range(frames):
            EventLoop.idle()
        self.renderer.collect_if_due()

    def press(self, action: str) -> None:
        """Touch the button bound to ``action`` (it must be on screen)."""
        btn = self.view.buttons.get(action)
        if btn is None:
            raise KeyError(f"no button {action!r} on screen {self.svc.flow.screen}: "
                           f"{sorted(self.view.buttons)}")
        btn.dispatch("on_release")
        self.step()

    def until(self, pred: Callable[[], bool], timeout: float = 15.0) -> bool:
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                return False
            self.svc.pump(0.005)
            self.step(1)
        self.step()
        return True

    def screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.step(3)
        self.view.root.export_to_png(str(path))
        return path

    def detach(self) -> None:
        """Take the view off the window and give the process its normal GC back."""
        import gc
        self.window.remove_widget(self.view.root)
        gc.enable()
        gc.unfreeze()


def run_app(svc: KioskService, *, ready_exit: bool = False, t0: float | None = None) -> None:
    from kivy.app import App
    from kivy.clock import Clock

    class KioskApp(App):
        title = "onewindow kiosk"

        def build(self):
            self.renderer = Renderer(svc)
            svc._post = lambda fn: Clock.schedule_once(lambda dt: (fn(), self.renderer.refresh()), 0)
            Clock.schedule_interval(self._tick, 0.25)
            self.renderer.refresh(force=True)
            tune_gc()
            if ready_exit:
                Clock.schedule_once(self._ready, 0)
            sdnotify.NOTIFIER.ready()
            sdnotify.watch("kiosk-ui")
            return self.renderer.view.root

        def _tick(self, dt):
            sdnotify.beat("kiosk-ui")  # the UI thread itself: a frozen screen gets restarted
            svc.tick()
            self.renderer.refresh()
            self.renderer.collect_if_due()

        def _ready(self, dt):
            # first frame with the home screen has been drawn
            took = time.perf_counter() - (t0 or 0)
            print(f"kiosk: home screen shown after {took:.3f} s", flush=True)
            self.stop()

    KioskApp().run()
