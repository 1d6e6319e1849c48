"""A citizen fills a bundle's form at the kiosk (Kivy offscreen) through a real mosquitto
and the real engine, comes back for a second matter and finds the profile reused; the
window gets the form.  Screens go to tests/artifacts/kiosk/forms-*.png."""

from __future__ import annotations

import queue
import time

import pytest

from hall.bus import Requester
from hall.config import parse_config
from hall.config.kiosk import ScannerConfig
from kiosk.flow import S
from kiosk.forms_flow import candidates
from kiosk.scanner import EvdevSource

from .test_forms_engine import ID_NO, data_key, forms_raw  # noqa: F401  (data_key is a fixture)
from .test_kiosk_flow import kiosk_config
from .test_kiosk_scanner import key_events
from .test_kiosk_ui import ART, kiosk, kivy_ready, printed_bytes, touch_targets_ok  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.ui, pytest.mark.broker]


class CardReader:
    """An ID-card reader in keyboard mode: each card laid on it types its number and Enter."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()

    def lay(self, number: str) -> None:
        self.q.put(key_events(number))

    def events(self, timeout):
        try:
            return self.q.get(timeout=min(timeout, 0.05))
        except queue.Empty:
            return []

    def close(self):
        pass


@pytest.fixture
def hall(small_config):
    raw = small_config.to_json_dict()
    raw["kiosks"] = kiosk_config().kiosks.model_dump(mode="json")
    raw["forms"] = forms_raw()
    return parse_config(raw)


def shot(h, name: str) -> None:
    h.screenshot(ART / f"forms-{name}.png")


def screen_text(h) -> str:
    return " ".join(w.text for w in h.view.root.walk() if getattr(w, "text", ""))


def type_on_screen(h, keys: str) -> None:
    for k in keys:
        h.press(f"fkey:{k}")


def pick(h, word: str) -> None:
    """Touch ``word`` on the candidate bar, paging the bar as a citizen would."""
    i = candidates(h.svc.flow.s.form).index(word)
    while f"fcand:{i}" not in h.view.buttons:
        h.press("fcpage:1")
    h.press(f"fcand:{i}")


def read_card(h, reader: CardReader) -> None:
    reader.lay(ID_NO)
    assert h.until(lambda: h.svc.flow.screen == S.FORM_CONSENT)


def test_bundle_form_filled_once_then_reused_on_the_next_matter(hall, running_engine, kiosk, bus_client, data_key):
    running_engine(hall)
    h, fp = kiosk(hall)
    reader = CardReader()
    h.svc.add_source(EvdevSource(ScannerConfig(device="/dev/input/by-id/usb-idcard-reader-event-kbd"),
                                 opener=lambda path, grab: reader))

    # --- first visit: 开办餐饮店一件事 (B1), elderly mode
    # a press while the kiosk is still busy starting is ignored (never a double request):
    # wait for its home screen first, and check the mode took
    assert h.until(lambda: h.svc.flow.screen == S.HOME)
    h.press("elderly")
    assert h.svc.flow.s.elderly
    h.press("target:B1")
    h.press("next")
    assert h.svc.flow.screen == S.FORM_ID
    shot(h, "01-id-card")
    touch_targets_ok(h)
    read_card(h, reader)
    shot(h, "02-consent")
    touch_targets_ok(h)
    assert ID_NO not in screen_text(h) and "1101**********002X" in screen_text(h)
    h.press("fconsent:yes")
    assert h.until(lambda: h.svc.flow.screen == S.FORM)
    assert "您还没有保存的信息" in screen_text(h)
    shot(h, "03-form-empty")
    # the name by pinyin, from the candidate bar
    h.press("ffield:name")
    type_on_screen(h, "zhangsanfeng")
    shot(h, "04-pinyin-candidates")
    touch_targets_ok(h)
    pick(h, "张三丰")
    h.press("fok")
    # a wrong phone is refused on its pad, with the reason
    h.press("ffield:phone")
    type_on_screen(h, "1381234567")
    h.press("fok")
    assert h.svc.flow.screen == S.FORM_FIELD and "11 位手机号码" in screen_text(h)
    shot(h, "05-phone-refused")
    type_on_screen(h, "8")
    h.press("fok")
    h.press("ffield:company_name")
    type_on_screen(h, "xihu")
    pick(h, "西湖")
    type_on_screen(h, "mianguan")
    pick(h, "面馆")
    h.press("fok")
    h.press("ffield:registered_capital")
    type_on_screen(h, "50")
    h.press("fok")
    h.press("ffield:address")
    type_on_screen(h, "hangzhoushi")
    pick(h, "杭州市")
    type_on_screen(h, "wensanlu")
    pick(h, "文三路")
    type_on_screen(h, "90")
    h.press("fok")
    h.press("page:1")                     # elderly mode: six fields a page
    shot(h, "06-form-page-2")
    h.press("ffield:food_category")
    shot(h, "06-choice")
    h.press("fchoice:catering")
    shot(h, "07-form-filled")
    h.press("freview")
    assert h.svc.flow.screen == S.FORM_REVIEW
    shot(h, "08-review")
    text = screen_text(h)
    assert "张*丰" in text and "138****5678" in text and "13812345678" not in text
    h.press("fconfirm")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    assert "申请表已填7/8项" in screen_text(h)
    assert h.until(lambda: h.svc.flow.s.print_state == "ok")
    shot(h, "09-ticket")
    paper = printed_bytes(fp, "申请表已填7/8项".encode("gb18030"))
    assert "申请表已填7/8项".encode("gb18030") in paper
    assert "张三丰".encode("gb18030") not in paper and ID_NO.encode() not in paper
    first = h.svc.flow.s.ticket

    # the clerk at W1 calls it and gets the form in full
    staff = bus_client(hall.hall.id, "staff")
    w1 = Requester(staff, "window", "W1")
    w1.call("login", {"staff": "S01"})
    w1.call("next", {})
    form = w1.call("form", {})
    assert form["ticket"] == first["ticket"] and (form["filled"], form["total"]) == (7, 8)
    assert form["values"] == {"name": "张三丰", "id_number": ID_NO, "phone": "13812345678",
                              "company_name": "西湖面馆", "registered_capital": "50",
                              "address": "杭州市文三路90", "food_category": "catering"}

    # --- the next matter: 社会保障卡申领 (M4); the kept profile fills what it knows
    h.press("done")
    assert h.svc.flow.s.form is None
    h.press("zone:Z2")
    h.press("target:M4")
    h.press("next")
    read_card(h, reader)
    h.press("fconsent:yes")
    assert h.until(lambda: h.svc.flow.screen == S.FORM)
    ff = h.svc.flow.s.form
    assert ff.prefilled == {"name", "phone", "address"}
    assert ff.values["address"] == "杭州市文三路90" and "已用您保存的信息自动填写" in screen_text(h)
    shot(h, "10-second-matter-prefilled")
    h.press("ffield:card_bank")
    h.press("fchoice:hzbank")
    h.press("freview")
    assert "共5项，已填5项，其中3项自动填写" in screen_text(h)
    h.press("fconfirm")
    h.press("take")
    assert h.until(lambda: h.svc.flow.screen == S.TICKET)
    assert "申请表已填5/5项" in screen_text(h)
    shot(h, "11-second-ticket")

    # --- the citizen erases the profile on a third visit; a timeout clears the screen
    h.press("done")
    h.press("zone:Z2")
    h.press("target:M4")
    h.press("next")
    read_card(h, reader)
    h.press("ferase")
    assert h.until(lambda: "已删除您保存的信息" in screen_text(h))
    shot(h, "12-erased")
    h.press("fconsent:yes")
    assert h.until(lambda: h.svc.flow.screen == S.FORM)
    assert h.svc.flow.s.form.prefilled == set()
    h.press("ffield:phone")
    type_on_screen(h, "138")
    h.svc.flow.last_touch -= hall.kiosks.timeouts.idle_s + 1      # the citizen walked away
    h.step()
    assert h.svc.flow.screen == S.HOME and h.svc.flow.s.form is None
    assert "138" not in screen_text(h) and "张" not in screen_text(h)
    shot(h, "13-timeout-home")


def test_ime_data_loads_in_the_background_at_start(hall, kiosk):
    from hall.broker import free_port
    from hall.bus import BusSettings
    h, _ = kiosk(hall, settings=BusSettings(port=free_port()), printer=False)
    end = time.monotonic() + 30
    from kiosk import ime
    while ime._params is None and time.monotonic() < end:
        time.sleep(0.05)
    assert ime._params is not None
