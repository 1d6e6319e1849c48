"""Every layout and state of the wall display, rendered headless.

Each test saves a screenshot to tests/artifacts/screens/ and checks the text
the widgets show.  ``ONEWINDOW_PUBLISH_SCREENS=1`` also refreshes the
representative ones under docs/screens/.
"""

from __future__ import annotations

from tests import display_kit as kit  # noqa: I001  (sets up headless Kivy first)

from pathlib import Path

import msgspec
import pytest
import yaml

from hall.config import parse_config
from hall.messages import CalledEvent, CallEntry, CaseProgress, ProgressBoard, ZoneBoard, ZoneWaiting

from display.callboard import CallBoard
from display.theme import RED_SOFT
from display.feed import board_settings, waiting_order

pytestmark = pytest.mark.ui

T0 = 1795400100.0  # Monday 2026-11-23 10:15 in Asia/Shanghai
EXAMPLE = Path(__file__).parent.parent / "config" / "hall.example.yaml"
SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}


def hall(**screen):
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["screens"] = {"displays": [{"id": "D1", **screen}], "progress_rows": 8}
    return parse_config(raw)


def entry(number, wn, at, recall=0):
    return CallEntry(ticket=f"20261123-{number}", number=number, window=f"W{int(wn):02d}", window_number=wn,
                     matter="M001", at=at, recall=recall)


def called(number, wn, at, recall=0, zone="Z1"):
    return CalledEvent(event=f"20261123-{number}#{recall + 1}", ticket=f"20261123-{number}", number=number,
                       window=f"W{int(wn):02d}", window_number=wn, zone=zone, matter="M001", recall=recall,
                       lang="zh-CN", at=at)


EARLIER = [("A022", "3", 30), ("A021", "1", 95), ("Y003", "2", 130), ("A020", "4", 200), ("A019", "6", 310),
           ("A018", "7", 420)]


def z1_board(at=T0 - 1):
    return ZoneBoard(zone="Z1", current=[], recent=[entry(n, w, T0 - ago) for n, w, ago in EARLIER], at=at)


def waits(zone, groups, at=T0 - 1):
    return ZoneWaiting(zone=zone, groups=groups, total=sum(groups.values()), windows={}, at=at)


class Rig:
    """A CallBoard and a WallScreen wired as the app wires them, at a chosen time."""

    def __init__(self, cfg):
        from display.screen import WallScreen
        self.win = kit.window()
        self.cfg = cfg
        self.scr = cfg.screens.displays[0]
        self.board = CallBoard(board_settings(cfg, self.scr), order=waiting_order(cfg, self.scr))
        self.board.start(T0 - 10)
        self.board.on_link(True, T0 - 10)
        self.board.on_engine("online")
        self.wall = WallScreen(cfg, self.scr, SIZES[self.scr.layout])
        self.board.progress_capacity = self.wall.progress_capacity  # as display/app.py does
        self.win.add_widget(self.wall)

    def show(self, now):
        self.wall.show(self.board.view(now), now)
        kit.pump(2)
        assert self.wall.problems() == []  # nothing cut, too small or off the screen
        return self.wall.texts_shown()

    def shot(self, name, publish=False):
        path = kit.screenshot(self.wall, name, publish)
        assert path.stat().st_size > 20_000  # a real picture, not a blank
        return path

    def close(self):
        self.win.remove_widget(self.wall)


@pytest.fixture
def rig():
    made = []

    def make(**screen):
        r = Rig(hall(**screen))
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_new_call_flashes_then_stays(rig, layout):
    r = rig(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    assert r.board.on_called(called("A023", "5", T0), T0)
    shown = r.show(T0 + 0.1)  # blink phase "on"
    assert shown["hero_number"] == "请 A023 号"
    assert shown["hero_number"] == "请 A023 号"
    assert "5" in shown["hero_window"] and "窗口" in shown["hero_window"]
    assert shown["hero_sub"] == "No. A023 → Window 5"
    assert shown["current"] == ["A022  3号窗口", "A021  1号窗口"]   # current: 3 calls large
    assert shown["recent"] == [("Y003", "2号窗口"), ("A020", "4号窗口"), ("A019", "6号窗口"),
                               ("A018", "7号窗口")]
    assert shown["waiting"] == [("A 企业开办", "12"), ("Y 一件事", "3")]
    assert shown["hall"] == "西湖区行政服务中心" and shown["zone"].startswith("企业开办区")
    assert shown["clock"] == "10:15" and shown["offline"] == ""
    assert shown["flash_bg"][0] > 0.7  # red
    r.shot(f"{layout}-call-flash", publish=True)
    shown = r.show(T0 + 0.6)  # blink phase "off"
    assert shown["flash_bg"][0] < 0.2
    shown = r.show(T0 + 30)  # flash over, the call stays
    assert "A023" in shown["hero_number"] and shown["flash_bg"][0] < 0.2
    r.shot(f"{layout}-call-steady")


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_recall_is_tagged(rig, layout):
    r = rig(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    r.board.on_called(called("A023", "5", T0 - 40), T0 - 40)
    assert r.board.on_called(called("A023", "5", T0, recall=1), T0)
    shown = r.show(T0 + 0.1)
    assert shown["hero_tag"] == "再次呼叫  Recall" and "A023" in shown["hero_number"]
    assert "A023" not in [n for n, _ in shown["recent"]]
    r.shot(f"{layout}-recall")


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_empty_morning_screen(rig, layout):
    r = rig(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    r.board.on_board(ZoneBoard(zone="Z1", current=[], recent=[], at=T0), T0)
    r.board.on_waiting(waits("Z1", {}, at=T0))
    shown = r.show(T0)
    assert "暂无叫号" in shown["hero_window"] and shown["hero_sub"] == "No calls yet"
    assert shown["recent"] == [] and shown["waiting"] == []
    r.shot(f"{layout}-empty")


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_offline_mark_broker_and_engine(rig, layout):
    r = rig(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    r.board.on_link(False, T0 + 1)
    shown = r.show(T0 + 1)
    assert shown["offline"] == "●  离线 · 信息可能未更新"
    assert "A022" in shown["hero_number"]  # what it knew stays, marked
    r.shot(f"{layout}-offline", publish=layout == "landscape")
    # the notice shares the footer with the mark: split into pages that fit, not shrunk
    from display.widgets import extent as _extent
    tk = r.wall.ticker
    lines = [ln for p in tk.pages for ln in p.split("\n")]
    assert "".join(lines).replace(" ", "") == tk.text.replace(" ", "")
    assert all(_extent(ln, tk.label.base_size) <= tk.width * 0.96 for ln in lines)
    r.board.on_link(True, T0 + 2)
    r.board.on_engine("offline")
    assert r.show(T0 + 2)["offline"] == "●  叫号系统离线"
    r.shot(f"{layout}-engine-offline")
    r.board.on_engine("online")
    assert r.show(T0 + 3)["offline"] == ""


PORTRAIT_PER = 4
STAGES = [("ready", "ready", 0), ("review", "processing", 2), ("accepted", "received", 5),
          ("collected", "done", 0), ("decided", "processing", -2), ("correction", "processing", 1)]


def progress_board(n=11):
    names = ["张*明", "李*", "王*华", "赵*", "陈*军", "刘*芳", "杨*", "黄*强", "周*", "吴*丽", "徐*"]
    matters = ["M001", "M018", "M036", "M027", "M053", "B02", "M043", "M060", "M020", "M011", "M051"]
    cases = []
    for i in range(n):
        stage, status, left = STAGES[i % len(STAGES)]
        cases.append(CaseProgress(
            case=f"2026{i + 120:06d}", name=names[i % len(names)], matter=matters[i % len(matters)],
            status=status, updated_at=T0 - 3600, department="区政务服务中心" if matters[i % len(matters)] == "B02"
            else None, stage=stage, deadline=f"2026-11-{25 + left:02d}", days_left=left, overdue=left < 0))
    return ProgressBoard(cases=cases, at=T0 - 60)


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_progress_page_rotates_in_when_idle(rig, layout):
    r = rig(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    r.board.on_progress(progress_board())
    assert r.show(T0)["page"] == "calls"
    shown = r.show(T0 + 60)  # idle_seconds (60) after start
    assert shown["page"] == "progress"
    # as many cases a page as fit at the reading rule's size for 5 m (a 55" screen)
    per = r.wall.progress_capacity
    assert per == {"landscape": 3, "portrait": PORTRAIT_PER}[layout] and len(shown["progress"]) == per
    # the cases fill the page down to the footer, the number larger than the minimum
    footer_top = r.wall.layout.panels["footer"].h
    assert min(p.y for p in r.wall.progress_panels) - footer_top <= r.wall.layout.min_font
    assert r.wall.progress_rows[0][0].font_size > r.wall.layout.min_font
    # number, masked name, matter, department, stage, deadline, working days left
    assert shown["progress"][0] == ("2026000120", "张*明", "有限责任公司设立登记", "市场监督管理局", "待领取",
                                    "承诺办结 11-25", "")
    assert shown["progress"][1] == ("2026000121", "李*", "二手房转移登记", "自然资源和规划局", "审查",
                                    "承诺办结 11-27", "剩 2 个工作日")
    r.shot(f"{layout}-progress", publish=True)
    page, row = divmod(4, per)  # the fifth case is overdue: marked
    shown = r.show(T0 + 60 + 15 * page)
    assert shown["progress"][row] == ("2026000124", "陈*军", "退休待遇申领", "人力资源和社会保障局", "决定",
                                      "承诺办结 11-23", "逾期 2 日")
    assert r.wall.progress_rows[row][6].tint == list(RED_SOFT)
    r.shot(f"{layout}-progress-overdue", publish=layout == "landscape")
    n = -(-11 // per)
    pages = [r.show(T0 + 60 + 15 * k)["progress"] for k in range(n)]
    assert [len(p) for p in pages] == [per] * (n - 1) + [11 - per * (n - 1)]  # then the calls page
    assert r.show(T0 + 60 + 15 * n)["page"] == "calls"
    r.board.on_called(called("A023", "5", T0 + 80), T0 + 80)
    assert r.show(T0 + 80)["page"] == "calls"


def test_a_near_read_screen_shows_more_cases_a_page(rig):
    r = rig(zones=["Z1"], layout="landscape", languages=["zh-CN"], viewing_distance_m=2)
    r.board.on_progress(progress_board())
    shown = r.show(T0 + 60)
    # at 2 m the reading rule's minimum is 22 px: progress_rows (8) fit, not the 5 m screen's 3
    assert r.wall.progress_capacity == 8 and len(shown["progress"]) == 8
    r.shot("landscape-progress-near")


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_progress_page_in_traditional_chinese_and_english(rig, lang):
    r = rig(zones=["Z1"], layout="landscape", languages=[lang])
    r.board.on_board(z1_board(), T0)
    board = progress_board(6)
    if lang == "en":  # English names run longer: these fit at 5 m (longer ones are cut with "…", docs/display.md)
        board.cases[:] = [msgspec.structs.replace(c, matter=mt) for c, mt in zip(board.cases, ("M003", "M018", "M043"))]
    r.board.on_progress(board)
    shown = r.show(T0 + 60)
    want = {"zh-TW": [("2026000120", "张*明", "有限責任公司設立登記", "市場監督管理局", "待領取", "承諾辦結 11-25", ""),
                      ("2026000121", "李*", "二手房轉移登記", "自然資源和規劃局", "審查", "承諾辦結 11-27",
                       "剩 2 個工作日")],
            "en": [("2026000120", "张*明", "Company name declaration", "Market Regulation Bureau", "Ready",
                    "Due 11-25", ""),
                   ("2026000121", "李*", "Resale housing transfer", "Natural Resources Bureau", "Review", "Due 11-27",
                    "2 days left")]}
    assert shown["progress"][:2] == want[lang]
    r.shot(f"progress-{lang}")


def test_traditional_chinese_screen(rig):
    r = rig(zones=["Z1"], layout="landscape", languages=["zh-TW", "en"])
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    r.board.on_called(called("A023", "5", T0), T0)
    shown = r.show(T0 + 0.6)
    assert "請" in shown["hero_number"] and "號" in shown["hero_number"]
    assert shown["hall"] == "西湖區行政服務中心"
    assert shown["current"][0] == "A022  3號窗口" and shown["recent"][0] == ("Y003", "2號窗口")
    r.shot("landscape-zh-TW")


def test_english_screen(rig):
    r = rig(zones=["Z1"], layout="portrait", languages=["en", "zh-CN"])
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    r.board.on_called(called("A023", "5", T0), T0)
    shown = r.show(T0 + 0.6)
    assert "No." in shown["hero_number"] and "A023" in shown["hero_number"]
    assert "Window" in shown["hero_window"] and shown["hero_sub"] == "请 A023 号到 5 号窗口"
    assert shown["current"][0] == "A022  Window 3" and shown["recent"][0] == ("Y003", "Window 2")
    assert shown["hall"] == "Xihu District Administrative Service Center"
    r.shot("portrait-en")


def test_all_zones_screen_counts_waiting_by_zone(rig):
    r = rig(zones=[], layout="landscape", languages=["zh-CN", "en"], waiting_by="zone", recent=5)
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    r.board.on_board(ZoneBoard(zone="Z3", current=[entry("C007", "13", T0 - 5)], recent=[], at=T0), T0)
    r.board.on_waiting(waits("Z3", {"C": 9, "Y": 1}))
    r.board.on_board(ZoneBoard(zone="Z7", current=[], recent=[], at=T0 - 1), T0)
    r.board.on_waiting(waits("Z7", {"G": 21}))
    r.board.on_called(called("G031", "40", T0, zone="Z7"), T0)
    shown = r.show(T0 + 0.6)
    assert "G031" in shown["hero_number"] and "40" in shown["hero_window"]
    assert shown["current"][0] == "C007  13号窗口"
    assert shown["waiting"] == [("企业开办区", "15"), ("不动产登记区", "10"), ("社保医保区", "21")]
    assert shown["zone"] == ""
    r.shot("landscape-all-zones", publish=True)


def test_published_config_relabels_the_screen_without_restart(rig):
    from hall import messages as m
    from hall.bus import BusSettings
    from display.feed import DisplayFeed
    r = rig(zones=["Z1"], layout="landscape", languages=["zh-CN", "en"])
    feed = DisplayFeed(r.cfg, r.scr, BusSettings(port=1))  # never started: handlers are fed by hand
    feed.config_listeners.append(r.wall.apply_config)
    raw = r.cfg.to_json_dict()
    raw["screens"]["displays"][0]["languages"] = ["en", "zh-CN"]
    raw["screens"]["displays"][0]["zones"] = ["Z2"]  # a zone change needs a restart: kept
    raw["screens"]["notice"] = {"zh": "今日下午三点起暂停受理公积金业务", "en": "No housing fund service after 3 pm today"}
    new = parse_config(raw)
    feed._on_config(None, m.ConfigCurrent(version=1, digest=new.digest(), config=new.to_json_dict()))
    feed._on_config(None, m.ConfigCurrent(version=1, digest="x", config={"version": 1}))  # refused: kept
    feed.drain(T0)
    shown = r.show(T0)
    assert shown["hall"] == "Xihu District Administrative Service Center"
    assert shown["notice"].startswith("No housing fund service after 3 pm today")
    assert feed.screen.zones == ["Z1"] and feed.board.settings.zones == frozenset({"Z1"})


def test_kiosk_settings_no_cursor_no_decorations_rotation():
    from kivy.config import Config
    from hall.config.screens import Screen
    from display.app import configure_kivy
    saved = {k: Config.get("graphics", k) for k in ("fullscreen", "borderless", "show_cursor", "rotation",
                                                    "width", "height", "maxfps")}
    try:
        configure_kivy(Screen(id="D4", layout="portrait", rotation=90))
        assert (Config.get("graphics", "fullscreen"), Config.get("graphics", "borderless"),
                Config.get("graphics", "show_cursor"), Config.get("graphics", "rotation")) == ("auto", "1", "0", "90")
        assert (Config.get("graphics", "width"), Config.get("graphics", "height")) == ("1920", "1080")
        assert Config.get("kivy", "exit_on_escape") == "0"
    finally:
        for k, v in saved.items():
            Config.set("graphics", k, v)


def test_screens_naming_unknown_zones_are_refused():
    from hall.config import ConfigError
    from display.checks import check_screens
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["screens"] = {"displays": [{"id": "D1", "zones": ["Z1", "Z99"]}],
                      "voice": {"zones": {"Z42": {"volume": 0.5}}}}
    with pytest.raises(ConfigError) as e:  # `onewindow config check` says so already
        parse_config(raw)
    assert e.value.problems == [("screens.displays[0].zones", "unknown zone 'Z99'"),
                                ("screens.voice.zones.Z42", "unknown zone")]
    # a config assembled in code is still refused when the display starts
    good = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    cfg = parse_config(good)
    cfg = cfg.model_copy(update={"screens": cfg.screens.model_validate(raw["screens"])})
    with pytest.raises(ConfigError) as e:
        check_screens(cfg)
    assert len(e.value.problems) == 2


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_window_grid_screen(rig, layout):
    from hall.messages import TicketBrief, WindowState
    r = rig(zones=["Z1", "Z2"], layout=layout, languages=["zh-CN", "en"], style="windows")
    r.board.on_board(z1_board(), T0)
    r.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    wins = [w for w in r.cfg.windows if w.zone in ("Z1", "Z2")]
    for i, w in enumerate(wins):
        status = ["open", "open", "paused", "closed"][i % 4]
        ticket = f"A{30 + i:03d}" if status == "open" and i % 8 else None
        brief = TicketBrief(ticket=f"20261123-{ticket}", number=ticket, matter="M001", bundle=None,
                            state="serving", called_at=T0 - 60, recalls=0, priority="normal") if ticket else None
        r.board.on_window(WindowState(window=w.id, number=w.number, zone=w.zone, status=status, staff=None,
                                      ticket=brief, at=T0))
    r.board.on_called(called("A023", "5", T0), T0)
    shown = r.show(T0 + 0.1)
    assert "A023" in shown["hero_strip"]
    per = len(r.wall.window_cells)
    assert shown["windows"][0] == (f"{wins[0].number}号", "", "空闲")
    assert shown["windows"][1] == (f"{wins[1].number}号", "A031", "办理中")
    assert shown["windows"][2] == (f"{wins[2].number}号", "", "暂停")
    assert len(shown["windows"]) == min(per, len(wins))
    r.shot(f"{layout}-window-grid", publish=True)


def test_notice_pages_keep_sentences_phrases_and_words_whole():
    kit.window()
    from display.widgets import notice_pages
    en = "Please watch the screen for your number. Missed it? Re-queue at a kiosk."
    zh = "请留意屏幕叫号，过号请到取号机重新排队。办事进度可在取号机查询。"
    # a portrait line (1,036 px wide strip) holds two lines: the English notice whole on one page
    assert notice_pages(en, 54, 994, 2) == [["Please watch the screen for your",
                                             "number. Missed it? Re-queue at a kiosk."]]
    # one line a page: each sentence on a page of its own, never a word cut
    assert notice_pages(en, 54, 1800, 1) == [["Please watch the screen for your number."],
                                             ["Missed it? Re-queue at a kiosk."]]
    # Han text broken after a comma or a full stop, not inside a phrase
    assert notice_pages(zh, 54, 994, 2) == [["请留意屏幕叫号，", "过号请到取号机重新排队。"], ["办事进度可在取号机查询。"]]
    assert notice_pages(zh, 54, 1800, 1) == [[zh]]


def test_progress_board_never_shows_a_full_name(rig):
    r = rig(zones=["Z1"], layout="landscape", languages=["zh-CN"])
    board = progress_board(3)
    # a publisher that forgot to mask: the screen masks with hall.pii.mask all the same
    board.cases[:] = [msgspec.structs.replace(c, name=n) for c, n in zip(board.cases, ("张三丰", "欧阳娜娜", "张*明"))]
    r.board.on_progress(board)
    shown = r.show(T0 + 60)
    assert [row[1] for row in shown["progress"]] == ["张*丰", "欧**娜", "张*明"]


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_english_window_grid_call_fits_its_strip(rig, layout):
    r = rig(zones=["Z1", "Z2"], layout=layout, languages=["en", "zh-CN"], style="windows")
    r.board.on_board(z1_board(), T0)
    r.board.on_called(called("A023", "12", T0, recall=1), T0)
    shown = r.show(T0 + 0.1)  # Rig.show: problems() == [], markup lines included
    want = {"landscape": "Number A023, please go to window 12", "portrait": "No. A023 → Window 12"}[layout]
    assert shown["hero_strip"].startswith(want) and "Recall" in shown["hero_strip"]
    r.shot(f"{layout}-window-grid-en", publish=layout == "portrait")


def test_english_progress_names_a_known_department_in_english(rig):
    r = rig(zones=["Z1"], layout="landscape", languages=["en"])
    board = progress_board(2)
    # an outside case system's matter the hall does not list, its department in Chinese
    board.cases[:] = [msgspec.structs.replace(board.cases[0], matter=None, department="市场监督管理局"),
                      msgspec.structs.replace(board.cases[1], matter=None, department="某某办公室")]
    r.board.on_progress(board)
    shown = r.show(T0 + 60)
    assert [row[3] for row in shown["progress"]] == ["Market Regulation Bureau", "某某办公室"]
