"""The Kivy widgets of a wall display: a thin renderer of :class:`~display.callboard.View`.

Sizes are for a citizen 8 m from a 55" TV: 1080 px ≈ 68 cm, so 1 px ≈ 0.63 mm
and the smallest text that matters (earlier calls, waiting counts) is ≥ 56 px
(≈ 3.5 cm); the newest number is ~260 px (16 cm).  Everything scales with the
short side of the screen (``u`` = short side / 1080).

Widgets are built once and only their text and colours change, so a day of
calls creates no widgets (memory stays flat, see bench/display.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from kivy.core.text import Label as CoreLabel
from kivy.core.text import LabelBase
from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from hall.clock import local_dt
from hall.config import HallConfig
from hall.config.screens import Screen

from . import texts
from .callboard import Call, View

FONT_NAME = "onewindow-cjk"
FONT_PATHS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",)

# colours (r, g, b, a)
BG = (0.04, 0.12, 0.24, 1)
HEADER_BG = (0.05, 0.18, 0.36, 1)
HERO_BG = (0.06, 0.20, 0.40, 1)
FLASH_BG = (0.80, 0.10, 0.10, 1)
ROW_BG = ((0.06, 0.17, 0.32, 1), (0.08, 0.21, 0.38, 1))
FOOTER_BG = (0.02, 0.08, 0.17, 1)
WHITE = (1, 1, 1, 1)
AMBER = (1.0, 0.84, 0.31, 1)
SOFT = (0.62, 0.77, 1.0, 1)
GREEN = (0.49, 0.99, 0.60, 1)
RED_SOFT = (1.0, 0.54, 0.50, 1)
GREY = (0.70, 0.74, 0.80, 1)
STATUS_COLOURS = {"received": SOFT, "processing": AMBER, "done": GREY, "ready": GREEN}


def register_font() -> str:
    for path in [os.environ.get("ONEWINDOW_CJK_FONT", ""), *FONT_PATHS]:
        if path and Path(path).exists():
            LabelBase.register(name=FONT_NAME, fn_regular=path)
            return path
    raise RuntimeError("no CJK font: apt install fonts-wqy-zenhei (or set ONEWINDOW_CJK_FONT)")


def hexc(c) -> str:
    return "".join(f"{int(v * 255):02x}" for v in c[:3])


class Panel(BoxLayout):
    """A BoxLayout with a solid background whose colour can change (flash)."""

    def __init__(self, bg=BG, **kw):
        super().__init__(**kw)
        with self.canvas.before:
            self._color = Color(*bg)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._sync, size=self._sync)

    def _sync(self, *_):
        self._rect.pos = self.pos
        self._rect.size = self.size

    def set_bg(self, rgba) -> None:
        if tuple(self._color.rgba) != tuple(rgba):
            self._color.rgba = rgba


def txt(text: str = "", size: float = 40, color=WHITE, halign: str = "left", markup: bool = False,
        **kw) -> Label:
    lb = Label(text=text, font_name=FONT_NAME, font_size=size, color=color, halign=halign,
               valign="middle", markup=markup, shorten=not markup, shorten_from="right", **kw)
    lb.bind(size=lambda w, s: setattr(w, "text_size", s))
    return lb


class FitLabel(Label):
    """One line that shrinks its font to fit its width (a long number or hall
    name must not wrap or be cut)."""

    def __init__(self, base_size: float, halign: str = "center", **kw):
        super().__init__(font_name=FONT_NAME, font_size=base_size, halign=halign, valign="middle", **kw)
        self.base_size = base_size
        self.bind(text=self._fit, size=self._fit)

    def _fit(self, *_):
        self.text_size = self.size
        if not self.text or self.width <= 1:
            self.font_size = self.base_size
            return
        w, _ = CoreLabel(font_name=FONT_NAME, font_size=self.base_size).get_extents(self.text)
        self.font_size = self.base_size if w <= self.width else max(12, self.base_size * self.width / w * 0.97)


class Ticker(StencilView):
    """The scrolling notice line (a label sliding left inside a clipped strip)."""

    def __init__(self, size_px: float, speed: float, **kw):
        super().__init__(**kw)
        self.speed = speed
        self.label = Label(font_name=FONT_NAME, font_size=size_px, color=(0.88, 0.90, 0.94, 1),
                           size_hint=(None, None), halign="left", valign="middle")
        self.label.bind(texture_size=lambda w, ts: setattr(w, "size", ts))
        self.add_widget(self.label)
        self._offset = 0.0
        self.bind(pos=self._place, size=self._place)

    def set_text(self, text: str) -> None:
        if self.label.text != text:
            self.label.text = text
            self._offset = 0.0

    def _place(self, *_):
        self.label.x = self.x + self.width * 0.02 - self._offset
        self.label.center_y = self.center_y

    def scroll(self, dt_s: float) -> None:
        if self.label.width <= self.width * 0.96:
            self._offset = 0.0  # fits: stand still
        else:
            self._offset += self.speed * dt_s
            if self._offset > self.label.width + self.width * 0.1:
                self._offset = -self.width * 0.9
        self._place()


class WallScreen(BoxLayout):
    """The whole picture; ``show(view, now)`` is the only way it changes."""

    def __init__(self, cfg: HallConfig, screen: Screen, size: tuple[int, int], **kw):
        super().__init__(orientation="vertical", size_hint=(None, None), size=size, **kw)
        self.cfg = cfg
        self.screen = screen
        self.portrait = screen.layout == "portrait"
        self.u = u = min(size) / 1080
        self._last: View | None = None
        self._page = "calls"
        with self.canvas.before:
            Color(*BG)
            self._bg = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=lambda *_: setattr(self._bg, "pos", self.pos),
                  size=lambda *_: setattr(self._bg, "size", self.size))

        # header: hall and zone | time and date
        header = Panel(HEADER_BG, orientation="horizontal", size_hint_y=None,
                       height=(150 if self.portrait else 116) * u, padding=[36 * u, 8 * u])
        names = BoxLayout(orientation="vertical")
        self.hall_label = FitLabel(52 * u, "left", color=WHITE)
        self.zone_label = txt("", 38 * u, SOFT)
        names.add_widget(self.hall_label)
        names.add_widget(self.zone_label)
        when = BoxLayout(orientation="vertical", size_hint_x=None, width=(330 if self.portrait else 380) * u)
        self.clock_label = txt("", 72 * u, WHITE, "right")
        self.date_label = txt("", 30 * u, SOFT, "right")
        when.add_widget(self.clock_label)
        when.add_widget(self.date_label)
        header.add_widget(names)
        header.add_widget(when)
        self.add_widget(header)

        self.body = BoxLayout()
        self.add_widget(self.body)
        self.calls_page = self._build_calls()
        self.progress_page = self._build_progress()
        self.body.add_widget(self.calls_page)

        footer = Panel(FOOTER_BG, orientation="horizontal", size_hint_y=None,
                       height=(100 if self.portrait else 86) * u, padding=[20 * u, 0])
        self.ticker = Ticker(42 * u, 150 * u)
        self._offline_w = (440 if self.portrait else 560) * u
        self.offline_label = txt("", 32 * u, RED_SOFT, "right", size_hint_x=None, width=0)
        footer.add_widget(self.ticker)
        footer.add_widget(self.offline_label)
        self.add_widget(footer)
        self.apply_config(cfg, screen)

    # ------------------------------------------------------------ build --
    def _build_calls(self) -> BoxLayout:
        u, portrait = self.u, self.portrait
        page = BoxLayout(orientation="vertical" if portrait else "horizontal",
                         padding=[24 * u] * 4, spacing=24 * u)
        hero = Panel(HERO_BG, orientation="vertical", padding=[30 * u, 20 * u],
                     size_hint=(1, None) if portrait else (0.58, 1), height=800 * u)
        self.hero_panel = hero
        self.hero_tag = txt("", 44 * u, AMBER, "center", size_hint_y=0.12)
        line = BoxLayout(orientation="horizontal", size_hint_y=0.42)
        self.hero_pre = txt("", 120 * u, AMBER, "right", size_hint_x=None, width=150 * u)
        self.hero_number = FitLabel((240 if portrait else 260) * u, color=AMBER)
        self.hero_post = txt("", 120 * u, AMBER, "left", size_hint_x=None, width=150 * u)
        for w in (self.hero_pre, self.hero_number, self.hero_post):
            line.add_widget(w)
        self.hero_window = txt("", (118 if portrait else 124) * u, WHITE, "center", markup=True,
                               size_hint_y=0.26)
        self.hero_sub = txt("", 50 * u, SOFT, "center", size_hint_y=0.14)
        for w in (self.hero_tag, line, self.hero_window, self.hero_sub):
            hero.add_widget(w)
        page.add_widget(hero)

        side = BoxLayout(orientation="vertical", spacing=10 * u, size_hint=(1, 1) if portrait else (0.42, 1))
        self.recent_title = txt("", 46 * u, SOFT, markup=True, size_hint_y=None, height=76 * u)
        side.add_widget(self.recent_title)
        self.recent_rows: list[tuple[Panel, Label, Label]] = []
        rows = GridLayout(cols=1, spacing=6 * u, size_hint_y=None)
        row_h = 84 * u
        for i in range(self.screen.recent):
            row = Panel(ROW_BG[i % 2], orientation="horizontal", padding=[24 * u, 0],
                        size_hint_y=None, height=row_h)
            num = txt("", 64 * u, WHITE)
            win = txt("", 58 * u, AMBER, "right")
            row.add_widget(num)
            row.add_widget(win)
            rows.add_widget(row)
            self.recent_rows.append((row, num, win))
        rows.height = len(self.recent_rows) * (row_h + 6 * u)
        side.add_widget(rows)
        self.waiting_title = txt("", 46 * u, SOFT, markup=True, size_hint_y=None, height=76 * u)
        side.add_widget(self.waiting_title)
        self.waiting_grid = GridLayout(cols=2, spacing=[16 * u, 8 * u], row_default_height=70 * u,
                                       row_force_default=True)
        side.add_widget(self.waiting_grid)
        self.waiting_cells: list[tuple[Label, Label]] = []
        page.add_widget(side)
        return page

    def _build_progress(self) -> BoxLayout:
        """A table in landscape; in portrait each case takes two lines (number and
        name, then the matter) with the status on the right, to use the height."""
        u, portrait = self.u, self.portrait
        page = BoxLayout(orientation="vertical", padding=[30 * u, 20 * u], spacing=8 * u)
        top = BoxLayout(orientation="horizontal", size_hint_y=None, height=90 * u)
        self.progress_title = txt("", 60 * u, WHITE, markup=True)
        self.progress_pageno = txt("", 38 * u, SOFT, "right", size_hint_x=None, width=300 * u)
        top.add_widget(self.progress_title)
        top.add_widget(self.progress_pageno)
        page.add_widget(top)
        head = Panel(HEADER_BG, orientation="horizontal", size_hint_y=None, height=70 * u, padding=[20 * u, 0])
        self.progress_rows: list[tuple[Label, Label, Label, Label]] = []
        n = self.cfg.screens.progress_rows
        if not portrait:
            widths = (0.27, 0.17, 0.34, 0.22)
            self.progress_head = [txt("", 42 * u, SOFT, size_hint_x=w) for w in widths]
            for lb in self.progress_head:
                head.add_widget(lb)
            page.add_widget(head)
            for i in range(n):
                row = Panel(ROW_BG[i % 2], orientation="horizontal", padding=[20 * u, 0])
                cells = tuple(txt("", (40 if j == 2 else 46) * u, WHITE, size_hint_x=w)
                              for j, w in enumerate(widths))
                for c in cells:
                    row.add_widget(c)
                page.add_widget(row)
                self.progress_rows.append(cells)  # type: ignore[arg-type]
            return page
        self.progress_head = [txt("", 40 * u, SOFT, size_hint_x=0.5), txt("", 40 * u, SOFT, size_hint_x=0.22),
                              txt("", 40 * u, SOFT, "right", size_hint_x=0.28)]
        for lb in self.progress_head:
            head.add_widget(lb)
        page.add_widget(head)
        for i in range(n):
            row = Panel(ROW_BG[i % 2], orientation="horizontal", padding=[20 * u, 6 * u])
            left = BoxLayout(orientation="vertical")
            first = BoxLayout(orientation="horizontal")
            case, name = txt("", 48 * u, WHITE, size_hint_x=0.69), txt("", 48 * u, WHITE, size_hint_x=0.31)
            first.add_widget(case)
            first.add_widget(name)
            matter = txt("", 38 * u, SOFT)
            left.add_widget(first)
            left.add_widget(matter)
            status = txt("", 50 * u, WHITE, "right", size_hint_x=0.28)
            row.add_widget(left)
            row.add_widget(status)
            page.add_widget(row)
            self.progress_rows.append((case, name, matter, status))
        return page

    # ------------------------------------------------------------ config --
    def apply_config(self, cfg: HallConfig, screen: Screen) -> None:
        self.cfg, self.screen = cfg, screen
        langs = list(screen.languages or cfg.hall.languages)
        self.lang = langs[0]
        family = "zh" if self.lang.startswith("zh") else self.lang
        self.lang2 = next((lang for lang in langs[1:]
                           if ("zh" if lang.startswith("zh") else lang) != family), None)
        self.hall_label.text = cfg.hall.name.get(self.lang)
        zones = [z for z in cfg.zones if z.id in screen.zones]
        self.zone_label.text = "、".join(z.name.get(self.lang) for z in zones) + (
            f"   {' / '.join(z.name.get(self.lang2) for z in zones)}" if self.lang2 and zones else "")
        notice = screen.notice or cfg.screens.notice
        if notice is not None:
            line = notice.get(self.lang) + ("        " + notice.get(self.lang2) if self.lang2 else "")
        else:
            line = texts.t("notice", self.lang) + ("        " + texts.t("notice", self.lang2)
                                                  if self.lang2 else "")
        self.ticker.set_text(line)
        self.recent_title.text = self._title("recent")
        self.waiting_title.text = self._title("waiting")
        self.progress_title.text = self._title("progress_title")
        if self.portrait:  # the matter sits under the case number: one heading says both
            heads = [f"{texts.t('case', self.lang)} / {texts.t('matter', self.lang)}",
                     texts.t("name", self.lang), texts.t("status", self.lang)]
        else:
            heads = [texts.t(key, self.lang) for key in ("case", "name", "matter", "status")]
        for lb, text in zip(self.progress_head, heads):
            lb.text = text
        self._last = None

    def _title(self, key: str) -> str:
        main = texts.t(key, self.lang)
        if not self.lang2:
            return main
        return f"{main}  [size={int(34 * self.u)}]{texts.t(key, self.lang2)}[/size]"

    # ------------------------------------------------------------ render --
    def show(self, view: View, now: float) -> None:
        local = local_dt(now, self.cfg.hall.timezone)
        self.clock_label.text, self.date_label.text = texts.clock_text(local, self.lang)
        self._flash(view, now)
        if view == self._last:
            return
        self._last = view
        self._set_page(view.page)
        self._hero(view.hero)
        for (row, num, win), call in zip(self.recent_rows, list(view.recent) + [None] * len(self.recent_rows)):
            num.text = call.number if call else ""
            win.text = texts.t("window", self.lang, w=call.window_number) if call else ""
        self._waiting(view)
        self.offline_label.text = ("●  " + texts.t(f"offline_{view.offline}", self.lang)) if view.offline else ""
        # the notice line gets the whole footer unless the offline mark needs room
        self.offline_label.width = (self._offline_w if view.offline else 0)
        if view.page == "progress":
            self._progress(view)

    def _flash(self, view: View, now: float) -> None:
        on = view.flashing and int(now * 2) % 2 == 0  # 2 Hz blink
        self.hero_panel.set_bg(FLASH_BG if on else HERO_BG)
        colour = WHITE if on else AMBER
        for lb in (self.hero_pre, self.hero_number, self.hero_post):
            if tuple(lb.color) != colour:
                lb.color = colour
        for lb, calm in ((self.hero_tag, AMBER), (self.hero_sub, SOFT)):  # keep contrast on red
            want = WHITE if on else calm
            if tuple(lb.color) != want:
                lb.color = want

    def _hero(self, call: Call | None) -> None:
        lang = self.lang
        if call is None:
            self.hero_tag.text = self.hero_pre.text = self.hero_post.text = ""
            self.hero_number.text = texts.t("no_calls", lang)
            self.hero_window.text = ""
            self.hero_sub.text = texts.t("no_calls", self.lang2) if self.lang2 else ""
            return
        amber = hexc(AMBER)
        self.hero_number.text = call.number
        if lang == "en":
            self.hero_pre.font_size = 80 * self.u
            self.hero_pre.text, self.hero_post.text = "No.", ""
            self.hero_window.text = f"Window [color={amber}]{call.window_number}[/color]"
        else:
            hao = texts.t("hao", lang)
            self.hero_pre.font_size = 120 * self.u
            self.hero_pre.text, self.hero_post.text = texts.t("please", lang), hao
            self.hero_window.text = f"到 [color={amber}]{call.window_number}[/color] {hao}窗口"
        tag = texts.t("recall", lang) if call.recall else ""
        if tag and self.lang2:
            tag += f"  {texts.t('recall', self.lang2)}"
        self.hero_tag.text = tag
        self.hero_sub.text = texts.call_line(call.number, call.window_number, self.lang2) if self.lang2 else ""

    def _waiting(self, view: View) -> None:
        by = self.screen.waiting_by
        items = list(view.waiting)
        while len(self.waiting_cells) < len(items):  # grows to the hall's group count once, then stays
            u = self.u
            cell = Panel(ROW_BG[0], orientation="horizontal", padding=[18 * u, 0])
            name = txt("", 38 * u, WHITE)
            count = txt("", 54 * u, GREEN, "right", size_hint_x=None, width=100 * u)
            cell.add_widget(name)
            cell.add_widget(count)
            self.waiting_grid.add_widget(cell)
            self.waiting_cells.append((name, count))
        for i, (name, count) in enumerate(self.waiting_cells):
            if i < len(items):
                key, n = items[i]
                name.text = texts.waiting_label(self.cfg, key, by, self.lang)
                count.text = str(n)
            else:
                name.text = count.text = ""
        total = f"{texts.t('total', self.lang)} {view.waiting_total}"
        self.waiting_title.text = f"{self._title('waiting')}   [color={hexc(GREEN)}]{total}[/color]"

    def _set_page(self, page: str) -> None:
        if page == self._page:
            return
        self.body.clear_widgets()
        self.body.add_widget(self.progress_page if page == "progress" else self.calls_page)
        self._page = page

    def _progress(self, view: View) -> None:
        self.progress_pageno.text = texts.t("page", self.lang, i=str(view.progress_index + 1),
                                            n=str(view.progress_pages))
        rows = list(view.progress) + [None] * len(self.progress_rows)
        for cells, case in zip(self.progress_rows, rows):
            if case is None:
                for c in cells:
                    c.text = ""
                continue
            cells[0].text = case.case
            cells[1].text = case.name
            cells[2].text = texts.matter_label(self.cfg, case.matter, self.lang)
            cells[3].text = texts.t(case.status, self.lang)
            cells[3].color = STATUS_COLOURS.get(case.status, WHITE)

    def texts_shown(self) -> dict[str, object]:
        """The visible text by role, for tests and the benchmark."""
        return {
            "page": self._page,
            "hall": self.hall_label.text, "zone": self.zone_label.text,
            "hero_number": " ".join(x for x in (self.hero_pre.text, self.hero_number.text,
                                                self.hero_post.text) if x), "hero_window": self.hero_window.text,
            "hero_sub": self.hero_sub.text, "hero_tag": self.hero_tag.text,
            "recent": [(n.text, w.text) for _, n, w in self.recent_rows if n.text],
            "waiting": [(n.text, c.text) for n, c in self.waiting_cells if n.text],
            "offline": self.offline_label.text, "clock": self.clock_label.text,
            "notice": self.ticker.label.text,
            "progress": [tuple(c.text for c in cells) for cells in self.progress_rows if cells[0].text],
            "flash_bg": tuple(self.hero_panel._color.rgba),
        }
