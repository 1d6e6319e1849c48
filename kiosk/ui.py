"""Kivy drawing of a :class:`kiosk.view.ScreenView` (the only module that imports Kivy).

Sizes are in millimetres of the real panel (``kiosks.screen.dpi``), not Kivy
dp: a 15 mm touch target must be 15 mm on a 21.5" 1080p panel (≈ 60 px) and
on a 10" one alike.  Colours are black on white with saturated button fills:
contrast ratios above 7:1 (WCAG AAA) for every text.
"""

from __future__ import annotations

import os
from typing import Callable

from hall.config.kiosk import ScreenConfig

from .view import Block, Btn, ScreenView

WHITE = (1, 1, 1, 1)
BLACK = (0, 0, 0, 1)
INK = (0.08, 0.08, 0.1, 1)
MUTED = (0.25, 0.25, 0.3, 1)        # #404050 on white: 10:1
BLUE = (0.04, 0.27, 0.55, 1)        # #0A458C: white on it 9:1
GREEN = (0.0, 0.38, 0.2, 1)         # #006133: white on it 7.6:1
RED = (0.62, 0.05, 0.05, 1)         # #9E0D0D: white on it 8:1
GREY = (0.87, 0.88, 0.9, 1)         # quiet buttons, black text 15:1
AMBER = (1.0, 0.8, 0.2, 1)          # warning banner, black text
INFO = (0.86, 0.92, 1.0, 1)
HEADER = (0.04, 0.2, 0.42, 1)

FONT = "OneWindowCJK"

STYLE_BG = {"normal": (0.93, 0.95, 0.98, 1), "primary": BLUE, "selected": GREEN, "quiet": GREY, "danger": RED}
STYLE_FG = {"normal": INK, "primary": WHITE, "selected": WHITE, "quiet": INK, "danger": WHITE}
BANNER = {"error": (RED, WHITE), "warn": (AMBER, BLACK), "info": (INFO, INK)}


def register_font(path: str | None) -> None:
    from kivy.core.text import LabelBase

    from hall.fonts import register_kivy
    if path is None:  # Noto Sans CJK SC, Regular and Bold (hall/fonts.py)
        register_kivy(FONT)
        return
    if not os.path.exists(path):
        raise RuntimeError(f"CJK font {path} is missing")
    LabelBase.register(name=FONT, fn_regular=path)


class Metrics:
    """Pixel sizes from millimetres at the panel's dpi, scaled in elderly mode."""

    def __init__(self, screen: ScreenConfig, elderly: bool):
        self.dpi = screen.dpi
        self.k = screen.elderly_scale if elderly else 1.0
        self.touch = self.mm(screen.touch_mm)            # never scaled down

    def mm(self, v: float) -> float:
        return v / 25.4 * self.dpi

    def font(self, mm_: float) -> float:
        return round(self.mm(mm_) * self.k)

    @property
    def body(self) -> float:
        return self.font(8)

    @property
    def btn_h(self) -> float:
        return max(self.touch, self.font(8.5) * 2.4)


class KioskView:
    """Holds the root widget and redraws it from a ScreenView."""

    def __init__(self, screen: ScreenConfig, on_action: Callable[[str], None]):
        from kivy.uix.boxlayout import BoxLayout

        register_font(screen.font)
        self.screen = screen
        self.on_action = on_action
        self.root = BoxLayout(orientation="vertical")
        _paint(self.root, WHITE)
        self.current: ScreenView | None = None
        self.buttons: dict[str, object] = {}
        self._overflows = False
        self.inner = float(screen.width)
        self.body = None  # the screen's content, in ``self.scroll`` between the header and the nav
        self.scroll = None

    # ------------------------------------------------------------- drawing --
    def scrolls(self) -> bool:
        """The content is taller than the space between the header and the nav."""
        return self.body is not None and self.body.minimum_height > self.scroll.height + 1

    def show(self, v: ScreenView) -> None:
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.scrollview import ScrollView

        self.current = v
        self.buttons = {}
        mt = Metrics(self.screen, v.elderly)
        self.inner = self.screen.width - 2 * mt.mm(6)   # width inside the body's padding
        self._overflows = self._estimate(v, mt) > self.screen.height
        root = self.root
        root.clear_widgets()
        pad = mt.mm(6)
        # header: the hall's name on a dark band
        head = self._label(v.header, mt.font(6), WHITE, bold=False, halign="center")
        head.size_hint_y = 1
        band = BoxLayout(size_hint_y=None, height=mt.mm(16) * mt.k, padding=(pad, 0))
        _paint(band, HEADER)
        band.add_widget(head)
        root.add_widget(band)
        # The content fills the space between the header and the nav (its spacers take what
        # is left); content taller than that (a realistic hall in elderly mode: the type
        # size is never reduced) starts under the header and scrolls, with a visible bar,
        # instead of being drawn over the header and off the panel where nobody reaches it.
        body = BoxLayout(orientation="vertical", padding=(pad, mt.mm(4)), spacing=mt.mm(3), size_hint_y=None)
        scroll = ScrollView(do_scroll_x=False, bar_width=mt.mm(2), scroll_type=["bars", "content"],
                            bar_color=(0.35, 0.4, 0.5, 0.9), bar_inactive_color=(0.35, 0.4, 0.5, 0.6))

        def fit_body(*_):
            body.height = max(scroll.height, body.minimum_height)
        scroll.bind(height=fit_body)
        body.bind(minimum_height=fit_body)
        if v.title:
            body.add_widget(self._label(v.title, mt.font(11), INK, bold=True))
        for b in v.blocks:
            self._block(body, b, mt)
        scroll.add_widget(body)
        root.add_widget(scroll)
        self.body, self.scroll = body, scroll
        if v.nav:
            nav = BoxLayout(size_hint_y=None, height=mt.btn_h + mt.mm(8), padding=(pad, mt.mm(4)),
                            spacing=mt.mm(4))
            _paint(nav, (0.95, 0.96, 0.97, 1))
            n = len(v.nav)
            for btn in v.nav:
                nav.add_widget(self._button(btn, mt, height=mt.btn_h, width=(self.inner - (n - 1) * mt.mm(4)) / n))
            root.add_widget(nav)

    def _estimate(self, v: ScreenView, mt: Metrics) -> float:
        """Natural height of a screen with a one-column checklist (pixels, generous).

        Kivy lays out lazily, so the choice between one and two checklist
        columns is made from this estimate before drawing, never by a
        second, flickering pass.
        """
        from .ticket_layout import width as text_cols
        inner = self.screen.width - 2 * mt.mm(6)

        def text_h(text: str, size: float) -> float:
            per_line = max(1, int(inner / (size / 2)))      # a Han character is ~size wide
            lines = sum(max(1, -(-text_cols(part) // per_line)) for part in text.split("\n"))
            return lines * size * 1.3

        h = mt.mm(16) * mt.k + mt.mm(8) + (mt.btn_h + mt.mm(8) if v.nav else 0)
        if v.title:
            h += text_h(v.title, mt.font(11))
        gap = mt.mm(3)
        for b in v.blocks:
            h += gap
            if b.kind in ("text", "title"):
                h += text_h(b.text, mt.font(9) if b.style == "strong" else mt.body)
            elif b.kind in ("big", "banner", "field"):
                h += text_h(b.text, mt.font(12)) + mt.mm(8)
            elif b.kind == "number":
                h += mt.font(40) * 1.3
            elif b.kind in ("buttons", "keypad"):
                rows = -(-len(b.buttons) // max(1, b.cols))
                bh = mt.btn_h if b.kind == "buttons" else max(mt.touch, mt.font(9) * 2.4)
                h += rows * (bh * (1.6 if b.style == "huge" else 1) + gap)
            elif b.kind == "checklist":
                h += sum(text_h("□ " + it, mt.body) + mt.mm(1.5) for it in b.items)
        return h

    def _block(self, parent, b: Block, mt: Metrics) -> None:
        from kivy.uix.gridlayout import GridLayout
        from kivy.uix.widget import Widget

        if b.kind == "spacer":
            parent.add_widget(Widget(size_hint_y=b.weight or 1))
            return
        if b.kind == "title":
            parent.add_widget(self._label(b.text, mt.font(10), INK, bold=True))
        elif b.kind == "text":
            color = {"muted": MUTED, "error": RED}.get(b.style, INK)
            size = mt.font(9) if b.style == "strong" else mt.body
            parent.add_widget(self._label(b.text, size, color, bold=b.style == "strong"))
        elif b.kind == "big":
            parent.add_widget(self._label(b.text, mt.font(12), BLUE if b.style == "lead" else INK, bold=True,
                                          halign="center"))
        elif b.kind == "number":
            parent.add_widget(self._label(b.text, mt.font(40), BLUE, bold=True, halign="center"))
        elif b.kind == "banner":
            bg, fg = BANNER.get(b.style, BANNER["info"])
            lab = self._label(b.text, mt.font(9), fg, bold=True, halign="center", pad=mt.mm(4))
            _paint(lab, bg)
            parent.add_widget(lab)
        elif b.kind == "field":
            lab = self._label(b.text or " ", mt.font(11), MUTED if b.style == "muted" else INK,
                              bold=True, halign="center", pad=mt.mm(3))
            _paint(lab, (0.96, 0.97, 1, 1), border=BLUE)
            parent.add_widget(lab)
        elif b.kind == "checklist":
            # a long checklist (a bundle's merged one) goes to two columns
            # rather than below the bottom of the screen: no scrolling to learn
            cols = 2 if self._overflows else 1
            grid = GridLayout(cols=cols, spacing=(mt.mm(4), mt.mm(1.5)), size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            w = (self.inner - (cols - 1) * mt.mm(4)) / cols
            # NBSP: the box never wraps away from its item
            labels = [self._label("□\u00a0" + item, mt.body, INK, width=w) for item in b.items]
            for i in range(0, len(labels), cols):
                self._row_top_aligned(grid, labels[i:i + cols], w)
            parent.add_widget(grid)
        elif b.kind in ("buttons", "keypad"):
            huge = b.style == "huge"
            h = mt.btn_h * (1.6 if huge else 1.0)
            if b.kind == "keypad":
                h = max(mt.touch, mt.font(9) * 2.4)
            if any(x.sub for x in b.buttons):
                h = max(h, mt.body * 3.6)
            rows = (len(b.buttons) + b.cols - 1) // b.cols
            sp = mt.mm(3) if b.kind == "buttons" else mt.mm(2)
            grid = GridLayout(cols=b.cols, spacing=sp, size_hint_y=None, height=rows * h + (rows - 1) * sp)
            bw = (self.inner - (b.cols - 1) * sp) / b.cols
            for x in b.buttons:
                grid.add_widget(self._button(x, mt, height=h, font=mt.font(12) if huge else None,
                                             keypad=b.kind == "keypad", width=bw))
            parent.add_widget(grid)
        if b.weight and b.kind != "spacer":
            parent.add_widget(Widget(size_hint_y=b.weight))

    @staticmethod
    def _row_top_aligned(grid, labels, width: float) -> None:
        """One row of a grid whose items start at the same height (a one-line item beside
        a two-line one: a grid cell puts a shorter widget at its bottom)."""
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.widget import Widget
        cells = [BoxLayout(orientation="vertical", size_hint=(None, None), width=width) for _ in labels]

        def even(*_):
            h = max(lab.height for lab in labels)
            for c in cells:
                c.height = h
        for cell, lab in zip(cells, labels):
            cell.add_widget(lab)
            cell.add_widget(Widget())
            lab.bind(height=even)
            grid.add_widget(cell)
        even()

    def _label(self, text: str, size: float, color, *, bold: bool = False, halign: str = "left",
               pad: float = 0, width: float | None = None):
        from kivy.uix.label import Label

        # Created at the width the layout will give it (``width``), a label
        # renders its text once instead of twice (at Kivy's default 100 px,
        # then again): text rendering is most of a frame on the kiosk.
        w = width if width is not None else self.inner
        lab = Label(text=text, font_name=FONT, font_size=size, color=color, bold=bold, halign=halign,
                    valign="middle", size_hint_y=None, padding=(pad, pad), width=w,
                    text_size=(w - 2 * pad, None))

        def fit(inst, _):
            if abs((inst.text_size[0] or 0) - (inst.width - 2 * pad)) > 1:
                inst.text_size = (inst.width - 2 * pad, None)
        lab.bind(width=fit)
        lab.bind(texture_size=lambda inst, ts: setattr(inst, "height", ts[1] + 0))
        return lab

    def _button(self, b: Btn, mt: Metrics, *, height: float, font: float | None = None, keypad: bool = False,
                width: float = 100):
        from kivy.uix.button import Button
        from kivy.utils import escape_markup

        size = font or (mt.font(9.5) if keypad else mt.font(8.5))
        room = width - mt.mm(3)
        label = ("√ " if b.style == "selected" else "") + b.label
        if b.icon:
            label = b.icon + "  " + label  # the icon is drawn larger: counted as a character more
        size = _fitting(label, size, room, least=size * 0.7)  # one line where it can, not a word cut in two
        text = escape_markup(b.label)
        bg, fg = STYLE_BG.get(b.style, STYLE_BG["normal"]), STYLE_FG.get(b.style, INK)
        if b.style == "tile" and b.colour:
            bg, fg = tile_colours(b.colour)
        if b.icon:
            text = f"[size={int(size * 1.35)}][b]{escape_markup(b.icon)}[/b][/size]  " + text
        if b.style == "selected":
            text = "√ " + text
        if b.sub:
            sub = _fitting(b.sub, size * 0.72, room, least=size * 0.5)
            text += f"\n[size={int(sub)}]{escape_markup(b.sub)}[/size]"
        btn = Button(text=text, markup=True, font_name=FONT, font_size=size, size_hint_y=None, height=height,
                     width=width, text_size=(width - mt.mm(3), None),
                     halign="center", valign="middle", background_normal="", background_down="",
                     background_color=bg, color=fg, bold=b.style in ("primary", "selected", "tile"))
        def fit(inst, sz):
            if abs((inst.text_size[0] or 0) - (sz[0] - mt.mm(3))) > 1:
                inst.text_size = (sz[0] - mt.mm(3), None)
        btn.bind(size=fit)
        btn.bind(on_release=lambda *_: self.on_action(b.action))
        # a dark outline keeps light buttons visible for low-vision users
        _outline(btn, (0.35, 0.4, 0.5, 1) if b.style in ("normal", "quiet") else None)
        self.buttons[b.action] = btn
        return btn


def _fitting(text: str, size: float, room: float, least: float) -> float:
    """The font size (at most ``size``, at least ``least``) at which the longest line of
    ``text`` fits ``room`` pixels: a wide character (Han) is about one em, a narrow one
    about half (the ticket layout's column count)."""
    from .ticket_layout import width as text_cols
    cols = max((text_cols(line) for line in text.split("\n")), default=0)
    if cols == 0:
        return size
    return max(least, min(size, room / (cols / 2 * 1.08)))


def rgba(hex_: str) -> tuple[float, float, float, float]:
    return (int(hex_[1:3], 16) / 255, int(hex_[3:5], 16) / 255, int(hex_[5:7], 16) / 255, 1)


def hex_of(c) -> str:
    return "#" + "".join(f"{round(v * 255):02X}" for v in c[:3])


def tile_colours(colour: str):
    """A zone tile's fill and its text colour (white; the config checks the contrast)."""
    return rgba(colour), WHITE


def _paint(widget, rgba, border=None) -> None:
    from kivy.graphics import Color, Line, Rectangle

    with widget.canvas.before:
        Color(*rgba)
        rect = Rectangle(pos=widget.pos, size=widget.size)
        if border:
            Color(*border)
            line = Line(rectangle=(*widget.pos, *widget.size), width=2)
        else:
            line = None

    def upd(*_):
        rect.pos, rect.size = widget.pos, widget.size
        if line is not None:
            line.rectangle = (*widget.pos, *widget.size)
    widget.bind(pos=upd, size=upd)


def _outline(widget, rgba) -> None:
    if rgba is None:
        return
    from kivy.graphics import Color, Line

    with widget.canvas.after:
        Color(*rgba)
        line = Line(rectangle=(*widget.pos, *widget.size), width=1.5)

    def upd(*_):
        line.rectangle = (*widget.pos, *widget.size)
    widget.bind(pos=upd, size=upd)
