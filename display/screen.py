"""The layout of a wall display: a thin renderer of :class:`~display.callboard.View`.

Where each element goes and how large its text is comes from
:mod:`display.layout` (computed from the screen's size, its diagonal and
viewing distance, and the config); this module only places widgets in those
boxes and changes their text.  Widgets are built once per config and only
their text and colours change, so a day of calls creates no widgets (memory
stays flat, see bench/display.py).
"""

from __future__ import annotations

import math
from dataclasses import replace

from kivy.graphics import Color, Rectangle
from kivy.uix.widget import Widget

from hall.clock import local_dt
from hall.config import HallConfig
from hall.config.screens import Screen

from . import texts
from .callboard import Call, View
from .layout import Box, Demands, Layout, Physical, ProgressDemands, compute, progress
from .theme import (AMBER, BG, FLASH_BG, FOOTER_BG, GREEN, GREY, HEADER_BG, HERO_BG, RED_SOFT, ROW_BG, SOFT,
                    STATUS_COLOURS, WHITE, hexc)
from .widgets import Panel, Ticker, Txt, txt

WINDOW_STATUS_COLOURS = {"open": GREEN, "paused": AMBER, "closed": GREY, "unknown": SOFT}


def demands(cfg: HallConfig, screen: Screen, lang: str, lang2: str | None) -> Demands:
    """The widest text each element of this screen must hold, in its languages."""
    zones = [z for z in cfg.zones if not screen.zones or z.id in screen.zones]
    windows = [w for w in cfg.windows if not screen.zones or w.zone in screen.zones] or list(cfg.windows)
    from .layout import font_metrics
    m = font_metrics()
    wide_win = max((w.number for w in windows), key=lambda n: m.width(n, 1), default="88")
    groups = [g for g in cfg.groups if g.prefix in _screen_groups(cfg, screen)] or list(cfg.groups)
    number = max((g.prefix + "0" * g.digits for g in groups), key=lambda n: m.width(n, 1), default="A000")
    sub = texts.t("call_short", lang2, n=number, w=wide_win) if lang2 else ""
    tag = texts.t("recall", lang) + (f"  {texts.t('recall', lang2)}" if lang2 else "")
    offline = max((f"●  {texts.t(k, lang)}" for k in ("offline_broker", "offline_engine")),
                  key=lambda t_: m.width(t_, 1))
    labels = tuple(texts.waiting_label(cfg, k, screen.waiting_by, lang) for k in waiting_keys(cfg, screen))
    return Demands(
        notice=max(notice_texts(cfg, screen, lang, lang2), key=lambda t_: m.width(t_, 1), default=""),
        hall=cfg.hall.name.get(lang),
        zone=("、" if lang.startswith("zh") else ", ").join(z.name.get(lang) for z in zones) if screen.zones else "",
        zones=tuple(z.name.get(lang) for z in zones) if screen.zones else (),
        date=texts.clock_text(_WIDE_DATE, lang)[1],
        number=number, window=texts.t("window", lang, w=wide_win), window_short=f"→ {wide_win}",
        hero_pre=texts.t("please", lang) if lang != "en" else "No.", hero_post=texts.t("hao", lang),
        hero_window=_hero_window_plain(lang, wide_win), hero_sub=sub, hero_tag=tag,
        recent_title=_plain_title("recent", lang, lang2),
        waiting_title=_plain_title("waiting", lang, lang2) + f"   {texts.t('total', lang)} 8888",
        recent_title_short=_plain_title("recent", lang, None),
        waiting_title_short=_plain_title("waiting", lang, None) + f"   {texts.t('total', lang)} 8888",
        waiting_labels=labels, offline=offline, current=screen.current, recent=screen.recent,
        windows=tuple(texts.t("window_cell", lang, w=w.number) for w in windows),
        status=max((texts.t(f"win_{k}", lang) for k in (*WINDOW_STATUS_COLOURS, "idle")),
                   key=lambda t_: m.width(t_, 1)))


def notice_texts(cfg: HallConfig, screen: Screen, lang: str, lang2: str | None) -> list[str]:
    """The notice line in each of the screen's languages."""
    notice = screen.notice or cfg.screens.notice
    return [notice.get(x) if notice is not None else texts.t("notice", x) for x in (lang, lang2) if x]


def progress_demands(cfg: HallConfig, screen: Screen, lang: str, lang2: str | None,
                     portrait: bool) -> ProgressDemands:
    """The widest text of each cell of the progress board (texts.case_cells), in ``lang``."""
    from .layout import font_metrics
    m = font_metrics()

    def widest(items) -> str:
        return max(items, key=lambda x: m.width(x, 1), default="")

    stages = [texts.t(k, lang) for k in texts.LABELS if k.startswith("stage_")]
    stages += [texts.t(k, lang) for k in ("received", "processing", "done", "ready")]
    title = texts.t("progress_title", lang) + (f"  {texts.t('progress_title', lang2)}"
                                               if lang2 and not portrait else "")
    return ProgressDemands(
        title=title, page=texts.t("page", lang, i="88", n="88"),
        cells=("2026888888",  # texts.case_cells: year and a six-digit sequence (caller/cases.py)
               "欧**娜",       # a masked two-character surname (hall/pii.py)
               widest([x.name.get(lang) for x in (*cfg.matters, *cfg.bundles)]),
               widest([x.department.get(lang) for x in cfg.matters]),
               widest(stages), texts.t("deadline", lang, d="12-28"),
               widest([texts.t("days_left", lang, n="88"), texts.t("overdue_n", lang, n="88"),
                       texts.t("overdue", lang)])),
        rows=cfg.screens.progress_rows)


def _screen_groups(cfg: HallConfig, screen: Screen) -> set[str]:
    return {m.group for m in cfg.matters if not screen.zones or m.zone in screen.zones}


def waiting_keys(cfg: HallConfig, screen: Screen) -> list[str]:
    """The waiting counts this screen can show, in config order (group prefixes or zone ids)."""
    if screen.waiting_by == "zone":
        return [z.id for z in cfg.zones if not screen.zones or z.id in screen.zones]
    groups = _screen_groups(cfg, screen) | {b.group for b in cfg.bundles
                                            if not screen.zones or b.zone in screen.zones}
    return [g.prefix for g in cfg.groups if g.prefix in groups]


def _hero_window_plain(lang: str, w: str) -> str:
    return f"Window {w}" if lang == "en" else f"到 {w} {texts.t('hao', lang)}窗口"


def _plain_title(key: str, lang: str, lang2: str | None) -> str:
    return texts.t(key, lang) + (f"  {texts.t(key, lang2)}" if lang2 else "")


import datetime as _dt  # noqa: E402
_WIDE_DATE = _dt.datetime(2026, 12, 28)  # a Monday with wide digits: the widest date line


class WallScreen(Widget):
    """The whole picture; ``show(view, now)`` is the only way it changes."""

    def __init__(self, cfg: HallConfig, screen: Screen, size: tuple[int, int], paint_background: bool = True,
                 **kw):
        """``paint_background=False`` when the window's clear colour is already BG
        (the app): one full-screen fill less per frame, ~8 ms on a software GL."""
        super().__init__(size_hint=(None, None), size=size, **kw)
        self.cfg, self.screen = cfg, screen
        self.portrait = screen.layout == "portrait"
        self.u = min(size) / 1080
        if paint_background:
            with self.canvas.before:
                Color(*BG)
                self._bg = Rectangle(pos=self.pos, size=self.size)
            self.bind(pos=lambda *_: setattr(self._bg, "pos", self.pos),
                      size=lambda *_: setattr(self._bg, "size", self.size))
        self.apply_config(cfg, screen)

    # ------------------------------------------------------------ build --
    def _build(self) -> None:
        self.clear_widgets()
        lay = self.layout
        self.texts: dict[str, Txt] = {}
        self._put(self, Panel(HEADER_BG), lay.panels["header"])
        self._put(self, Panel(FOOTER_BG), lay.panels["footer"])
        self.header_labels = [self._text(self, f"header.{i}", WHITE if i < lay.header_hall_lines else SOFT)
                              for i in range(len(lay.header_lines))]
        self.date_label = self._text(self, "date", SOFT)
        self.clock_label = self._text(self, "clock", WHITE)
        notice = lay.slots["notice"]
        self.ticker = self._put(self, Ticker(notice.size, 150 * self.u, scroll=self.screen.notice_scroll,
                                             lines=lay.notice_lines), notice.box)
        self.offline_label = self._text(self, "offline", RED_SOFT)
        # the calls page: its widgets live in a plain Widget so the progress page can replace it
        self.calls_page = Widget(size_hint=(None, None), pos=self.pos, size=self.size)
        page = self.calls_page
        self.hero_panel = Panel(HERO_BG)
        self._put(page, self.hero_panel, lay.panels["hero"])
        # the box that blinks: the new call's lines only (display/layout.py _flash_box)
        self.flash_panel = Panel(HERO_BG)
        self._put(page, self.flash_panel, lay.panels["flash"])
        self.hero_panel.cut(self.flash_panel)
        self.hero_tag = self._text(page, "hero.tag", AMBER)
        self.hero_pre = self._text(page, "hero.pre", AMBER)
        self.hero_number = self._text(page, "hero.number", AMBER)
        self.hero_post = self._text(page, "hero.post", AMBER)
        self.hero_window = self._text(page, "hero.window", WHITE, markup=True)
        self.hero_sub = self._text(page, "hero.sub", SOFT)
        self.hero_strip = self._text(page, "hero.strip", AMBER, markup=True)
        self.current_rows = [self._text(page, f"current.{i}", AMBER) for i in range(lay.current - 1)]
        self.recent_title = self._text(page, "recent.title", WHITE, markup=True)
        self.recent_rows: list[tuple[Txt, Txt]] = []
        for i in range(self.screen.recent if self.screen.style == "calls" else 0):
            self._put(page, Panel(ROW_BG[(i // max(1, lay.recent_cols)) % 2]), lay.panels[f"recent.{i}"])
            self.recent_rows.append((self._text(page, f"recent.{i}.number", WHITE),
                                     self._text(page, f"recent.{i}.window", AMBER)))
        self.waiting_title = self._text(page, "waiting.title", WHITE, markup=True)
        self.waiting_keys = waiting_keys(self.cfg, self.screen) if self.screen.style == "calls" else []
        self.waiting_cells: list[tuple[Txt, Txt]] = []
        for i in range(lay.waiting_per_page if self.waiting_keys else 0):
            self._put(page, Panel(ROW_BG[0]), lay.panels[f"waiting.{i}"])
            self.waiting_cells.append((self._text(page, f"waiting.{i}.label", WHITE),
                                       self._text(page, f"waiting.{i}.count", GREEN)))
        self.window_cells: list[tuple[Panel, Txt, Txt, Txt]] = []
        for i in range(lay.per_page if self.screen.style == "windows" else 0):
            if f"win.{i}" not in lay.panels:
                break
            panel = self._put(page, Panel(ROW_BG[0]), lay.panels[f"win.{i}"])
            self.window_cells.append((panel, self._text(page, f"win.{i}.window", WHITE),
                                      self._text(page, f"win.{i}.number", AMBER),
                                      self._text(page, f"win.{i}.status", SOFT)))
        self.add_widget(page)
        self.progress_page = self._build_progress()
        self._page = "calls"

    def _put(self, parent, widget, box: Box):
        widget.size_hint = (None, None)
        widget.pos, widget.size = (self.x + box.x, self.y + box.y), (box.w, box.h)
        parent.add_widget(widget)
        return widget

    def _text(self, parent, name: str, colour, markup: bool = False) -> Txt | None:
        slot = self.layout.slots.get(name)
        if slot is None:
            return None
        lb = txt("", slot.size, colour, slot.halign, markup=markup)
        self.texts[name] = lb
        return self._put(parent, lb, slot.box)

    def _body_box(self) -> Box:
        head, foot = self.layout.panels["header"], self.layout.panels["footer"]
        return Box(0, foot.h, self.width, head.y - foot.h)

    def _build_progress(self) -> Widget:
        """The progress board, a case in a block of lines (display/layout.py
        ``progress``): as many cases a page as the body holds at the reading
        rule's size (``progress_capacity``), at most ``screens.progress_rows``,
        then the text grown until they fill the page."""
        lay = self.progress_layout
        page = Widget(size_hint=(None, None), pos=self.pos, size=self.size)
        self.progress_capacity = lay.capacity
        title, pageno = lay.slots["progress.title"], lay.slots["progress.page"]
        self.progress_title = self._put(page, txt("", title.size, WHITE, markup=True), title.box)
        self.progress_pageno = self._put(page, txt("", pageno.size, SOFT, "right"), pageno.box)
        self.texts["progress.page"] = self.progress_pageno
        colours = {0: WHITE, 1: WHITE, 2: WHITE, 3: SOFT, 4: WHITE, 5: SOFT, 6: WHITE}
        self.progress_rows: list[tuple[Txt, ...]] = []
        self.progress_panels: list[Panel] = []
        for i in range(lay.capacity):
            self.progress_panels.append(self._put(page, Panel(ROW_BG[i % 2]), lay.panels[f"progress.{i}"]))
            cells = []
            for c in range(7):
                slot = lay.slots[f"progress.{i}.{c}"]
                lb = self._put(page, txt("", slot.size, colours[c], slot.halign), slot.box)
                self.texts[f"progress.{i}.{c}"] = lb
                cells.append(lb)
            self.progress_rows.append(tuple(cells))
        return page

    # ------------------------------------------------------------ config --
    def apply_config(self, cfg: HallConfig, screen: Screen) -> None:
        """Lay the screen out anew for ``cfg`` (names and languages change the widths)."""
        self.cfg, self.screen = cfg, screen
        langs = list(screen.languages or cfg.hall.languages)
        self.lang = langs[0]
        family = "zh" if self.lang.startswith("zh") else self.lang
        self.lang2 = next((lang for lang in langs[1:]
                           if ("zh" if lang.startswith("zh") else lang) != family), None)
        self.demands = demands(cfg, screen, self.lang, self.lang2)
        self.layout: Layout = compute((int(self.width), int(self.height)), self.demands,
                                      Physical(screen.diagonal_inches, screen.viewing_distance_m), screen.style)
        self.progress_layout = progress(self._body_box(), progress_demands(cfg, screen, self.lang, self.lang2,
                                                                           self.portrait),
                                        self.layout.min_font, self.portrait)
        self._build()
        for lb, line in zip(self.header_labels, self.layout.header_lines):
            lb.set(line)
        self.ticker.set_pages(notice_texts(cfg, screen, self.lang, self.lang2))
        for lb, key in ((self.recent_title, "recent"), (self.waiting_title, "waiting")):
            if lb is not None:
                lb.set(self._title(key))
        # portrait: the title in the first language only, beside the page number
        self.progress_title.set(self._title("progress_title", WHITE, second=not self.portrait))
        self._last = None

    def _title(self, key: str, colour=SOFT, second: bool = True) -> str:
        # colours as markup on a white tint: a tint would multiply (dim) the
        # green total that follows the waiting title
        main = texts.t(key, self.lang)
        if second and self.lang2 and not self.layout.titles_short:
            main += f"  {texts.t(key, self.lang2)}"
        return f"[color={hexc(colour)}]{main}[/color]"

    # ------------------------------------------------------------ render --
    def show(self, view: View, now: float, hero_first: bool = False) -> bool:
        """Render ``view``; True when something was left for the next frame.

        ``hero_first``: when the big call changed, draw only it this frame and
        the rest (earlier calls shift down, counts) on the next one: the number
        people wait for is on the screen one frame sooner."""
        local = local_dt(now, self.cfg.hall.timezone)
        clock, date = texts.clock_text(local, self.lang)
        self.clock_label.set(clock)
        self.date_label.set(date)
        self._flash(view, now)
        if self.window_cells:
            self._window_page(view, now)
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
        for lb, call in zip(self.current_rows, list(view.current) + [None] * len(self.current_rows)):
            lb.set(f"{call.number}  {self._window_text(call)}" if call else "")
            lb.tint = RED_SOFT if call and call.recall else AMBER  # a recall stays marked in the list
        for (num, win), call in zip(self.recent_rows, list(view.recent) + [None] * len(self.recent_rows)):
            num.set(call.number if call else "")
            win.set(self._window_text(call, self.layout.recent_compact) if call else "")
        self._waiting(view, now)
        self.offline_label.set(("●  " + texts.t(f"offline_{view.offline}", self.lang)) if view.offline else "")
        notice, mark = self.layout.slots["notice"].box, self.layout.slots["offline"].box
        if self.layout.notice_lines > 1:  # the mark takes the last line, the notice keeps its width
            self.ticker.use_lines(self.layout.notice_lines - 1 if view.offline else self.layout.notice_lines)
        else:
            self.ticker.width = (mark.x - notice.x) if view.offline else notice.w
        if view.page == "progress":
            self._progress(view)
        return False

    def _window_text(self, call: Call, compact: bool = False) -> str:
        return f"→ {call.window_number}" if compact else texts.t("window", self.lang, w=call.window_number)

    def _window_page(self, view: View, now: float) -> None:
        cells = view.windows
        per = max(1, len(self.window_cells))
        pages = max(1, -(-len(cells) // per))
        first = (int(now // self.cfg.screens.page_seconds) % pages) * per
        for (panel, win, num, status), cell in zip(self.window_cells,
                                                   list(cells[first:first + per]) + [None] * per):
            if cell is None:
                for lb in (win, num, status):
                    lb.set("")
                panel.set_bg(BG)
                continue
            panel.set_bg(ROW_BG[0])
            win.set(texts.t("window_cell", self.lang, w=cell.number))
            num.set(cell.ticket or "")
            key = "open" if cell.ticket else ("idle" if cell.status == "open" else cell.status)
            status.set(texts.t(f"win_{key}", self.lang))
            status.tint = WINDOW_STATUS_COLOURS.get(cell.status, SOFT)

    def _flash(self, view: View, now: float) -> None:
        on = view.flashing and int(now * 2) % 2 == 0  # 2 Hz blink
        self.flash_panel.set_bg(FLASH_BG if on else HERO_BG)
        colour = WHITE if on else AMBER
        for lb in (self.hero_pre, self.hero_number, self.hero_post, self.hero_strip):
            if lb is not None and tuple(lb.tint) != colour:
                lb.tint = colour
        for lb, calm in ((self.hero_tag, AMBER), (self.hero_sub, SOFT)):  # keep contrast on red
            want = WHITE if on else calm
            if lb is not None and tuple(lb.tint) != want:
                lb.tint = want

    def _hero(self, call: Call | None) -> None:
        lang, lang2 = self.lang, self.lang2
        amber = hexc(AMBER)
        if self.hero_strip is not None:  # window-grid style: the newest call on one line
            self.hero_strip.set(texts.t("no_calls", lang) if call is None else self._strip_text(call))
            return
        if call is None:
            for lb in (self.hero_tag, self.hero_pre, self.hero_number, self.hero_post):
                lb.set("")
            self.hero_window.set(texts.t("no_calls", lang))
            _set(self.hero_sub, texts.t("no_calls", lang2) if lang2 else "")
            return
        self.hero_number.set(call.number)
        if lang == "en":
            self.hero_pre.set("No.")
            self.hero_post.set("")
            self.hero_window.set(f"Window [color={amber}]{call.window_number}[/color]")
        else:
            hao = texts.t("hao", lang)
            self.hero_pre.set(texts.t("please", lang))
            self.hero_post.set(hao)
            self.hero_window.set(f"到 [color={amber}]{call.window_number}[/color] {hao}窗口")
        tag = texts.t("recall", lang) if call.recall else ""
        if tag and lang2:
            tag += f"  {texts.t('recall', lang2)}"
        self.hero_tag.set(tag)
        _set(self.hero_sub, texts.t("call_short", lang2, n=call.number, w=call.window_number) if lang2 else "")

    def _strip_text(self, call: Call) -> str:
        """The window grid's one-line call: the whole sentence when it fits the
        strip, else the short form ("No. A023 → Window 5": the English sentence
        is twice as wide as the Chinese one on a portrait screen)."""
        from .widgets import extent
        strip = self.hero_strip
        tag = f"  {texts.t('recall', self.lang)}" if call.recall else ""
        room, size = strip.width - 2, self.layout.slots["hero.strip"].size
        plain = texts.call_line(call.number, call.window_number, self.lang)
        if extent(plain + tag, size) > room:
            plain = texts.t("call_short", self.lang, n=call.number, w=call.window_number)
            wide = extent(plain + tag, size)
            if wide > room:  # smaller, down to the reading rule's minimum
                size = max(self.layout.min_font, math.floor(size * room / wide))
        if strip.font_size != size:
            strip.font_size = size
        return plain + (f"  [color={hexc(RED_SOFT)}]{tag.strip()}[/color]" if tag else "")

    def _waiting(self, view: View, now: float) -> None:
        """Every waiting count of the screen's zones; when the layout holds fewer
        than there are, they take turns a page at a time (``page_seconds``)."""
        if self.waiting_title is None:
            return
        seen = dict(view.waiting)
        by = self.screen.waiting_by
        per = max(1, len(self.waiting_cells))
        pages = max(1, -(-len(self.waiting_keys) // per))
        first = (int(now // self.cfg.screens.page_seconds) % pages) * per
        keys = self.waiting_keys[first:first + per]
        for (name, count), key in zip(self.waiting_cells, keys + [None] * per):
            name.set(texts.waiting_label(self.cfg, key, by, self.lang) if key else "")
            count.set(str(seen.get(key, 0)) if key else "")
        total = f"{texts.t('total', self.lang)} {view.waiting_total}"
        self.waiting_title.set(f"{self._title('waiting')}   [color={hexc(GREEN)}]{total}[/color]")

    def _set_page(self, page: str) -> None:
        if page == self._page:
            return
        self.remove_widget(self.calls_page if page == "progress" else self.progress_page)
        self.add_widget(self.progress_page if page == "progress" else self.calls_page)
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
            for c, text in zip(cells, texts.case_cells(self.cfg, case, self.lang)):
                c.set(text)
            # overdue cases marked red; otherwise the stage in the colour of its status
            cells[4].tint = RED_SOFT if case.overdue else STATUS_COLOURS.get(case.status, WHITE)
            cells[6].tint = RED_SOFT if case.overdue else WHITE

    def problems(self) -> list[str]:
        """Every text that is cut, or drawn wider or taller than its box, or a box
        outside the screen: empty on a correct screen (tests check it)."""
        out = []
        screen = Box(self.x, self.y, self.width, self.height)
        for name, lb in self.texts.items():
            box = Box(lb.x, lb.y, lb.width, lb.height)
            if not box.inside(screen):
                out.append(f"{name}: box {box} outside the screen")
            if lb.markup:  # not fitted by the widget: it must fit by itself
                if lb.text and lb.texture_size[0] > lb.width - 2 * lb.pad + 1:
                    out.append(f"{name}: {lb.text!r} ({lb.texture_size[0]:.0f} px) wider than its box "
                               f"({lb.width:.0f} px)")
                continue
            if not lb._full:
                continue
            if lb.text != lb._full:
                out.append(f"{name}: {lb._full!r} cut to {lb.text!r}")
            if lb.font_size < self.layout.min_font - 0.5:
                out.append(f"{name}: {lb.font_size:.0f} px under the {self.layout.min_font:.0f} px minimum")
        # the notice is drawn inside a clip (a StencilView): its glyphs' ink must be
        # inside it, descenders too (Noto Sans CJK: ink from -0.25 em (g, y) to
        # 0.88 em (Han) about the baseline, which lies 0.288 em above the bottom of
        # a 1.448 em texture)
        tk = self.ticker
        clip = Box(tk.x, tk.y, tk.width, tk.height)
        for i, row in enumerate(tk.rows):
            if not row.text or tk.scrolling:
                continue
            size = row.font_size
            base = row.center_y - row.texture_size[1] / 2 + 0.288 * size
            ink = Box(row.x, base - 0.25 * size, min(row.texture_size[0], row.width), 1.13 * size)
            if not ink.inside(clip):
                out.append(f"notice line {i}: {row.text!r} clipped (ink {ink}, strip {clip})")
            if row.text != row._full or size < self.layout.min_font - 0.5:
                out.append(f"notice line {i}: {row._full!r} shown as {row.text!r} at {size:.0f} px")
        return out

    def texts_shown(self) -> dict[str, object]:
        """The visible text by role, for tests and the benchmark."""
        def full(lb):
            return lb.text if lb.markup else lb._full

        return {
            "page": self._page,
            "hall": self.demands.hall, "zone": self.demands.zone,
            "header": [full(lb) for lb in self.header_labels],
            "hero_number": " ".join(full(x) for x in (self.hero_pre, self.hero_number, self.hero_post)
                                    if x is not None and full(x)),
            "hero_window": full(self.hero_window) if self.hero_window else "",
            "hero_sub": full(self.hero_sub) if self.hero_sub else "",
            "hero_tag": full(self.hero_tag) if self.hero_tag else "",
            "hero_strip": full(self.hero_strip) if self.hero_strip else "",
            "recent": [(full(n), full(w)) for n, w in self.recent_rows if full(n)],
            "current": [full(lb) for lb in self.current_rows if full(lb)],
            "waiting": [(full(n), full(c)) for n, c in self.waiting_cells if full(n) and full(c) != "0"],
            "windows": [tuple(full(x) for x in cell[1:]) for cell in self.window_cells if full(cell[1])],
            "offline": full(self.offline_label), "clock": full(self.clock_label),
            "notice": self.ticker.text,
            "progress": [tuple(full(c) for c in cells) for cells in self.progress_rows if full(cells[0])],
            "flash_bg": tuple(self.flash_panel._color.rgba),
        }


def _set(lb: Txt | None, text: str) -> None:
    if lb is not None:
        lb.set(text)
