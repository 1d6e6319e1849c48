"""The widget kit of the wall screens: one-line text that fits itself
(:class:`Txt`), solid panels, text splitting and the notice ticker.

Nothing here knows about calls or the hall: :mod:`display.screen` lays these
out.  Widgets are built once and only their text and colours change, so a day
of calls creates no widgets (memory stays flat, see bench/display.py).
"""

from __future__ import annotations

import re
from collections import OrderedDict

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Callback, Color, InstructionGroup, Rectangle
from kivy.lang import Builder
from kivy.properties import ColorProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.relativelayout import RelativeLayout
from kivy.uix.scatter import Scatter
from kivy.uix.stencilview import StencilView

from .redraw import minus
from .theme import BG, FONT_NAME, WHITE


class Panel(BoxLayout):
    """A BoxLayout with a solid background whose colour can change (flash).

    Its background is drawn as rectangles, or, while display/redraw.py's
    :class:`~display.redraw.PartialRedraw` draws the window itself, as
    scissored clears (``painter``): on a software renderer a clear fills a box
    in about 0.4 of the time of a blended quad of one colour, and a call's
    frame and every blink are mostly panels."""

    painter = None  # the PartialRedraw drawing this panel's window, when it does (set by it)

    def __init__(self, bg=BG, **kw):
        super().__init__(**kw)
        self._cleared = False  # this draw: painted by clears, the rectangles cut away
        with self.canvas.before:
            self._color = Color(*bg)
            Callback(self._begin)
            self._group = InstructionGroup()
            Callback(self._end)
        self._rects = [Rectangle(pos=self.pos, size=self.size)]
        self._group.add(self._rects[0])
        self.hole = None
        self.bind(pos=self._sync, size=self._sync)

    def cut(self, hole: "Panel") -> None:
        """Paint around ``hole``, an opaque panel drawn over this one, instead of
        under it.  Where frames are drawn by the CPU (display/redraw.py) every
        pixel of every layer costs: the big call's panel under its blinking box
        was a second ~0.6 Mpx layer in every blink and every call's frame."""
        self.hole = hole
        for _ in range(3):  # at most four strips around it
            self._rects.append(Rectangle())
            self._group.add(self._rects[-1])
        hole.bind(pos=self._sync, size=self._sync)
        self._sync()

    def _sync(self, *_):
        for rect, (x, y, w, h) in zip(self._rects, self.boxes() + [(0, 0, 0, 0)] * 4):
            rect.pos, rect.size = (x, y), (w, h)

    def boxes(self) -> list[tuple[float, float, float, float]]:
        """What the panel paints, in window coordinates: its box, or the strips around its hole."""
        box = (self.x, self.y, self.width, self.height)
        if self.hole is None:
            return [box]
        return minus(box, (self.hole.x, self.hole.y, self.hole.width, self.hole.height))

    def _begin(self, _instr) -> None:
        self._cleared = self.painter is not None and self.painter.paint(self)

    def _end(self, _instr) -> None:
        if self._cleared:
            self.painter.resume()

    @property
    def clearable(self) -> bool:
        """Its colour can be painted by a clear: solid, seen through no
        opacity, in no stencil clip (a clear ignores the stencil) and in no
        coordinates of their own (a clear ignores the transform)."""
        if self._color.a != 1:
            return False
        wid = self
        while True:
            if isinstance(wid, (StencilView, RelativeLayout, Scatter)) or getattr(wid, "opacity", 1) != 1:
                return False
            parent = getattr(wid, "parent", None)
            if parent is None or parent is wid:  # the window is its own parent
                return True
            wid = parent

    @property
    def opaque(self) -> bool:
        """Every pixel of its box painted in a colour of its own (none showing through)."""
        return self._color.a == 1 and self.opacity == 1 and self.hole is None

    def set_bg(self, rgba) -> None:
        if tuple(self._color.rgba) != tuple(rgba):
            self._color.rgba = rgba


# Text is rendered white into a texture just as large as the text, and coloured
# and aligned on the canvas.  Kivy bakes a Label's `color` into its texture and
# makes the texture as large as `text_size`; on a Pi (and on llvmpipe here) a
# re-render of a 1000×300 px texture costs tens of ms, so a blink that changed
# `color`, or full-width textures on every row, made the screen lag behind
# calls.  With `tint` a blink is a canvas change only.
Builder.load_string("""
<-Txt>:
    canvas:
        Color:
            rgba: self.tint
        Rectangle:
            texture: self.texture
            size: self.texture_size
            pos: (int(self.x + self.pad) if self.halign == "left" else int(self.right - self.pad - self.texture_size[0]) if self.halign == "right" else int(self.center_x - self.texture_size[0] / 2.)), int(self.center_y - self.texture_size[1] / 2.)
""")


class TextureCache:
    """Rendered text by (text, size, font, markup): a screen shows the same few
    hundred strings all day (numbers move from the big call to the rows under
    it and to the recent list, window names, counts, the clock), and each is
    rendered once instead of on every move.  A new string gets a new texture,
    never one redrawn in place: a software renderer (llvmpipe) would first wait
    for the frame still being drawn with the old one.  Bounded by pixels, least
    recently used first out (memory stays flat over a day)."""

    def __init__(self, max_px: int = 4_000_000):
        self.max_px = max_px
        self._items: OrderedDict = OrderedDict()
        self._px = 0
        self.rendered = 0  # misses: textures rendered (benchmark)

    def get(self, key):
        tex = self._items.get(key)
        if tex is not None:
            self._items.move_to_end(key)
        return tex

    def put(self, key, tex) -> None:
        self.rendered += 1
        old = self._items.pop(key, None)
        if old is not None:
            self._px -= old.width * old.height
        self._items[key] = tex
        self._px += tex.width * tex.height
        while self._px > self.max_px and len(self._items) > 1:
            _, gone = self._items.popitem(last=False)
            self._px -= gone.width * gone.height

    def __len__(self) -> int:
        return len(self._items)


TEXTURES = TextureCache()


class Txt(Label):
    """One line of text.  ``fit``: "shrink" the font or "cut" the text (…) when
    it is wider than the widget; markup lines are not fitted."""

    tint = ColorProperty([1, 1, 1, 1])
    pad = NumericProperty(0)

    def __init__(self, base_size: float, tint=WHITE, halign: str = "left", fit: str = "cut", **kw):
        super().__init__(font_name=FONT_NAME, font_size=base_size, halign=halign, **kw)
        self.base_size = base_size
        self.fit = fit
        self.tint = tint
        self._full = ""
        if not self.markup:
            self.bind(width=self._refit)

    def set(self, text: str, size: float | None = None) -> None:
        """Show ``text`` (at ``size`` if given), fitted to the width; a no-op when unchanged."""
        if self.markup:
            if text != self.text:
                self.text = text
                self._upload()
            return
        if text != self._full or (size is not None and size != self.base_size):
            self._full = text
            self.base_size = size or self.base_size
            self._refit()

    def texture_update(self, *largs):
        """Label's rendering, through :data:`TEXTURES`."""
        if not self.text:
            return super().texture_update(*largs)
        key = (self.text, self.markup, self.font_size, self.font_name, self.bold, self.italic, tuple(self.color))
        tex = TEXTURES.get(key)
        if tex is None:
            self._label.texture = None  # a texture of its own (the class docstring says why)
            super().texture_update(*largs)
            if self.texture is not None and self.texture.width > 1:
                TEXTURES.put(key, self.texture)
            return
        self.texture = tex
        self.texture_size = list(tex.size)

    def _upload(self) -> None:
        # Render and upload the texture now, between frames.  Left to Kivy, the
        # upload happens while the frame is being drawn, and a software GL
        # (llvmpipe; a Pi's GPU driver too, to a lesser degree) must finish the
        # half-drawn frame first: a 1080p stall per changed label.
        self.texture_update()
        tex = self.texture
        if tex is not None:
            tex.bind()

    def _refit(self, *_):
        text, size = self._full, self.base_size
        room = self.width - 2 * self.pad
        if text and room > 1:
            w = extent(text, size)
            if w > room:
                if self.fit == "shrink":
                    size = max(12.0, size * room / w * 0.97)
                else:
                    lo, hi = 0, len(text)
                    while lo < hi:  # the longest prefix that fits with an ellipsis
                        mid = (lo + hi + 1) // 2
                        if extent(text[:mid] + "…", size) <= room:
                            lo = mid
                        else:
                            hi = mid - 1
                    text = text[:lo] + "…"
        if self.font_size != size:
            self.font_size = size
        if self.text != text:
            self.text = text
        self._upload()


_measure: dict[float, CoreLabel] = {}


def extent(text: str, size: float) -> float:
    lab = _measure.get(size)
    if lab is None:
        if len(_measure) > 64:
            _measure.clear()
        lab = _measure[size] = CoreLabel(font_name=FONT_NAME, font_size=size)
    return lab.get_extents(text)[0]


_ENDS = "。！？；.!?;"      # a sentence or clause ends: the best place for a page to end
_BREAKS = "，、,: "          # a phrase ends (Latin: between words)


def split_text(text: str, size: float, room: float) -> list[str]:
    """``text`` in pieces no wider than ``room``: cut after a sentence's end when
    one is in the second half of what fits, else after the last comma or
    between two words; never inside a word, nor inside a Han phrase unless it
    alone is wider than the line."""
    pages: list[str] = []
    rest = text.strip()
    while rest:
        if extent(rest, size) <= room:
            pages.append(rest)
            break
        lo, hi = 1, len(rest)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if extent(rest[:mid], size) <= room:
                lo = mid
            else:
                hi = mid - 1
        if lo < len(rest) and rest[lo] == " ":
            lo += 1  # a word ends exactly at the edge
        ends = [i + 1 for i in range(lo) if rest[i] in _ENDS]
        breaks = [i + 1 for i in range(lo) if rest[i] in _BREAKS]
        cut = next((c for c in reversed(ends) if c >= lo // 2), None)
        if cut is None:
            cut = next(reversed(breaks), None)  # a phrase kept whole, even on a short line
        if cut is None:  # no punctuation, no space: Han text fills the line
            cut = lo
        pages.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return pages


def notice_pages(text: str, size: float, room: float, lines: int) -> list[list[str]]:
    """``text`` as pages of at most ``lines`` lines no wider than ``room``: whole
    sentences share a line while they fit, a sentence starts a page when the
    one before it filled the page, and only a sentence longer than a page is
    split between two."""
    blocks: list[list[str]] = []  # the lines of each sentence
    for snt in (x for x in re.split(r"(?<=[。！？；])|(?<=[.!;])\s+", text.strip()) if x and x.strip()):
        snt = snt.strip()
        if blocks:
            joined = blocks[-1][-1] + (" " if snt[0].isascii() else "") + snt
            if extent(joined, size) <= room:
                blocks[-1][-1] = joined
                continue
        blocks.append(split_text(snt, size, room))
    pages: list[list[str]] = []
    cur: list[str] = []
    for b in blocks:
        if cur and len(cur) + len(b) > lines:
            pages.append(cur)
            cur = []
        while len(b) > lines:
            pages.append(b[:lines])
            b = b[lines:]
        cur += b
    if cur:
        pages.append(cur)
    return pages


def txt(text: str = "", size: float = 40, color=WHITE, halign: str = "left", markup: bool = False,
        fit: str = "cut", **kw) -> Txt:
    lb = Txt(size, tint=color, halign=halign, markup=markup, fit=fit, **kw)
    if text:
        lb.set(text)
    return lb


class Ticker(StencilView):
    """The notice line: one page per language, each shown for ``PAGE_S``, or
    (``notice_scroll``) a marquee sliding left inside a clipped strip.

    Paged is the default: still text is easier to read from across the hall,
    and a marquee redraws the whole window 30 times a second, which on a
    software renderer costs the CPU a new call needs (docs/display.md)."""

    PAGE_S = 8.0

    def __init__(self, size_px: float, speed: float, scroll: bool = False, lines: int = 1, **kw):
        """``lines``: lines a page holds (a narrow portrait screen takes two,
        display/layout.py); the strip is as tall as that many lines' textures,
        so no glyph is clipped."""
        super().__init__(**kw)
        self.speed = speed
        self.scrolling = scroll
        self.pages: list[str] = []  # lines of a page joined by "\n"
        self._page = 0
        self._t = 0.0
        if scroll:
            self.label = Label(font_name=FONT_NAME, font_size=size_px, color=(0.88, 0.90, 0.94, 1),
                               size_hint=(None, None), halign="left", valign="middle")
            self.label.bind(texture_size=lambda w, ts: setattr(w, "size", ts))
            self.rows = [self.label]
        else:
            self.rows = [Txt(size_px, tint=(0.88, 0.90, 0.94, 1), fit="shrink", size_hint=(None, None))
                         for _ in range(max(1, lines))]
            self.label = self.rows[0]
        for row in self.rows:
            self.add_widget(row)
        self.lines = len(self.rows)  # lines in use: the first ``lines`` rows
        self._offset = 0.0
        self.texts: list[str] = []
        self.bind(pos=self._place, size=self._place, width=self._paginate)

    @property
    def text(self) -> str:
        return "        ".join(self.texts)

    def set_pages(self, texts_: list[str]) -> None:
        """One text per language; a text wider than the strip is split into
        lines (at a sentence's end, a comma or between words), ``lines`` of them
        a page, never shrunk to unreadable and never cut inside a word."""
        texts_ = [t for t in texts_ if t]
        if texts_ == getattr(self, "texts", None):
            return
        self.texts = texts_
        self._paginate()

    def _paginate(self, *_):
        texts_ = getattr(self, "texts", [])
        if self.scrolling:
            self.pages = texts_
            self.label.text = self.text
        else:
            room = self.width * 0.96
            size = self.label.base_size
            n = self.lines
            self.pages = []
            for t in texts_:  # a page never mixes two languages
                self.pages += (["\n".join(p) for p in notice_pages(t, size, room, n)] if room > 50 else [t])
            self._show(self.pages[0] if self.pages else "")
        self._page, self._t, self._offset = 0, 0.0, 0.0
        self._place()

    def use_lines(self, n: int) -> None:
        """Show pages of the first ``n`` lines only (the offline mark takes the
        last line of a two-line strip): paged again, never narrowed."""
        n = max(1, min(n, len(self.rows)))
        if n != self.lines:
            self.lines = n
            self._paginate()

    def _show(self, page: str) -> None:
        lines = page.split("\n") if page else []
        for i, row in enumerate(self.rows):
            row.set(lines[i] if i < len(lines) else "")

    def _place(self, *_):
        if self.scrolling:
            self.label.x = self.x + self.width * 0.02 - self._offset
            self.label.center_y = self.center_y
        else:
            # lines of 1.2 em (display/layout.py LINE_EM) in the middle of the strip
            n = len(self.rows)
            h = min(self.height / n, 1.2 * self.label.base_size)
            top = self.top - (self.height - n * h) / 2
            for i, row in enumerate(self.rows):
                row.pos, row.size = (self.x + self.width * 0.02, top - (i + 1) * h), (self.width * 0.96, h)

    def scroll(self, dt_s: float) -> None:
        if not self.scrolling:
            self._t += dt_s
            if len(self.pages) > 1 and self._t >= self.PAGE_S - 0.1:  # a timer's tick may come a hair early
                self._t = 0.0
                self._page = (self._page + 1) % len(self.pages)
                self._show(self.pages[self._page])
            return
        if self.label.width <= self.width * 0.96:
            self._offset = 0.0  # fits: stand still
        else:
            self._offset += self.speed * dt_s
            if self._offset > self.label.width + self.width * 0.1:
                self._offset = -self.width * 0.9
        self._place()
