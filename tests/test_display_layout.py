"""The lobby layout (display/layout.py), for every combination the config allows.

The pure layout is checked for 1–12 zones × 1–16 recent calls × portrait and
landscape × zh-CN, zh-TW and en: every box on the screen, no two texts on top
of each other, every text at least the reading minimum and as wide as the
widest text it must hold.  A representative set is then rendered (Kivy,
offscreen) and the widgets themselves are checked: nothing cut, nothing
smaller than the minimum (tests/test_display_screens.py renders the states).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from display.layout import CAP_MM_PER_M, LINE_EM, Box, Demands, LayoutError, Physical, compute, font_metrics
from hall.config import parse_config

EXAMPLE = Path(__file__).parent.parent / "config" / "hall.example.yaml"
SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
LANGS = {"zh-CN": ["zh-CN", "en"], "zh-TW": ["zh-TW", "en"], "en": ["en", "zh-CN"]}
MORE_ZONES = [("出入境服务区", "Exit-Entry Services"), ("交通运输区", "Transport"),
              ("民政服务区", "Civil Affairs"), ("医疗保障区", "Medical Insurance")]


def hall(n_zones: int = 8, **screen):
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for i, (zh, en) in enumerate(MORE_ZONES):
        raw["zones"].append({"id": f"Z{9 + i}", "name": {"zh": zh, "en": en}})
    raw["zones"] = raw["zones"][:max(n_zones, 8)]
    raw["screens"] = {"displays": [{"id": "D1", **screen}]}
    return parse_config(raw)


def base_demands(layout: str, lang: str) -> tuple[Demands, list[str]]:
    from tests import display_kit  # noqa: F401  (headless Kivy before display.screen imports it)
    from display.screen import demands
    cfg = hall(12, zones=[], layout=layout, waiting_by="zone", languages=LANGS[lang])
    langs = LANGS[lang]
    d = demands(cfg, cfg.screens.displays[0], langs[0], langs[1])
    # the longest names first: a screen with n zones shows the n longest
    labels = sorted(d.waiting_labels, key=lambda x: -font_metrics().width(x, 1))
    return d, labels


def check(lay, d: Demands) -> list[str]:
    m = font_metrics()
    screen = lay.screen
    out = []
    for name, slot in lay.slots.items():
        b = slot.box
        if not b.inside(screen):
            out.append(f"{name} outside the screen: {b}")
        if slot.size < lay.min_font - 0.5:
            out.append(f"{name}: {slot.size} px < {lay.min_font} px")
        if m.width(slot.sample, slot.size) > b.w + 0.5:
            out.append(f"{name}: {slot.sample!r} is wider than its box ({b.w:.0f} px)")
        if b.h + 0.5 < slot.size * LINE_EM:
            out.append(f"{name}: box {b.h:.0f} px lower than a line at {slot.size} px")
    # the blinking box holds the new call's lines, inside its panel, and not the calls under it
    flash, hero = lay.panels["flash"], lay.panels["hero"]
    if not flash.inside(hero):
        out.append(f"flash {flash} outside the hero panel {hero}")
    for name in ("hero.tag", "hero.pre", "hero.number", "hero.post", "hero.window", "hero.sub", "hero.strip"):
        slot = lay.slots.get(name)
        if slot is None:
            continue
        w = min(slot.box.w, m.width(slot.sample, slot.size))
        x = slot.box.x + (slot.box.w - w) / 2 if slot.halign == "center" else slot.box.x
        if not Box(x, slot.box.y, w, slot.box.h).inside(flash, eps=1):
            out.append(f"{name} not inside the blinking box")
    for name, slot in lay.slots.items():
        if name.startswith("current.") and slot.box.overlaps(flash, eps=slot.size * 0.15):
            out.append(f"{name} inside the blinking box")
    texts = [(n, s.box) for n, s in lay.slots.items() if n not in ("notice", "offline") and s.sample]
    for (n1, b1), (n2, b2) in itertools.combinations(texts, 2):
        if n1.startswith("hero.") and n2.startswith("hero.") and {n1, n2} <= {"hero.pre", "hero.number",
                                                                            "hero.post", "hero.window"}:
            if b1.overlaps(b2) and not (b1.y == b2.y and b1.h == b2.h):
                out.append(f"{n1} overlaps {n2}")
            continue
        if b1.overlaps(b2):
            out.append(f"{n1} overlaps {n2}")
    return out


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_every_combination_of_zones_and_recent_calls_fits_at_the_reading_size(layout, lang):
    d0, labels = base_demands(layout, lang)
    size = SIZES[layout]
    degraded, paged = [], []
    for zones, recent in itertools.product(range(1, 13), range(1, 17)):
        d = replace(d0, waiting_labels=tuple(labels[:zones]), recent=recent)
        lay = compute(size, d)
        assert check(lay, d) == [], (zones, recent)
        # every configured recent call and waiting count has its place
        assert sum(1 for n in lay.slots if n.startswith("recent.") and n.endswith(".number")) == recent
        cells = sum(1 for n in lay.slots if n.startswith("waiting.") and n.endswith(".count"))
        assert cells == lay.waiting_per_page and cells * 3 >= zones  # the rest take turns, at most 3 pages
        if cells < zones:
            paged.append((zones, recent))
        if lay.current < d.current or not lay.hero_sub:
            degraded.append((zones, recent))
    # the shipped screen (8 zones, 6 recent calls) loses nothing
    assert (8, 6) not in degraded and (8, 6) not in paged
    if lang != "en":  # Han names are short: every count always on the screen at once
        assert paged == []


def test_the_reading_rule_in_numbers():
    m = font_metrics()
    phys = Physical(diagonal_in=55, distance_m=5)
    f = phys.min_font((1920, 1080), m)
    # 55" 16:9: 0.634 mm a pixel; cap height 0.733 em; 5 mm per metre → 25 mm at 5 m
    assert abs(phys.mm_per_px((1920, 1080)) - 0.634) < 0.001
    assert abs(f * m.cap * phys.mm_per_px((1920, 1080)) - CAP_MM_PER_M * 5) < 0.01
    assert 53 < f < 55
    assert Physical(diagonal_in=55, distance_m=10).min_font((1920, 1080), m) == pytest.approx(2 * f)


def test_a_screen_too_small_for_its_distance_is_refused_with_the_reason():
    d, labels = base_demands("landscape", "zh-CN")
    with pytest.raises(LayoutError, match="mm per metre|does not fit"):
        compute((1920, 1080), replace(d, waiting_labels=tuple(labels), recent=16),
                Physical(diagonal_in=32, distance_m=8))


def test_window_grid_pages_every_window_at_the_reading_size():
    from display.screen import demands
    cfg = hall(8, zones=[], style="windows", languages=["zh-CN", "en"])
    d = demands(cfg, cfg.screens.displays[0], "zh-CN", "en")
    for size in SIZES.values():
        lay = compute(size, d, style="windows")
        assert check(lay, d) == []
        assert lay.per_page >= 12
        assert len(d.windows) == len(cfg.windows)


# ------------------------------------------------------------- rendered --

REPRESENTATIVE = [(1, 1), (8, 6), (12, 16)]


@pytest.mark.ui
@pytest.mark.parametrize("layout", ["landscape", "portrait"])
@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_rendered_layouts_cut_nothing(layout, lang):
    from tests import display_kit as kit
    from display.callboard import BoardSettings, CallBoard
    from display.feed import board_settings, waiting_order
    from display.screen import WallScreen
    from hall.messages import CalledEvent, CallEntry, ZoneBoard, ZoneWaiting

    win = kit.window()
    t0 = 1795400100.0
    for zones, recent in REPRESENTATIVE:
        cfg = hall(zones, zones=[], layout=layout, waiting_by="zone", languages=LANGS[lang], recent=recent)
        if zones < 8:  # fewer zones on the screen: a screen for the first `zones` zones
            cfg = hall(8, zones=[f"Z{i + 1}" for i in range(zones)], layout=layout, waiting_by="zone",
                       languages=LANGS[lang], recent=recent)
        scr = cfg.screens.displays[0]
        board = CallBoard(board_settings(cfg, scr), order=waiting_order(cfg, scr))
        board.start(t0 - 10)
        board.on_link(True, t0 - 10)
        board.on_engine("online")
        zone_ids = [z.id for z in cfg.zones if not scr.zones or z.id in scr.zones]
        for i, z in enumerate(zone_ids):  # the widest numbers: 3-digit counts, the zone's widest windows
            wins = sorted((w for w in cfg.windows if w.zone == z), key=lambda w: -len(w.number)) or cfg.windows
            entries = [CallEntry(ticket=f"20261123-{z}{k}", number=f"A{100 + 20 * i + k:03d}", window=wins[0].id,
                                 window_number=wins[k % len(wins)].number, matter="M001",
                                 at=t0 - 100 - i * 20 - k) for k in range(20)]
            board.on_board(ZoneBoard(zone=z, current=[], recent=entries, at=t0 - 1), t0)
            board.on_waiting(ZoneWaiting(zone=z, groups={"A": 188}, total=188, windows={}, at=t0 - 1))
        last = [w for w in cfg.windows if w.zone == zone_ids[0]][-1]
        board.on_called(CalledEvent(event="e1", ticket="20261123-A999", number="A999", window=last.id,
                                    window_number=last.number, zone=zone_ids[0], matter="M001", recall=1,
                                    lang="zh-CN", at=t0), t0)
        wall = WallScreen(cfg, scr, SIZES[layout])
        win.add_widget(wall)
        try:
            wall.show(board.view(t0 + 0.6), t0 + 0.6)
            kit.pump(2)
            assert wall.problems() == [], (zones, recent)
            shown = wall.texts_shown()
            per = wall.layout.waiting_per_page
            assert len(shown["recent"]) == recent and len(shown["waiting"]) == min(per, len(zone_ids))
            if per < len(zone_ids):  # long names: the counts take turns, every zone in its page
                later = t0 + 0.6 + cfg.screens.page_seconds
                wall.show(board.view(later), later)
                assert wall.problems() == []
                rest = wall.texts_shown()["waiting"]
                assert {n for n, _ in shown["waiting"]} | {n for n, _ in rest} >= {
                    z.name.get(lang) for z in cfg.zones if z.id in zone_ids[:2 * per]}
            assert "A999" in shown["hero_number"] and shown["hero_tag"]  # the recall is marked
            kit.screenshot(wall, f"layout-{layout}-{lang}-{zones}z-{recent}r",
                           publish=(zones, recent) == (12, 16) and lang != "zh-TW")
        finally:
            win.remove_widget(wall)


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
@pytest.mark.parametrize("distance", [2, 3.5, 5])
def test_progress_board_fills_the_page_at_or_above_the_reading_size(layout, lang, distance):
    from tests import display_kit  # noqa: F401  (headless Kivy before display.screen imports it)
    from display.layout import Box, progress
    from display.screen import progress_demands
    cfg = hall(8, zones=["Z1"], layout=layout, languages=LANGS[lang], viewing_distance_m=distance)
    scr = cfg.screens.displays[0]
    portrait = layout == "portrait"
    lay = compute(SIZES[layout], demands_for(cfg, lang), Physical(scr.diagonal_inches, distance))
    head, foot = lay.panels["header"], lay.panels["footer"]
    body = Box(0, foot.h, lay.width, head.y - foot.h)
    d = progress_demands(cfg, scr, LANGS[lang][0], LANGS[lang][1], portrait)
    p = progress(body, d, lay.min_font, portrait)
    m = font_metrics()
    assert 1 <= p.capacity <= cfg.screens.progress_rows
    for name, slot in p.slots.items():
        assert slot.box.inside(body), name
        assert slot.size >= lay.min_font - 0.5, name
        assert slot.box.h + 0.5 >= slot.size * LINE_EM, name
    # every cell holds its widest text, but a matter's or a department's name (cut with "…" when long)
    for k in range(p.capacity):
        for c in (0, 1, 4, 5, 6):
            s = p.slots[f"progress.{k}.{c}"]
            assert m.width(s.sample, s.size) <= s.box.w + 0.5, (k, c, s)
    texts = [(n, s.box) for n, s in p.slots.items()]
    assert not [(a, b) for (a, x), (b, y) in itertools.combinations(texts, 2) if x.overlaps(y)]
    # a page of cases reaches the foot of the body: no empty half screen
    blocks = [p.panels[f"progress.{k}"] for k in range(p.capacity)]
    assert min(b.y for b in blocks) - body.y <= lay.min_font



def demands_for(cfg, lang):
    from display.screen import demands
    langs = LANGS[lang]
    return demands(cfg, cfg.screens.displays[0], langs[0], langs[1])


def header_of(layout, lang, zones, style="calls"):
    cfg = hall(12, zones=zones, layout=layout, languages=LANGS[lang], style=style)
    d = demands_for(cfg, lang)
    return d, compute(SIZES[layout], d, style=style)


def test_header_english_fits_three_lines_and_chinese_is_unchanged():
    _, lay = header_of("portrait", "en", ["Z1"])
    assert lay.header_lines == ("Xihu District Administrative", "Service Center", "Enterprise Registration")
    assert lay.header_hall_lines == 2  # the hall's name in white on both, the zone under it
    _, lay = header_of("landscape", "en", ["Z1"])
    assert lay.header_lines == ("Xihu District Administrative Service Center", "Enterprise Registration")
    _, lay = header_of("portrait", "zh-CN", ["Z1"])
    assert lay.header_lines == ("西湖区行政服务中心", "企业开办区")
    _, lay = header_of("landscape", "zh-CN", ["Z1"])
    assert lay.header_lines == ("西湖区行政服务中心  企业开办区",)
    # an English screen lists its zones with a comma, not the Chinese 、
    d, lay = header_of("landscape", "en", ["Z1", "Z2"])
    assert d.zone == "Enterprise Registration, Investment Projects"


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
@pytest.mark.parametrize("style", ["calls", "windows"])
def test_header_never_breaks_a_zone_name_and_never_passes_three_lines(layout, lang, style):
    m = font_metrics()
    for n in range(1, 13):
        zones = [f"Z{i + 1}" for i in range(n)]
        d, lay = header_of(layout, lang, zones, style)
        lines = lay.header_lines
        assert 1 <= len(lines) <= 3, (n, lines)
        for i, text in enumerate(lines):
            slot = lay.slots[f"header.{i}"]
            assert slot.size >= lay.min_font - 0.5 and m.width(text, slot.size) <= slot.box.w + 0.5, (n, i, text)
        zone_text = "".join(lines[lay.header_hall_lines:]) if len(lines) > 1 else lines[0].split("  ", 1)[-1]
        sep = "、" if lang.startswith("zh") else ", "
        if len(lines) > 1:  # the zone lines: whole names each, the last one maybe "…" for more
            for text in lines[lay.header_hall_lines:]:
                for part in filter(None, text.replace(" …", "").rstrip("…").split(sep.strip())):
                    assert part.strip() in d.zones, (n, lines)  # no "区" alone, no half a name
        elif n:
            assert zone_text == d.zone


def test_portrait_window_grid_header_keeps_each_zone_name_whole():
    _, lay = header_of("portrait", "zh-CN", ["Z1", "Z2"], "windows")
    assert lay.header_lines == ("西湖区行政服务中心", "企业开办区、", "投资项目区")  # was 企业开办区、投资项目 / 区
