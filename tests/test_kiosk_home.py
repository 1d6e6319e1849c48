"""Kiosk home and matters: zone tiles from the config, waits on the buttons,
the staff call (flow, engine extension), and contrast of every colour pair (WCAG)."""

from __future__ import annotations

import pytest

from hall import messages as m
from hall.config.queue import contrast
from kiosk import view
from kiosk.flow import S

from .test_kiosk_flow import make_flow


def hexc(c) -> str:
    return "#" + "".join(f"{round(v * 255):02X}" for v in c[:3])


def test_wcag_contrast_formula_on_known_pairs():
    assert contrast("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast("#0A458C", "#FFFFFF") == contrast("#FFFFFF", "#0A458C")


def test_every_text_colour_on_its_fill_reaches_4_5_to_1():
    from kiosk import ui
    pairs = [(ui.STYLE_FG[k], ui.STYLE_BG[k], f"button {k}") for k in ui.STYLE_BG]
    pairs += [(fg, bg, f"banner {k}") for k, (bg, fg) in ui.BANNER.items()]
    pairs += [(ui.WHITE, ui.HEADER, "header"), (ui.INK, ui.WHITE, "body"), (ui.MUTED, ui.WHITE, "muted"),
              (ui.RED, ui.WHITE, "error text"), (ui.BLUE, ui.WHITE, "lead"), (ui.INK, (0.96, 0.97, 1, 1), "field"),
              (ui.MUTED, (0.96, 0.97, 1, 1), "field hint")]
    low = [(name, round(contrast(hexc(fg), hexc(bg)), 2)) for fg, bg, name in pairs
           if contrast(hexc(fg), hexc(bg)) < 4.5]
    assert low == []


def test_zone_tiles_have_their_colour_icon_and_readable_text():
    from hall.config import load_config
    from kiosk.ui import tile_colours
    cfg = load_config("config/hall.example.yaml")
    f = make_flow(cfg)
    tiles = [b for blk in view.build(f, 0).blocks for b in blk.buttons if b.action.startswith("zone:")]
    assert [(b.colour, b.icon) for b in tiles] == [(z.colour, z.icon) for z in cfg.zones]
    for z in cfg.zones:
        bg, fg = tile_colours(z.colour)
        assert contrast(hexc(fg), z.colour) >= 4.5, z.id


def test_a_zone_colour_no_text_can_be_read_on_is_refused():
    from hall.config.queue import Zone
    with pytest.raises(ValueError, match="4.5"):
        Zone(id="Z1", name={"zh": "区", "en": "Z"}, colour="#2E8BFF")  # a light blue: 3.5:1 under white


def test_buttons_show_how_many_wait_and_about_how_long_from_the_zone_board():
    f = make_flow()
    f.press("zone:Z1", 0)
    before = [b.sub for blk in view.build(f, 0).blocks for b in blk.buttons if b.action == "target:M1"]
    assert before == ["市场监管局"] or "等候" not in (before[0] or "")  # no board yet: no figure
    f.on_waiting("Z1", {"A": 6})
    subs = {b.action: b.sub for blk in view.build(f, 0).blocks for b in blk.buttons}
    from kiosk.waits import waiting_for
    w = waiting_for(f.cfg, f.waiting, "M1")
    assert w.people == 6 and 0 <= w.low_min < w.high_min
    assert f"等候 6 人 · 约 {w.low_min}–{w.high_min} 分钟" in subs["target:M1"]
    f.on_waiting("Z1", {"A": 0})
    assert "现在无需等候" in {b.action: b.sub for blk in view.build(f, 0).blocks for b in blk.buttons}["target:M1"]
    f.press("target:M1", 0)
    assert any(b.kind == "banner" and "现在无需等候" in b.text for b in view.build(f, 0).blocks)


def test_call_staff_sends_one_request_and_shows_that_someone_comes():
    f = make_flow()
    (eff,) = f.press("staff", 0)
    assert eff.op == "staff" and eff.body == {"reason": "help", "lang": "zh-CN"}
    assert f.press("staff", 0.1) == []  # busy: a second press sends nothing
    f.on_reply(eff.token, True, {"kiosk": "K1", "reason": "help", "lang": "zh-CN", "at": 1.0}, None, 1)
    assert f.screen == S.STAFF
    assert "马上就到" in " ".join(b.text for b in view.build(f, 0).blocks)
    f.press("home", 2)
    assert f.screen == S.HOME


def test_engine_raises_a_retained_staff_alert_once_per_call():
    from caller.engine import Engine, Refused
    from caller.staff_calls import REPEAT_S, StaffCalls
    from .test_kiosk_flow import kiosk_config
    cfg = kiosk_config()
    ext, eng = StaffCalls(cfg), Engine(cfg)
    kid = cfg.kiosks.devices[0].id
    data, out = ext.handle("kiosk.staff", kid, m.StaffCallRequest(id="r1", reason="elderly", lang="en"), eng, 100.0)
    assert [(e.spec, e.ident) for e in out.events] == [("alert.staff", kid)]
    assert data == m.StaffCall(kiosk=kid, reason="elderly", lang="en", at=100.0)
    again, out2 = ext.handle("kiosk.staff", kid, m.StaffCallRequest(id="r2"), eng, 130.0)
    assert again == data and out2.events == []          # the open call, not a second page
    _, out3 = ext.handle("kiosk.staff", kid, m.StaffCallRequest(id="r3"), eng, 100.0 + REPEAT_S + 1)
    assert len(out3.events) == 1
    with pytest.raises(Refused):
        ext.handle("kiosk.staff", "NOPE", m.StaffCallRequest(id="r4"), eng, 200.0)
    from hall.topics import REGISTRY
    spec = REGISTRY["alert.staff"]
    assert spec.retained and spec.topic(cfg.hall.id, kid) == f"onewindow/{cfg.hall.id}/alert/{kid}/staff"
