"""The layout of a wall display: a thin renderer of :class:`~display.callboard.View`.

Sizes are for a citizen 8 m from a 55" TV: 1080 px ≈ 68 cm, so 1 px ≈ 0.63 mm
and the smallest text that matters (earlier calls, waiting counts) is ≥ 56 px
(≈ 3.5 cm); the newest number is ~260 px (16 cm).  Everything scales with the
short side of the screen (``u`` = short side / 1080).

Widgets are built once and only their text and colours change, so a day of
calls creates no widgets (memory stays flat, see bench/display.py).
"""

from __future__ import annotations

from dataclasses import replace

from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from hall.clock import local_dt
from hall.config import HallConfig
from hall.config.screens import Screen

from . import texts
from .callboard import Call, View
from .theme import (AMBER, BG, FLASH_BG, FOOTER_BG, GREEN, HEADER_BG, HERO_BG, RED_SOFT, ROW_BG, SOFT,
                    STATUS_COLOURS, WHITE, hexc)
from .widgets import Panel, Ticker, txt


class WallScreen(BoxLayout):
    """The whole picture; ``show(view, now)`` is the only way it changes."""

    def __init__(self, cfg: HallConfig, screen: Screen, size: tuple[int, int], paint_background: bool = True,
                 **kw):
        """``paint_background=False`` when the window's clear colour is already BG
        (the app): one full-screen fill less per frame, ~8 ms on a software GL."""
        super().__init__(orientation="vertical", size_hint=(None, None), size=size, **kw)
        self.cfg = cfg
        self.screen = screen
        self.portrait = screen.layout == "portrait"
        self.u = u = min(size) / 1080
        self._last: View | None = None
        self._page = "calls"
        if paint_background:
            with self.canvas.before:
                Color(*BG)
                self._bg = Rectangle(pos=self.pos, size=self.size)
            self.bind(pos=lambda *_: setattr(self._bg, "pos", self.pos),
                      size=lambda *_: setattr(self._bg, "size", self.size))

        # header: hall and zone | time and date
        header = Panel(HEADER_BG, orientation="horizontal", size_hint_y=None,
                       height=(150 if self.portrait else 116) * u, padding=[36 * u, 8 * u])
        names = BoxLayout(orientation="vertical")
        self.hall_label = txt("", 52 * u, WHITE, fit="shrink")
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
        self.ticker = Ticker(42 * u, 150 * u, scroll=screen.notice_scroll)
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
        self.hero_number = txt("", (240 if portrait else 260) * u, AMBER, "center", fit="shrink")
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
        self.recent_title = txt("", 46 * u, WHITE, markup=True, size_hint_y=None, height=76 * u)
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
        self.waiting_title = txt("", 46 * u, WHITE, markup=True, size_hint_y=None, height=76 * u)
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
        self.hall_label.set(cfg.hall.name.get(self.lang))
        zones = [z for z in cfg.zones if z.id in screen.zones]
        self.zone_label.set("、".join(z.name.get(self.lang) for z in zones) + (
            f"   {' / '.join(z.name.get(self.lang2) for z in zones)}" if self.lang2 and zones else ""))
        notice = screen.notice or cfg.screens.notice
        langs = [self.lang] + ([self.lang2] if self.lang2 else [])
        self.ticker.set_pages([notice.get(lang) if notice is not None else texts.t("notice", lang)
                               for lang in langs])
        self.recent_title.set(self._title("recent"))
        self.waiting_title.set(self._title("waiting"))
        self.progress_title.set(self._title("progress_title", WHITE))
        if self.portrait:  # the matter sits under the case number: one heading says both
            heads = [f"{texts.t('case', self.lang)} / {texts.t('matter', self.lang)}",
                     texts.t("name", self.lang), texts.t("status", self.lang)]
        else:
            heads = [texts.t(key, self.lang) for key in ("case", "name", "matter", "status")]
        for lb, text in zip(self.progress_head, heads):
            lb.set(text)
        self._last = None

    def _title(self, key: str, colour=SOFT) -> str:
        # colours as markup on a white tint: a tint would multiply (dim) the
        # green total that follows the waiting title
        main = texts.t(key, self.lang)
        if self.lang2:
            main += f"  [size={int(34 * self.u)}]{texts.t(key, self.lang2)}[/size]"
        return f"[color={hexc(colour)}]{main}[/color]"

    # ------------------------------------------------------------ render --
    def show(self, view: View, now: float, hero_first: bool = False) -> bool:
        """Render ``view``; True when something was left for the next frame.

        ``hero_first``: when the newest call changed, draw only it this frame and
        the rest (earlier calls shift down, counts) on the next one: the number
        people wait for is on the screen one frame sooner."""
        local = local_dt(now, self.cfg.hall.timezone)
        clock, date = texts.clock_text(local, self.lang)
        self.clock_label.set(clock)
        self.date_label.set(date)
        self._flash(view, now)
        if view == self._last:
            return False
        last = self._last
        if (hero_first and last is not None and view.page == "calls" and self._page == "calls"
                and view.hero != last.hero):
            self._hero(view.hero)
            self._last = replace(last, hero=view.hero)
            return True
        self._last = view
        self._set_page(view.page)
        self._hero(view.hero)
        for (row, num, win), call in zip(self.recent_rows, list(view.recent) + [None] * len(self.recent_rows)):
            num.set(call.number if call else "")
            win.set(texts.t("window", self.lang, w=call.window_number) if call else "")
        self._waiting(view)
        self.offline_label.set(("●  " + texts.t(f"offline_{view.offline}", self.lang)) if view.offline else "")
        # the notice line gets the whole footer unless the offline mark needs room
        self.offline_label.width = (self._offline_w if view.offline else 0)
        if view.page == "progress":
            self._progress(view)
        return False

    def _flash(self, view: View, now: float) -> None:
        on = view.flashing and int(now * 2) % 2 == 0  # 2 Hz blink
        self.hero_panel.set_bg(FLASH_BG if on else HERO_BG)
        colour = WHITE if on else AMBER
        for lb in (self.hero_pre, self.hero_number, self.hero_post):
            if tuple(lb.tint) != colour:
                lb.tint = colour
        for lb, calm in ((self.hero_tag, AMBER), (self.hero_sub, SOFT)):  # keep contrast on red
            want = WHITE if on else calm
            if tuple(lb.tint) != want:
                lb.tint = want

    def _hero(self, call: Call | None) -> None:
        lang = self.lang
        if call is None:
            for lb in (self.hero_tag, self.hero_pre, self.hero_post):
                lb.set("")
            self.hero_number.set(texts.t("no_calls", lang))
            self.hero_window.set("")
            self.hero_sub.set(texts.t("no_calls", self.lang2) if self.lang2 else "")
            return
        amber = hexc(AMBER)
        self.hero_number.set(call.number)
        if lang == "en":
            self.hero_pre.set("No.", 80 * self.u)
            self.hero_post.set("")
            self.hero_window.set(f"Window [color={amber}]{call.window_number}[/color]")
        else:
            hao = texts.t("hao", lang)
            self.hero_pre.set(texts.t("please", lang), 120 * self.u)
            self.hero_post.set(hao)
            self.hero_window.set(f"到 [color={amber}]{call.window_number}[/color] {hao}窗口")
        tag = texts.t("recall", lang) if call.recall else ""
        if tag and self.lang2:
            tag += f"  {texts.t('recall', self.lang2)}"
        self.hero_tag.set(tag)
        self.hero_sub.set(texts.call_line(call.number, call.window_number, self.lang2) if self.lang2 else "")

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
                name.set(texts.waiting_label(self.cfg, key, by, self.lang))
                count.set(str(n))
            else:
                name.set("")
                count.set("")
        total = f"{texts.t('total', self.lang)} {view.waiting_total}"
        self.waiting_title.set(f"{self._title('waiting')}   [color={hexc(GREEN)}]{total}[/color]")

    def _set_page(self, page: str) -> None:
        if page == self._page:
            return
        self.body.clear_widgets()
        self.body.add_widget(self.progress_page if page == "progress" else self.calls_page)
        self._page = page

    def _progress(self, view: View) -> None:
        self.progress_pageno.set(texts.t("page", self.lang, i=str(view.progress_index + 1),
                                         n=str(view.progress_pages)))
        rows = list(view.progress) + [None] * len(self.progress_rows)
        for cells, case in zip(self.progress_rows, rows):
            if case is None:
                for c in cells:
                    c.set("")
                continue
            cells[0].set(case.case)
            cells[1].set(case.name)
            cells[2].set(texts.matter_label(self.cfg, case.matter, self.lang))
            cells[3].set(texts.t(case.status, self.lang))
            cells[3].tint = STATUS_COLOURS.get(case.status, WHITE)

    def texts_shown(self) -> dict[str, object]:
        """The visible text by role, for tests and the benchmark."""
        def full(lb):
            return lb.text if lb.markup else lb._full

        return {
            "page": self._page,
            "hall": full(self.hall_label), "zone": full(self.zone_label),
            "hero_number": " ".join(x for x in (full(self.hero_pre), full(self.hero_number),
                                                full(self.hero_post)) if x), "hero_window": full(self.hero_window),
            "hero_sub": full(self.hero_sub), "hero_tag": full(self.hero_tag),
            "recent": [(full(n), full(w)) for _, n, w in self.recent_rows if full(n)],
            "waiting": [(full(n), full(c)) for n, c in self.waiting_cells if full(n)],
            "offline": full(self.offline_label), "clock": full(self.clock_label),
            "notice": self.ticker.text,
            "progress": [tuple(full(c) for c in cells) for cells in self.progress_rows if full(cells[0])],
            "flash_bg": tuple(self.hero_panel._color.rgba),
        }
