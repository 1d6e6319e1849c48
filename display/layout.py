"""Where every element of a wall screen goes, computed from the screen and the config (pure).

No Kivy: text widths come from the font's own advance widths (fontTools), so
the layout is tested over every combination of zones and recent calls without
rendering, and the renderer (display/screen.py) only places widgets in the
boxes it is given.

The reading rule (docs/display.md): the cap height of every element is at
least ``CAP_MM_PER_M`` millimetres per metre of viewing distance — 5 mm/m,
25 mm at 5 m — and the newest number at least twice that.  Pixels per mm come
from the screen's diagonal; font size from the face's cap height (Noto Sans
CJK: 0.733 em).  A box is as tall as a Han character's ink plus a margin
(``LINE_EM``), so no glyph is clipped, and as wide as the widest text it must hold
(the widest ticket number of the hall's groups, the longest zone name…).

A screen whose content cannot fit at that size is refused with a reason
(:class:`LayoutError`) instead of drawing text that overflows or is cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

CAP_MM_PER_M = 5.0       # every element: cap height per metre of viewing distance
HERO_FACTOR = 2.0        # the newest number: at least this many times the minimum
# A line is 1.2 em: a Han character's ink is 1 em (ideographic box, -0.12…0.88),
# with 0.1 em above and below.  Kivy's texture is taller (ascender + descender,
# 1.448 em for Noto CJK) but transparent outside the ink, and is centred on the box.
LINE_EM = 1.2


class LayoutError(ValueError):
    pass


@dataclass(frozen=True)
class Box:
    """x, y of the lower-left corner (Kivy's convention), width, height; pixels."""

    x: float
    y: float
    w: float
    h: float

    def inside(self, other: "Box", eps: float = 0.5) -> bool:
        return (self.x >= other.x - eps and self.y >= other.y - eps
                and self.x + self.w <= other.x + other.w + eps and self.y + self.h <= other.y + other.h + eps)

    def overlaps(self, other: "Box", eps: float = 0.5) -> bool:
        return (self.x + eps < other.x + other.w and other.x + eps < self.x + self.w
                and self.y + eps < other.y + other.h and other.y + eps < self.y + self.h)


@dataclass(frozen=True)
class Slot:
    """One line of text: its box, font size (px), alignment, and the widest text it must hold."""

    box: Box
    size: float
    halign: str = "left"
    sample: str = ""


@dataclass(frozen=True)
class Metrics:
    """Advance widths of the face, in em, and its vertical extent."""

    advances: dict[int, float]
    cap: float           # cap height, em
    line: float          # the height of a line of text, em
    fallback: float = 1.0

    def width(self, text: str, size: float) -> float:
        # + up to a pixel per glyph: the renderer (SDL_ttf, FreeType hinting)
        # rounds each advance to whole pixels
        if not text:
            return 0.0
        return size * sum(self.advances.get(ord(c), self.fallback) for c in text) + len(text) + 2


@lru_cache(maxsize=1)
def font_metrics() -> Metrics:
    from fontTools.ttLib import TTFont

    from hall.fonts import cjk_font

    f = TTFont(str(cjk_font("Regular")), lazy=True)
    upm = f["head"].unitsPerEm
    hmtx = f["hmtx"]
    adv = {cp: hmtx[name][0] / upm for cp, name in f.getBestCmap().items() if cp < 0x10000}
    m = Metrics(adv, f["OS/2"].sCapHeight / upm, LINE_EM)
    f.close()
    return m


@dataclass(frozen=True)
class Physical:
    diagonal_in: float = 55.0
    distance_m: float = 5.0

    def mm_per_px(self, size: tuple[int, int]) -> float:
        w, h = size
        return self.diagonal_in * 25.4 / math.hypot(w, h)

    def min_font(self, size: tuple[int, int], m: Metrics) -> float:
        """The smallest font size (px) whose cap height meets the reading rule."""
        return CAP_MM_PER_M * self.distance_m / (m.cap * self.mm_per_px(size))


@dataclass(frozen=True)
class Demands:
    """The widest text of each element, and how many of each list there are."""

    hall: str
    zone: str                      # the screen's zone names, first language ("" on a hall-wide screen)
    date: str
    number: str                    # widest ticket number of the hall's groups
    window: str                    # widest "12号窗口" of the screen's windows
    window_short: str              # the same in a dense list: "→ 12"
    hero_pre: str
    hero_post: str
    hero_window: str               # "到 52 号窗口"
    hero_sub: str                  # the other language's line ("" when none)
    hero_tag: str                  # the recall tag, both languages
    recent_title: str
    waiting_title: str
    waiting_labels: tuple[str, ...]
    offline: str
    recent_title_short: str = ""   # first language only, for a dense screen
    waiting_title_short: str = ""
    current: int = 3               # calls shown large at once (the newest and the ones before it)
    recent: int = 6
    count: str = "888"
    clock: str = "88:88"
    windows: tuple[str, ...] = ()  # window-grid style: the windows' "12号" labels
    status: str = "办理中"
    notice: str = ""               # the notice line's longest text (of the screen's languages)
    zones: tuple[str, ...] = ()    # the zone names one by one (a header line breaks between them)


@dataclass
class Layout:
    width: int
    height: int
    min_font: float
    style: str
    slots: dict[str, Slot] = field(default_factory=dict)
    panels: dict[str, Box] = field(default_factory=dict)
    recent_cols: int = 0
    recent_compact: bool = False   # recent calls show "→ 12" instead of "12号窗口"
    current: int = 1               # calls shown large (the newest and the ones under it)
    hero_sub: bool = False         # the second language's line under the newest call
    titles_short: bool = False     # list titles in the first language only
    waiting_per_page: int = 0      # waiting counts shown at once (fewer than the zones: they take turns)
    waiting_cols: int = 0
    per_page: int = 0              # window-grid style: windows per page
    header_lines: tuple[str, ...] = ()  # hall and zone names as laid out in the header
    header_hall_lines: int = 1     # how many of them hold the hall's name
    notice_lines: int = 1          # lines of the notice a page (two on a narrow screen it does not fit)

    @property
    def screen(self) -> Box:
        return Box(0, 0, self.width, self.height)


class _Rows:
    """Stacks rows downwards from the top of a box."""

    def __init__(self, box: Box):
        self.box, self.top = box, box.y + box.h

    def take(self, h: float) -> Box:
        self.top -= h
        return Box(self.box.x, self.top, self.box.w, h)

    @property
    def left(self) -> float:
        return self.top - self.box.y


def compute(size: tuple[int, int], d: Demands, phys: Physical = Physical(), style: str = "calls",
            m: Metrics | None = None) -> Layout:
    m = m or font_metrics()
    W, H = size
    f = math.ceil(phys.min_font(size, m))
    lay = Layout(W, H, f, style)
    row = lambda s: math.ceil(s * m.line)  # noqa: E731  (a line of text at size s)
    gap = round(f * 0.15)
    pad = round(f * 0.4)

    # header: hall and zone names left, date and clock right; on one line when
    # they fit, else the clock on the first line and the date under it, and the
    # names flowing round them (display/layout.py ``header_flow``)
    fc = round(f * 1.2)
    clock_w = m.width(d.clock, fc) + pad
    date_w = m.width(d.date, f) + pad
    one = (d.hall + ("  " + d.zone if d.zone else ""))
    if m.width(one, f) <= W - 2 * pad - clock_w - date_w:
        lines, lay.header_hall_lines = [one], 1
    else:
        lines, lay.header_hall_lines = header_flow(d, [W - 2 * pad - clock_w, W - 2 * pad - date_w, W - 2 * pad],
                                                   f, m)
        if len(lines) == 1:
            lines.append("")  # the date goes under the clock
    lay.header_lines = tuple(lines)
    first_h = max(row(fc), row(f))
    hh = first_h + (len(lines) - 1) * row(f) + 2 * gap
    header = Box(0, H - hh, W, hh)
    lay.panels["header"] = header
    y = H - gap - first_h
    ys = []
    for i, text in enumerate(lines):
        h = first_h if i == 0 else row(f)
        if i:
            y -= h
        ys.append((y, h))
        right = (clock_w + date_w if len(lines) == 1 else clock_w) if i == 0 else (date_w if i == 1 else 0)
        lay.slots[f"header.{i}"] = Slot(Box(pad, y, W - 2 * pad - right, h), f, "left", text)
    date_y, date_h = ys[0] if len(lines) == 1 else ys[1]
    date_x = W - pad - clock_w - date_w if len(lines) == 1 else W - pad - date_w
    lay.slots["date"] = Slot(Box(date_x, date_y, date_w, date_h), f, "right", d.date)
    lay.slots["clock"] = Slot(Box(W - pad - clock_w, H - gap - first_h, clock_w, first_h), fc, "right", d.clock)

    # footer: the notice (paged to fit, display/widgets.py) and the offline mark.
    # A portrait screen has height to spare and a narrow line: a notice wider
    # than the line gets two, so that a sentence is read whole.
    lay.notice_lines = 2 if H > W and m.width(d.notice, f) > (W - 2 * pad) * 0.96 else 1
    fh = lay.notice_lines * row(f) + 2 * gap
    lay.panels["footer"] = Box(0, 0, W, fh)
    off_w = m.width(d.offline, f) + pad
    # the notice has the whole line while online (the renderer narrows it when the
    # mark shows); its clip is the whole footer: a line's texture (ascender to
    # descender, 1.45 em) is taller than the line, and Latin descenders reach under it
    lay.slots["notice"] = Slot(Box(pad, 0, W - 2 * pad, fh), f, "left")
    lay.slots["offline"] = Slot(Box(W - pad - off_w, gap, off_w, row(f)), f, "right", d.offline)

    body = Box(pad, fh + pad, W - 2 * pad, H - hh - fh - 2 * pad)
    if style == "windows":
        _windows(lay, body, d, m, f, row, gap, pad)
    else:
        _calls(lay, body, d, m, f, row, gap, pad, portrait=H > W)
    return lay


HEADER_LINES = 3  # at most; what is left after them is cut with "…"


def header_flow(d: Demands, widths: list[float], size: float, m: Metrics) -> tuple[list[str], int]:
    """The hall's name, then the zones' names on lines of their own, in lines no
    wider than ``widths`` (line i: ``widths[i]``, the last for the rest): at
    most ``HEADER_LINES``, the last cut with "…" when they do not fit.  A
    zone's name is never broken inside when it fits a line by itself (no
    lone 区 under 投资项目); a Latin name only between words.  Returns the
    lines and how many of them hold the hall's name."""
    hall = flow([(d.hall, "")], widths, size, m)
    zones = list(d.zones) or ([d.zone] if d.zone else [])
    han = any("\u4e00" <= c <= "\u9fff" for c in "".join(zones))
    sep = "、" if han else ","
    # the separator stays with the name before it: a line may end with it, never start
    tokens = [(z + (sep if i < len(zones) - 1 else ""), "" if han or i == 0 else " ") for i, z in enumerate(zones)]
    zone = flow(tokens, widths[len(hall):] or widths[-1:], size, m) if zones else []
    every = hall + zone
    lines = every[:HEADER_LINES]
    for i, text in enumerate(lines):
        width = widths[min(i, len(widths) - 1)]
        more = i == len(lines) - 1 and len(every) > len(lines)  # lines left out after this one
        if more and m.width(text + " …", size) <= width:
            lines[i] = text + ("…" if han else " …")  # "…, Investment Projects, …": more zones
        elif more or m.width(text, size) > width:
            while text and m.width(text + "…", size) > width:
                text = text[:-1]
            lines[i] = text.rstrip(" ,、") + "…"
    return lines, min(len(hall), len(lines))


def flow(tokens: list[tuple[str, str]], widths: list[float], size: float, m: Metrics) -> list[str]:
    """Tokens (text, what joins it to the one before on a line) in lines no wider
    than ``widths[i]`` (the last width for the rest).  A token wider than a
    line by itself is broken between its words, or its characters (Han)."""
    lines: list[str] = []
    cur = ""
    queue = list(tokens)
    while queue:
        text, join = queue.pop(0)
        width = widths[min(len(lines), len(widths) - 1)]
        cand = f"{cur}{join}{text}" if cur else text
        if m.width(cand, size) <= width:
            cur = cand
            continue
        if cur:
            lines.append(cur)
            cur = ""
            queue.insert(0, (text, join))
            continue
        parts = text.split(" ") if " " in text else list(text)
        if len(parts) == 1:
            cur = text  # one glyph wider than a line: header_flow cuts it
            continue
        queue[:0] = [(p, " " if " " in text and i else "") for i, p in enumerate(parts)]
    if cur:
        lines.append(cur)
    return lines


def _grid(n: int, cell_w: float, width: float, gap: float) -> tuple[int, int]:
    cols = max(0, int((width + gap) // (cell_w + gap)))
    return cols, (math.ceil(n / cols) if cols else 0)


@dataclass(frozen=True)
class _Hero:
    """How the newest calls are set: number and window on one line or two, and
    the size of the other current calls under it."""

    fh: float
    one_line: bool
    fc: float

    def sizes(self, f: float) -> tuple[float, float, float]:
        """(tag, pre/post and window line, subtitle) sizes."""
        return max(f, math.floor(self.fh * 0.3)), max(f, math.floor(self.fh * 0.45)), f

    def need(self, d: Demands, f: float, m: Metrics, row) -> tuple[float, float]:
        tag, side, sub = self.sizes(f)
        number = m.width(d.hero_pre + " ", side) + m.width(d.number, self.fh) + m.width(" " + d.hero_post, side)
        window = m.width(d.hero_window, side)
        h = row(tag) + row(self.fh) + (0 if self.one_line else row(side)) + (row(sub) if d.hero_sub else 0)
        h += (d.current - 1) * row(self.fc)
        w = max(number + m.width("  ", side) + window if self.one_line else max(number, window),
                m.width(d.hero_sub, sub), m.width(d.hero_tag, tag),
                m.width(d.number + "  " + d.window, self.fc) if d.current > 1 else 0)
        return w, h


def _fit_hero(box_w: float, box_h: float, d: Demands, f: float, m: Metrics, row) -> _Hero | None:
    """The largest newest number (px) that fits the box, trying the roomy
    arrangement first; None when not even the minimum fits."""
    best: _Hero | None = None
    for one_line in (False, True):
        for fc_k in (1.25, 1.0):
            def make(fh: float) -> _Hero:
                return _Hero(fh, one_line, math.floor(max(f * fc_k, fh * 0.4)) if fc_k > 1 else f)

            def ok(fh: float) -> bool:
                w, h = make(fh).need(d, f, m, row)
                return w <= box_w and h <= box_h
            lo, hi = f * HERO_FACTOR, max(f * HERO_FACTOR, box_h)
            if not ok(lo):
                continue
            for _ in range(20):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if ok(mid) else (lo, mid)
            cand = make(math.floor(lo))
            if best is None or cand.fh > best.fh * 1.15:  # a clearly bigger number beats the roomier set
                best = cand
    return best


def _calls(lay: Layout, body: Box, d: Demands, m: Metrics, f: float, row, gap: float, pad: float,
           portrait: bool) -> None:
    """Everything at full size if it fits; else, in this order, recent calls as
    "→ 12", fewer calls under the newest, no second-language subtitle, and at
    last the waiting counts in pages that take turns (long English zone names).
    Never smaller text."""
    from dataclasses import replace

    n = len(d.waiting_labels)
    for pages in range(1, 4):
        per_page = math.ceil(n / pages) if n else 0
        if pages > 1 and per_page == math.ceil(n / (pages - 1)):
            continue
        # the widest labels make the cells: a page may hold any of them
        labels = tuple(sorted(d.waiting_labels, key=lambda x: -m.width(x, f))[:per_page])
        for current in range(d.current, 0, -1):
            for sub in ((d.hero_sub, "") if d.hero_sub else ("",)):
                dd = replace(d, current=current, hero_sub=sub, waiting_labels=labels)
                if not sub and d.recent_title_short:  # one language throughout
                    dd = replace(dd, recent_title=d.recent_title_short, waiting_title=d.waiting_title_short)
                if _calls_try(lay, body, dd, m, f, row, gap, pad, portrait):
                    lay.titles_short = dd.recent_title != d.recent_title
                    lay.waiting_per_page = per_page
                    return
    raise LayoutError(f"{d.recent} recent calls and {len(d.waiting_labels)} waiting counts do not fit "
                      f"{lay.width}×{lay.height} at {f} px (cap height {CAP_MM_PER_M:g} mm per metre "
                      f"of viewing distance)")


def _calls_try(lay: Layout, body: Box, d: Demands, m: Metrics, f: float, row, gap: float, pad: float,
               portrait: bool) -> bool:
    rh = row(f) + gap
    inner = 2 * round(f * 0.3)
    label = max((m.width(x, f) for x in d.waiting_labels), default=0)
    wait_cell = inner + label + f * 0.3 + m.width(d.count, f)
    n_wait = len(d.waiting_labels)
    windows = {True: d.window_short, False: d.window}

    def sections(width: float, compact: bool) -> tuple[float, float, int, int] | None:
        rin = inner / 2 if compact else inner  # a dense list: tighter cell padding too
        rc, rr = _grid(d.recent, rin + m.width(d.number, f) + f * 0.4 + m.width(windows[compact], f),
                       width, gap)
        wc, wr = _grid(n_wait, wait_cell, width, gap)
        if (d.recent and not rc) or (n_wait and not wc):
            return None
        if (d.recent and m.width(d.recent_title, f) > width) or (n_wait and m.width(d.waiting_title, f) > width):
            return None
        return (rh + rr * rh) if d.recent else 0, (rh + wr * rh) if n_wait else 0, rc, wc

    best = None
    shares = (0.62, 0.56, 0.5, 0.44, 0.38, 0.32)
    plans = [("stack", 1.0)] if portrait else \
        [("side", r) for r in shares] + [("band", r) for r in shares] + [("stack", 1.0)]
    for compact in (False, True):
        for kind, share in plans:
            hero_w = body.w if kind == "stack" else body.w * share - pad / 2
            side_w = body.w if kind == "stack" else body.w - hero_w - pad
            if kind == "band":
                top, band = sections(side_w, compact), sections(body.w, compact)
                if top is None or band is None:
                    continue
                rec_h, rc, (_, wait_h, _, wc) = top[0], top[2], band
                upper = body.h - wait_h - (pad if wait_h else 0)
                if rec_h > upper:
                    continue
                hero_h = upper
            else:
                sec = sections(side_w, compact)
                if sec is None:
                    continue
                rec_h, wait_h, rc, wc = sec
                side_need = rec_h + wait_h + (pad if rec_h and wait_h else 0)
                if kind == "side" and side_need > body.h:
                    continue
                hero_h = body.h - side_need - pad if kind == "stack" else body.h
            hero = _fit_hero(hero_w - 2 * pad, hero_h - 2 * gap, d, f, m, row)
            if hero and (best is None or hero.fh > best[0].fh):
                best = (hero, kind, hero_w, side_w, hero_h, rc, wc, rec_h, wait_h, compact)
        if best is not None:
            break  # the full window text whenever it fits at all
    if best is None:
        return False
    lay.current, lay.hero_sub = d.current, bool(d.hero_sub)
    hero_set, kind, hero_w, side_w, hero_h, rc, wc, rec_h, wait_h, compact = best
    lay.recent_cols, lay.waiting_cols, lay.recent_compact = rc, wc, compact
    top = body.y + body.h
    if kind == "stack":
        hero = Box(body.x, top - hero_h, body.w, hero_h)
        rec_box = Box(body.x, hero.y - pad - rec_h, body.w, rec_h)
        wait_box = Box(body.x, rec_box.y - (pad if rec_h else 0) - wait_h, body.w, wait_h)
    elif kind == "side":
        hero = Box(body.x, body.y, hero_w, body.h)
        rec_box = Box(body.x + hero_w + pad, top - rec_h, side_w, rec_h)
        wait_box = Box(rec_box.x, rec_box.y - (pad if rec_h else 0) - wait_h, side_w, wait_h)
    else:  # band
        wait_box = Box(body.x, body.y, body.w, wait_h)
        hero = Box(body.x, wait_box.y + wait_h + (pad if wait_h else 0), hero_w, hero_h)
        rec_box = Box(body.x + hero_w + pad, top - rec_h, side_w, rec_h)
    lay.panels["hero"] = hero
    _hero_slots(lay, hero, d, hero_set, f, m, row, gap, pad)
    win_text = windows[compact]
    ww = m.width(win_text, f) + 1
    rin = inner / 2 if compact else inner
    _list(lay, "recent", rec_box, d.recent, rc, rh, gap, f, d.recent_title,
          lambda cell, i: {"number": Slot(Box(cell.x + rin / 2, cell.y, m.width(d.number, f) + 1, cell.h - gap),
                                          f, "left", d.number),
                           "window": Slot(Box(cell.x + cell.w - rin / 2 - ww, cell.y, ww, cell.h - gap),
                                          f, "right", win_text)})
    cw = m.width(d.count, f) + 1
    _list(lay, "waiting", wait_box, n_wait, wc, rh, gap, f, d.waiting_title,
          lambda cell, i: {"label": Slot(Box(cell.x + inner / 2, cell.y, cell.w - inner - cw - f * 0.3, cell.h - gap),
                                         f, "left", d.waiting_labels[i]),
                           "count": Slot(Box(cell.x + cell.w - inner / 2 - cw, cell.y, cw, cell.h - gap),
                                         f, "right", d.count)})
    return True


def _hero_slots(lay: Layout, hero: Box, d: Demands, hs: _Hero, f: float, m: Metrics, row, gap: float,
                pad: float) -> None:
    rows = _Rows(Box(hero.x + pad, hero.y + gap, hero.w - 2 * pad, hero.h - 2 * gap))
    tag, side, sub = hs.sizes(f)
    _, used = hs.need(d, f, m, row)
    rows.take(max(0.0, (rows.left - used) / 2))  # centre the block vertically
    lay.slots["hero.tag"] = Slot(rows.take(row(tag)), round(tag), "center", d.hero_tag)
    line = rows.take(row(hs.fh))
    pre_w = m.width(d.hero_pre + " ", side)
    num_w = m.width(d.number, hs.fh)
    post_w = m.width(" " + d.hero_post, side)
    win_w = m.width(d.hero_window, side) if hs.one_line else 0
    spacer = m.width("  ", side) if hs.one_line else 0
    x = line.x + (line.w - pre_w - num_w - post_w - spacer - win_w) / 2
    lay.slots["hero.pre"] = Slot(Box(x, line.y, pre_w + 1, line.h), round(side), "right", d.hero_pre)
    lay.slots["hero.number"] = Slot(Box(x + pre_w, line.y, num_w + 1, line.h), round(hs.fh), "center", d.number)
    lay.slots["hero.post"] = Slot(Box(x + pre_w + num_w, line.y, post_w + 1, line.h), round(side), "left",
                                  d.hero_post)
    if hs.one_line:
        lay.slots["hero.window"] = Slot(Box(x + pre_w + num_w + post_w + spacer, line.y, win_w + 1, line.h),
                                        round(side), "left", d.hero_window)
    else:
        lay.slots["hero.window"] = Slot(rows.take(row(side)), round(side), "center", d.hero_window)
    if d.hero_sub:
        lay.slots["hero.sub"] = Slot(rows.take(row(sub)), round(sub), "center", d.hero_sub)
    for i in range(d.current - 1):
        lay.slots[f"current.{i}"] = Slot(rows.take(row(hs.fc)), round(hs.fc), "center",
                                         d.number + "  " + d.window)
    lay.panels["flash"] = _flash_box(lay, hero, ("hero.tag", "hero.pre", "hero.number", "hero.post",
                                                 "hero.window", "hero.sub"), m, pad)


def _flash_box(lay: Layout, hero: Box, names: tuple[str, ...], m: Metrics, pad: float) -> Box:
    """The box that blinks when a call is new: the call's own lines (recall tag,
    number, window, the other language) with a margin, as wide as the widest
    of them can be and as tall as their rendered text (a texture is 1.45 em,
    taller than its 1.2 em line), inside the panel.  Only it changes at 2 Hz,
    so a blink frame redraws it and not the calls under it (display/redraw.py)."""
    slots = [lay.slots[n] for n in names if n in lay.slots]
    # (1.448 − 1.2) / 2 em over and under each line, and a pixel
    bottom = max(hero.y, min(s.box.y - s.size * 0.13 for s in slots))
    if "current.0" in lay.slots:  # never over the calls under it (a number's overhang is blank)
        cur = lay.slots["current.0"].box
        bottom = max(bottom, cur.y + cur.h)
    top = min(hero.y + hero.h, max(s.box.y + s.box.h + s.size * 0.13 for s in slots))
    # centred lines: the widest text each may hold, centred in its slot
    left = min(s.box.x + (s.box.w - min(s.box.w, m.width(s.sample, s.size))) / 2 if s.halign == "center"
               else s.box.x for s in slots)
    right = max(s.box.x + (s.box.w + min(s.box.w, m.width(s.sample, s.size))) / 2 if s.halign == "center"
                else s.box.x + s.box.w for s in slots)
    left, right = max(hero.x, left - pad), min(hero.x + hero.w, right + pad)
    return Box(left, bottom, right - left, top - bottom)


def _list(lay: Layout, name: str, box: Box, n: int, cols: int, rh: float, gap: float, f: float, title: str,
          cell_slots) -> None:
    if not n:
        return
    rows = _Rows(box)
    lay.slots[f"{name}.title"] = Slot(rows.take(rh), round(f), "left", title)
    cw = (box.w - (cols - 1) * gap) / cols
    top = rows.top
    for i in range(n):
        r, c = divmod(i, cols)
        cell = Box(box.x + c * (cw + gap), top - (r + 1) * rh, cw, rh)
        lay.panels[f"{name}.{i}"] = Box(cell.x, cell.y, cell.w, cell.h - gap)
        for key, slot in cell_slots(cell, i).items():
            lay.slots[f"{name}.{i}.{key}"] = slot


def _windows(lay: Layout, body: Box, d: Demands, m: Metrics, f: float, row, gap: float, pad: float) -> None:
    """A strip with the newest call, then a grid of every window: number, current ticket, status."""
    rh = row(f) + gap
    fs = round(f * 1.4)
    strip = Box(body.x, body.y + body.h - row(fs) - 2 * gap, body.w, row(fs) + 2 * gap)
    lay.panels["hero"] = strip
    lay.slots["hero.strip"] = Slot(Box(strip.x + pad, strip.y + gap, strip.w - 2 * pad, row(fs)), fs, "center",
                                   f"{d.hero_pre} {d.number} {d.hero_post} {d.hero_window}")
    lay.panels["flash"] = strip  # the strip is the call: it blinks whole
    inner = 2 * round(f * 0.3)
    win_w = max((m.width(w, f) for w in d.windows), default=m.width("88号", f)) + 1
    num_w = m.width(d.number, f) + 1
    st_w = m.width(d.status, f) + 1
    cell_w = inner + win_w + num_w + st_w + 2 * f * 0.6
    grid = Box(body.x, body.y, body.w, strip.y - pad - body.y)
    cols = max(0, int((grid.w + gap) // (cell_w + gap)))
    rows_fit = int(grid.h // rh)
    if cols < 1 or rows_fit < 1:
        raise LayoutError(f"a window cell does not fit {lay.width}×{lay.height} at {f} px")
    lay.per_page = cols * rows_fit
    cw = (grid.w - (cols - 1) * gap) / cols
    for i in range(min(len(d.windows), lay.per_page)):
        r, c = divmod(i, cols)
        cell = Box(grid.x + c * (cw + gap), grid.y + grid.h - (r + 1) * rh, cw, rh - gap)
        lay.panels[f"win.{i}"] = cell
        x = cell.x + inner / 2
        lay.slots[f"win.{i}.window"] = Slot(Box(x, cell.y, win_w, cell.h), f, "left", d.windows[i])
        lay.slots[f"win.{i}.number"] = Slot(Box(x + win_w + f * 0.6, cell.y, num_w, cell.h), f, "left", d.number)
        lay.slots[f"win.{i}.status"] = Slot(Box(cell.x + cell.w - inner / 2 - st_w, cell.y, st_w, cell.h), f,
                                            "right", d.status)
    lay.waiting_cols = cols


# ------------------------------------------------------------------ the progress board --

# A case is a block of lines (cells as texts.case_cells: 0 number, 1 masked name,
# 2 matter, 3 department, 4 stage, 5 deadline, 6 working days left).  In each
# line one cell (the second of the pair) takes the room the others leave; the
# cells before it are left-aligned, the ones after it right-aligned.  The first
# line — the number a citizen looks for and the stage — is the largest.
PROGRESS_LINES: dict[bool, tuple[tuple[tuple[int, ...], int], ...]] = {
    False: (((0, 1, 4), 1), ((2, 5), 2), ((3, 6), 3)),                 # landscape: three lines
    True: (((0, 1, 4), 1), ((2,), 2), ((3,), 3), ((5, 6), 5)),         # portrait: four, names on their own
}
PROGRESS_FIRST = 1.3     # the first line's size over the others'
PROGRESS_MAX = 2.0       # text grows to fill the page up to this many times the minimum
PROGRESS_GAP = 0.5      # between two cells of a line, em


@dataclass(frozen=True)
class ProgressDemands:
    """The widest text of each cell of the progress board, in the screen's language."""

    title: str
    page: str                  # "第 88/88 页"
    cells: tuple[str, ...]     # per cell (see PROGRESS_LINES): the widest text it must hold
    rows: int = 8              # at most this many cases a page (screens.progress_rows)


@dataclass
class ProgressLayout:
    capacity: int              # cases a page
    size: float                # the size of every line but the first (px)
    slots: dict[str, Slot] = field(default_factory=dict)
    panels: dict[str, Box] = field(default_factory=dict)


def progress(body: Box, d: ProgressDemands, f: float, portrait: bool, m: Metrics | None = None
             ) -> ProgressLayout:
    """The progress board in ``body``: as many cases a page as fit at the
    reading rule's size ``f`` (at most ``d.rows``), then the text grown until
    those cases fill the page — as large as the height allows, never so large
    that a cell holds less of its text than at the minimum size."""
    m = m or font_metrics()
    lines = PROGRESS_LINES[portrait]
    row = lambda s: math.ceil(s * m.line)  # noqa: E731
    pad = round(f * 0.4)
    vpad = round(f * 0.2)
    inner = Box(body.x + pad, body.y + vpad, body.w - 2 * pad, body.h - 2 * vpad)

    first = PROGRESS_FIRST

    def sizes(b: float) -> tuple[float, float, float]:
        """(title, first line, other lines) at base size ``b``."""
        return round(b * first), round(b * first), round(b)

    def block_h(b: float) -> float:
        _, s1, s2 = sizes(b)
        return sum(row(s1 if i == 0 else s2) for i in range(len(lines))) + 2 * round(b * 0.15)

    def head_h(b: float) -> float:
        return row(sizes(b)[0]) + round(b * 0.2)

    def fits(b: float, n: int) -> bool:
        return head_h(b) + n * block_h(b) + (n - 1) * round(b * 0.15) <= inner.h

    def rooms(b: float) -> list[float]:
        """The room left for each line's flexible cell at base size ``b``."""
        _, s1, s2 = sizes(b)
        out = []
        for i, (cells, flex) in enumerate(lines):
            s = s1 if i == 0 else s2
            fixed = sum(m.width(d.cells[c], s) for c in cells if c != flex)
            out.append(inner.w - 2 * round(b * 0.4) - fixed - (len(cells) - 1) * s * PROGRESS_GAP)
        return out

    # the first line larger only as far as its cells fit it at the minimum size
    # (long English stage names: "Ready to collect")
    while first > 1.0 and rooms(f)[0] < m.width(d.cells[lines[0][1]], sizes(f)[1]):
        first = round(first - 0.1, 1)
    n = 1
    while n < d.rows and fits(f, n + 1):
        n += 1
    at_min = rooms(f)

    def wide_enough(b: float) -> bool:
        _, s1, s2 = sizes(b)
        for i, ((_, flex), room) in enumerate(zip(lines, rooms(b))):
            s = s1 if i == 0 else s2
            # the cell must hold what it held at the minimum size (a longer name
            # is cut with "…" at any size)
            need = min(m.width(d.cells[flex], s), max(0.0, at_min[i]) * b / f)
            if room < need:
                return False
        return True

    lo, hi = float(f), f * PROGRESS_MAX
    if fits(hi, n) and wide_enough(hi):
        lo = hi
    else:
        for _ in range(16):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if fits(mid, n) and wide_enough(mid) else (lo, mid)
    b = math.floor(lo)
    st, s1, s2 = sizes(b)
    out = ProgressLayout(n, s2)
    page_w = m.width(d.page, s2) + 1
    head = Box(inner.x, inner.y + inner.h - head_h(b), inner.w, head_h(b))
    out.slots["progress.title"] = Slot(Box(head.x, head.y, head.w - page_w - pad, row(st)), st, "left", d.title)
    out.slots["progress.page"] = Slot(Box(head.x + head.w - page_w, head.y, page_w, row(st)), s2, "right", d.page)
    # what the height leaves goes between the blocks: the page is filled to its foot
    spare = inner.h - head_h(b) - n * block_h(b)
    step = spare / n
    top = head.y
    ipad = round(b * 0.4)
    for k in range(n):
        top -= step
        blk = Box(inner.x, top - block_h(b), inner.w, block_h(b))
        out.panels[f"progress.{k}"] = blk
        y = blk.y + blk.h - round(b * 0.15)
        for i, (cells, flex) in enumerate(lines):
            s = s1 if i == 0 else s2
            h = row(s)
            y -= h
            gap = s * PROGRESS_GAP
            widths = {c: m.width(d.cells[c], s) + 1 for c in cells if c != flex}
            x = blk.x + ipad
            right = blk.x + blk.w - ipad
            flex_right = right - sum(widths[c] + gap for c in cells[cells.index(flex) + 1:])
            for c in cells:
                if c == flex:
                    box, align = Box(x, y, flex_right - x, h), "left"
                    x = flex_right + gap
                else:
                    box, align = Box(x, y, widths[c], h), "left" if cells.index(c) < cells.index(flex) else "right"
                    x += widths[c] + gap
                out.slots[f"progress.{k}.{c}"] = Slot(box, s, align, d.cells[c])
        top = blk.y
    return out
