"""Helpers for the display tests: headless Kivy, a sample hall, screenshots.

Kivy reads its environment at import, so this module sets it first; tests
import it before anything that imports Kivy.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # Kivy must not swallow stderr
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.setdefault("KIVY_WINDOW", "sdl2")

ARTIFACTS = Path(__file__).parent / "artifacts" / "screens"
DOC_SCREENS = Path(__file__).parent.parent / "docs" / "screens" / "display"

_window = None


def window():
    """The one offscreen Kivy window of the test process."""
    global _window
    if _window is None:
        from kivy.config import Config
        Config.set("graphics", "width", "960")
        Config.set("graphics", "height", "540")
        from display.app import render_settings
        render_settings()  # drawn as the app draws (no multisampling)
        Config.set("graphics", "maxfps", "0")  # tests pump frames themselves
        from kivy.base import EventLoop
        EventLoop.ensure_window()
        from display.theme import register_font
        register_font()
        _window = EventLoop.window
    return _window


def pump(frames: int = 3) -> None:
    from kivy.base import EventLoop
    from kivy.graphics.opengl import glFlush
    for _ in range(frames):
        EventLoop.idle()
        glFlush()  # SDL offscreen never flushes Mesa by itself (see display/app.py)


def screenshot(widget, name: str, publish: bool = False, background=None) -> Path:
    """Save ``widget`` as tests/artifacts/screens/NAME.png (and docs/screens/display/ when asked).

    ``background``: the colour under it while it is exported.  A screen built
    by the app (display/app.py) leaves its background to the window's clear
    colour, which an exported widget does not have: without it the image would
    be transparent there, not what the hall sees."""
    from kivy.graphics import Color, InstructionGroup, Rectangle
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pump(3)
    path = ARTIFACTS / f"{name}.png"
    under = None
    if background is not None:
        under = InstructionGroup()
        under.add(Color(*background))
        under.add(Rectangle(pos=widget.pos, size=widget.size))
        widget.canvas.before.insert(0, under)
    try:
        widget.export_to_png(str(path))
        if publish and os.environ.get("ONEWINDOW_PUBLISH_SCREENS"):
            DOC_SCREENS.mkdir(parents=True, exist_ok=True)
            widget.export_to_png(str(DOC_SCREENS / f"{name}.png"))
    finally:
        if under is not None:
            widget.canvas.before.remove(under)
    return path
