"""Partial redraws: a frame draws again only the parts of the screen that changed.

Kivy draws the whole window on every frame that has any change.  Where the
pixels are drawn by the CPU (Mesa's llvmpipe, the renderer of the tests, the
benchmark and any screen without a GPU driver) a 1080p frame costs ~90 ms of
CPU — ~10 ms only to clear the colour, depth and stencil buffers — and a new
call used to take five of them (the call, the rows under it, the blink).  A
call changes a few boxes: the big number, a row or two, a count.

Each frame, :class:`Damage` compares what every widget of the tree shows
(text, font size, colours, texture size, position) with the last frame drawn
and gives the boxes that changed; the frame then clears and draws the whole
canvas once per box with the GL scissor set to it, so the rasteriser touches
only those pixels.  The result is the same picture, pixel for pixel
(tests/test_display_redraw.py compares it with a full redraw after every
step of a day's changes).

This needs a frame buffer that keeps its pixels from one frame to the next.
A single-buffered surface does (SDL's offscreen pbuffer, Mesa's X11 software
path); a double-buffered one on a GPU (a Pi's KMSDRM) hands back an older
buffer, and there every frame is drawn whole, as before — a GPU draws a
frame in well under a millisecond of CPU.  :func:`buffer_keeps_pixels`
checks it once at start by drawing two colours and reading one back.

While it draws, the panels of the screen paint their colour by scissored
clears instead of quads (:meth:`PartialRedraw.paint`): a software renderer
fills a box by a clear far faster than by a blended quad of one colour.

A widget of a kind :func:`look` does not know is compared by its box only:
the display's screens are built from :class:`~display.widgets.Txt`,
:class:`~display.widgets.Panel`, Kivy labels and plain layouts.  As a
safety net, a whole frame is drawn every ``FULL_EVERY_S`` seconds.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

FULL_EVERY_S = 600.0  # a whole frame now and then: what a missed change would leave lasts at most this
MARGIN_PX = 0         # around every changed box (boxes are whole pixels covering what is drawn)
MAX_BOXES = 6         # more separate boxes than this: one box around them all
FULL_SHARE = 0.6      # boxes covering more of the screen than this: draw it whole

Rect = tuple[int, int, int, int]  # x, y, w, h in frame-buffer pixels, (0, 0) lower left


def _union(a: Rect, b: Rect) -> Rect:
    x, y = min(a[0], b[0]), min(a[1], b[1])
    return (x, y, max(a[0] + a[2], b[0] + b[2]) - x, max(a[1] + a[3], b[1] + b[3]) - y)


def _near(a: Rect, b: Rect, gap: int) -> bool:
    return (a[0] - gap < b[0] + b[2] and b[0] - gap < a[0] + a[2]
            and a[1] - gap < b[1] + b[3] and b[1] - gap < a[1] + a[3])


def merge(rects: Iterable[Rect], gap: int = 16) -> list[Rect]:
    """Overlapping or nearly touching boxes joined, until none are."""
    out: list[Rect] = []
    for r in rects:
        if r[2] <= 0 or r[3] <= 0:
            continue
        while True:
            hit = next((i for i, o in enumerate(out) if _near(o, r, gap)), None)
            if hit is None:
                break
            r = _union(out.pop(hit), r)
        out.append(r)
    return out


class Damage:
    """What changed between two frames, as boxes (pure: no Kivy, no GL).

    ``update(items)`` takes (key, look, box) for every widget drawn this frame
    and returns the boxes to draw again: the old and the new box of every
    widget whose look or box changed, appeared or went away; ``None`` when the
    whole screen is to be drawn."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self._last: dict[Any, tuple[Any, Rect]] | None = None  # None: nothing drawn yet

    def reset(self) -> None:
        """The next frame is drawn whole (a new screen, a resize, the safety net)."""
        self._last = None

    def update(self, items: Iterable[tuple[Any, Any, Rect]]) -> list[Rect] | None:
        now = {key: (look, box) for key, look, box in items}
        last, self._last = self._last, now
        if last is None:
            return None
        dirty: list[Rect] = []
        for key, (look, box) in now.items():
            old = last.get(key)
            if old is None:
                dirty.append(box)
            elif old != (look, box):
                dirty.extend((old[1], box) if old[1] != box else (box,))
        dirty.extend(box for key, (_, box) in last.items() if key not in now)
        return self.clip(dirty)

    def clip(self, dirty: list[Rect]) -> list[Rect] | None:
        W, H = self.size
        boxes = []
        for x, y, w, h in dirty:
            if w <= 0 or h <= 0:
                continue
            x0, y0 = max(0, x - MARGIN_PX), max(0, y - MARGIN_PX)
            x1, y1 = min(W, x + w + MARGIN_PX), min(H, y + h + MARGIN_PX)
            if x1 > x0 and y1 > y0:
                boxes.append((x0, y0, x1 - x0, y1 - y0))
        boxes = merge(boxes)
        if len(boxes) > MAX_BOXES:
            boxes = merge(boxes, gap=max(W, H))
        if sum(w * h for _, _, w, h in boxes) > FULL_SHARE * W * H:
            return None
        return boxes


def pixel_box(x: float, y: float, w: float, h: float) -> Rect:
    """Whole pixels covering a box of widget coordinates."""
    x0, y0 = math.floor(x), math.floor(y)
    return (x0, y0, math.ceil(x + w) - x0, math.ceil(y + h) - y0)


def inner_box(x: float, y: float, w: float, h: float) -> Rect:
    """Whole pixels inside a box of widget coordinates (a rectangle fills them all)."""
    x0, y0 = math.ceil(x), math.ceil(y)
    return (x0, y0, math.floor(x + w) - x0, math.floor(y + h) - y0)


def gl_box(x: float, y: float, w: float, h: float) -> Rect:
    """The pixels GL fills for a rectangle of window coordinates: those whose
    centre lies inside it (left and bottom edges in, right and top out)."""
    x0, y0 = math.ceil(x - 0.5), math.ceil(y - 0.5)
    return (x0, y0, math.ceil(x + w - 0.5) - x0, math.ceil(y + h - 0.5) - y0)


def intersect(a: Rect, b: Rect) -> Rect | None:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def minus(a: Rect, b: Rect) -> list[Rect]:
    """The parts of ``a`` outside ``b``: at most four strips (bottom, top, left, right)."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    ix0, iy0, ix1, iy1 = max(a[0], b[0]), max(a[1], b[1]), min(ax1, bx1), min(ay1, by1)
    if ix0 >= ix1 or iy0 >= iy1:
        return [a]
    out = [(a[0], a[1], a[2], iy0 - a[1]), (a[0], iy1, a[2], ay1 - iy1),
           (a[0], iy0, ix0 - a[0], iy1 - iy0), (ix1, iy0, ax1 - ix1, iy1 - iy0)]
    return [r for r in out if r[2] > 0 and r[3] > 0]


def overlap(a: Rect, b: Rect) -> int:
    both = intersect(a, b)
    return both[2] * both[3] if both is not None else 0


def look(widget) -> tuple[Any, Rect]:
    """What ``widget`` draws (enough to tell a change) and the box it draws in."""
    from kivy.uix.label import Label

    from .widgets import Panel, Txt
    box = (widget.x, widget.y, widget.width, widget.height)
    if isinstance(widget, Txt):
        tw, th = widget.texture_size
        if widget.halign == "left":
            tx = int(widget.x + widget.pad)
        elif widget.halign == "right":
            tx = int(widget.right - widget.pad - tw)
        else:
            tx = int(widget.center_x - tw / 2.)
        ty = int(widget.center_y - th / 2.)
        # a Txt draws its texture and nothing else (display/widgets.py): the box is the texture's
        drawn = pixel_box(tx, ty, tw, th) if tw and th else (tx, ty, 0, 0)
        return ((widget.text, widget.font_size, widget.markup, tuple(widget.tint), id(widget.texture), tw, th,
                 widget.opacity), drawn)
    if isinstance(widget, Label):
        tw, th = widget.texture_size
        drawn = _union(pixel_box(*box), pixel_box(widget.center_x - tw / 2., widget.center_y - th / 2., tw, th))
        return ((widget.text, widget.font_size, tuple(widget.color), id(widget.texture), tw, th, box,
                 widget.opacity), drawn)
    if isinstance(widget, Panel):
        return ((tuple(widget._color.rgba), box, widget.opacity), pixel_box(*box))
    return ((box, widget.opacity), pixel_box(*box))


def buffer_keeps_pixels(window) -> bool:
    """Draw one colour, show it, draw another, show it, read one pixel back: the
    second colour is still there only when the frame buffer keeps its pixels
    (a double-buffered screen gives back the first buffer, a triple-buffered
    one a third)."""
    from kivy.graphics import opengl as gl
    first, second = (0.04, 0.12, 0.24, 1), (0.24, 0.04, 0.12, 1)  # near the background: no visible flash
    for colour in (first, second):
        gl.glClearColor(*colour)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        window.flip()
    px = bytes(gl.glReadPixels(0, 0, 1, 1, gl.GL_RGBA, gl.GL_UNSIGNED_BYTE))
    return all(abs(p - round(c * 255)) <= 1 for p, c in zip(px[:3], second[:3]))


class PartialRedraw:
    """Draws the window's changed boxes only, where its frame buffer keeps pixels.

    ``install()`` takes over the window's ``on_draw``; ``remove()`` gives it back."""

    def __init__(self, window, clock: Callable[[], float], full_every: float = FULL_EVERY_S):
        self.window = window
        self.clock = clock
        self.full_every = full_every
        self.damage = Damage(self._fb_size())
        self.enabled = False
        self._full_at = 0.0
        self.frames = {"full": 0, "partial": 0, "none": 0}  # frames drawn by kind (benchmark, tests)
        self.boxes: list[Rect] | None = None  # the boxes of the last frame (None: whole)
        self._opaque: list[Rect] = []  # whole pixels covered by an opaque panel, this frame
        self.drawing = False  # inside this frame's drawing: panels are painted by clears
        self.scissor: Rect | None = None  # the box being drawn now (None: the whole window)
        self.cleared = 0  # panels painted by clears (benchmark, tests)

    def _fb_size(self) -> tuple[int, int]:
        return tuple(int(v) for v in self.window.size)

    def install(self) -> bool:
        """True when partial redraws are on (the frame buffer keeps its pixels)."""
        w = self.window
        # the rotated or scaled frame buffer is not mapped here: drawn whole
        self.enabled = (w.rotation == 0 and tuple(w.size) == tuple(w.system_size) and buffer_keeps_pixels(w))
        w.bind(on_draw=self._draw, size=self._resized)
        return self.enabled

    def remove(self) -> None:
        self.window.unbind(on_draw=self._draw, size=self._resized)
        from .widgets import Panel
        for root in self.window.children:
            for wid in root.walk(restrict=True):
                if isinstance(wid, Panel) and wid.painter is self:
                    wid.painter = None

    def _resized(self, *_):
        self.damage = Damage(self._fb_size())

    def _items(self):
        from .widgets import Panel
        self._opaque = []
        for root in self.window.children:
            for wid in root.walk(restrict=True):
                lk, box = look(wid)
                if isinstance(wid, Panel):
                    wid.painter = self
                    if wid.opaque:
                        self._opaque.append(inner_box(wid.x, wid.y, wid.width, wid.height))
                yield wid, lk, box

    def _draw(self, window) -> bool:
        now = self.clock()
        if not self.enabled:
            return False  # Kivy's own on_draw: the whole window
        if now - self._full_at >= self.full_every:
            self.damage.reset()
        boxes = self.damage.update(self._items())
        self.boxes = boxes
        if boxes == []:
            self.frames["none"] += 1
            return True
        self.drawing = True  # panels paint by clears from here (paint)
        try:
            if boxes is None:
                self._full_at = now
                self.frames["full"] += 1
                window.clear()
                window.render_context.draw()
            else:
                self.frames["partial"] += 1
                self._draw_boxes(window, boxes)
        finally:
            self.drawing, self.scissor = False, None
        return True

    def _draw_boxes(self, window, boxes: list[Rect]) -> None:
        from kivy.graphics import opengl as gl
        gl.glEnable(gl.GL_SCISSOR_TEST)
        try:
            for box in boxes:
                # under an opaque panel (the big call's, blinking) the panel paints
                # every pixel again: only the rest of the box is cleared first
                cover = max(self._opaque, key=lambda p: overlap(box, p), default=None)
                for part in (minus(box, cover) if cover is not None else [box]):
                    gl.glScissor(*part)
                    window.clear()
                gl.glScissor(*box)
                self.scissor = box
                window.render_context.draw()
        finally:
            gl.glDisable(gl.GL_SCISSOR_TEST)

    def paint(self, panel) -> bool:
        """Paint ``panel``'s background by scissored clears, from inside its
        canvas as this frame draws it; False: it draws its rectangles itself.

        A clear fills whole pixels of the frame buffer and ignores the GL
        transform: window coordinates are frame-buffer pixels here (``install``
        turns partial redraws on only then), and outside this frame's drawing
        (a widget exported to an image) the rectangles are drawn.  The pixels
        are those GL fills for the rectangles (:func:`gl_box`)."""
        if not self.drawing or not panel.clearable:
            return False
        from kivy.graphics import opengl as gl
        clip = self.scissor or (0, 0, *self.damage.size)
        if self.scissor is None:
            gl.glEnable(gl.GL_SCISSOR_TEST)
        gl.glClearColor(*panel._color.rgba)
        for box in panel.boxes():
            part = intersect(gl_box(*box), clip)
            if part is not None:
                gl.glScissor(*part)
                gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        gl.glScissor(0, 0, 0, 0)  # the panel's rectangles, drawn next, fill no pixel
        self.cleared += 1
        return True

    def resume(self) -> None:
        """After a panel painted by :meth:`paint`: the scissor of the box being drawn again."""
        from kivy.graphics import opengl as gl
        if self.scissor is None:
            gl.glDisable(gl.GL_SCISSOR_TEST)
        else:
            gl.glScissor(*self.scissor)
