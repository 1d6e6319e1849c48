"""The window terminal in a real headless Chromium (Debian's chromium + chromium-driver,
driven by selenium): login, next, transfer, 补正 with its printed notice, finish, and an
engine going offline. Screenshots go to tests/artifacts/screens/terminal/ (and to
docs/screens/terminal/ with ONEWINDOW_PUBLISH_SCREENS=1)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from hall.bus import Requester
from tests.needs import check
from tests.test_engine_bus import Collector
from tests.web_kit import PIN, WebServer, terminal_config

pytestmark = pytest.mark.broker

ARTIFACTS = Path(__file__).parent / "artifacts" / "screens" / "terminal"
DOC_SCREENS = Path(__file__).parent.parent / "docs" / "screens" / "terminal"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1440,1000"]

FORM = {"company_name": "杭州西湖味道餐饮有限公司", "legal_person": "张三",
        "id_number": "11010519491231002X", "phone": "13812345678", "address": "杭州市西湖区文三路 90 号"}


@pytest.fixture
def browser():
    check(["chromium"])
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="onewindow-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for f in FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(f)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(20)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def shot(drv, name: str, area: str = "terminal") -> Path:
    """Save a screenshot under the area's artifacts (and docs/screens/<area>/ when publishing)."""
    art, docs = ARTIFACTS.parent / area, DOC_SCREENS.parent / area
    art.mkdir(parents=True, exist_ok=True)
    time.sleep(0.2)  # let the last paint land before the capture (not an assertion)
    path = art / f"{name}.png"
    drv.save_screenshot(str(path))
    if os.environ.get("ONEWINDOW_PUBLISH_SCREENS"):
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, docs / path.name)
    return path


def wait(drv, cond, timeout=10.0, what="condition"):
    """Until ``cond`` holds; an element the page re-rendered while it was read
    (stale) counts as "not yet", like one not there yet."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(drv, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                         ).until(lambda d: cond(d), message=what)


def press(drv, css: str, what: str = "") -> None:
    """Click an action button once it is enabled. The page disables every action while
    one is on its way (and until the engine is online); the state that a test waits for
    may come by SSE before that action's own reply, so a click right after such a wait
    can land on a disabled button and do nothing."""
    from selenium.webdriver.common.by import By
    wait(drv, lambda d: d.find_element(By.CSS_SELECTOR, css).is_enabled(), what=what or f"{css} enabled")
    drv.find_element(By.CSS_SELECTOR, css).click()


def key(drv, k: str, css: str) -> None:
    """Press a keyboard shortcut once the button it stands for (``css``) is enabled."""
    from selenium.webdriver.common.by import By
    wait(drv, lambda d: d.find_element(By.CSS_SELECTOR, css).is_enabled(), what=f"{css} enabled for {k!r}")
    drv.find_element(By.TAG_NAME, "body").send_keys(k)


def text_of(drv, elem_id: str, want: str) -> None:
    """Until the element shows ``want`` (state and visit come as separate events)."""
    from selenium.webdriver.common.by import By
    wait(drv, lambda d: d.find_element(By.ID, elem_id).text == want, what=f"#{elem_id} = {want!r}")


def print_view(drv, main: str, name: str, title: str, css: str) -> str:
    """Switch to the print view the page opened, shoot it as printed, close it;
    returns the text of ``css`` there."""
    from selenium.webdriver.common.by import By
    wait(drv, lambda d: len(d.window_handles) == 2, what=f"{name} opened")
    drv.switch_to.window([h for h in drv.window_handles if h != main][0])
    wait(drv, lambda d: title in d.title, what=f"{name} loaded")
    text = drv.find_element(By.CSS_SELECTOR, css).text
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    shot(drv, name)
    drv.close()
    drv.switch_to.window(main)
    return text


def data(drv, expr: str):
    """What the page shows, as data (window.terminalData)."""
    return drv.execute_script(f"return window.terminalData && window.terminalData.{expr};")


def test_clerk_clicks_through_login_next_transfer_correction_and_finish(
        running_engine, broker, bus_client, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    cfg = terminal_config()
    eng = running_engine(config=cfg)
    web = WebServer(cfg, broker.settings).start()
    try:
        bus = bus_client(cfg.hall.id, "probe")
        settled = Collector(bus, "window.settled", "W1")
        called = Collector(bus, "zone.called", "Z1")
        kiosk = Requester(bus, "kiosk", "K1")
        t1 = kiosk.call("issue", {"matter": "M1", "phone": "13812345678", "form": FORM,
                                  "answers": {"agent": "agent"}})
        t2 = kiosk.call("issue", {"bundle": "B1", "form": {"legal_person": "李四"}})
        kiosk.call("issue", {"matter": "M2"})
        d = browser
        by = d.find_element

        # --- login: a wrong PIN first
        d.get(f"{web.url}/terminal/login?window=W1")
        by(By.ID, "staff").send_keys("S001")
        by(By.ID, "pin").send_keys("999999")
        by(By.ID, "login-btn").click()
        wait(d, lambda d: d.find_elements(By.ID, "login-error"), what="login error")
        assert "工号或密码错误" in by(By.ID, "login-error").text
        shot(d, "01-login-wrong-pin")
        by(By.ID, "staff").clear()
        by(By.ID, "staff").send_keys("S001")
        by(By.ID, "pin").send_keys(PIN)
        by(By.ID, "login-btn").click()
        wait(d, lambda d: data(d, "queue.length") == 3, what="queue shown")
        text_of(d, "status", "服务中")
        assert "暂无" not in by(By.ID, "queue").text and "开办餐饮店一件事" in by(By.ID, "queue").text
        shot(d, "02-logged-in-queue")

        # --- next, by the keyboard shortcut
        key(d, "n", '[data-op="next"]')
        wait(d, lambda d: data(d, "visit") and data(d, "visit.number") == t1["number"], what="visit")
        text_of(d, "number", t1["number"])
        form_text = by(By.ID, "form").text
        assert "11010519491231002X" in form_text and "张三" in form_text  # in full, here only
        assert "138****5678" in by(By.ID, "phone").text
        assert "委托代理人" in by(By.ID, "answers").text
        shot(d, "03-called-with-form")
        main = d.current_window_handle
        d.execute_script("window.open('/terminal/print/form', '_blank')")
        text = print_view(d, main, "07-application-form-a4", "申请表", "table.fields")
        assert "杭州市西湖区文三路 90 号" in text

        # --- transfer to a matter of another zone, found by its pinyin initials
        press(d, '[data-dialog="transfer"]')
        by(By.ID, "transfer-q").send_keys("shbz")
        # the results of this query, not of "s" or "sh" answered while the clerk typed
        chosen = '#transfer-results[data-q="shbz"] li.sel'
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, chosen), what="search result")
        assert by(By.CSS_SELECTOR, chosen).text == "社会保障卡申领"
        shot(d, "04-transfer-by-initials")
        by(By.ID, "transfer-go").click()
        wait(d, lambda d: data(d, "visit") is None and data(d, "state.ticket") is None, what="transferred")
        t = eng.engine.tickets[t1["ticket"]]
        assert (t.service, t.state, t.number) == ("M4", "waiting", t1["number"])

        # --- next: the bundle; tick what was handed in; 补正 for the rest
        press(d, '[data-op="next"]')
        wait(d, lambda d: data(d, "visit") and data(d, "visit.number") == t2["number"], what="bundle visit")
        assert "有限责任公司设立登记、食品经营许可" in by(By.ID, "matter").text
        by(By.CSS_SELECTOR, '#materials input[value="id_card"]').click()
        by(By.CSS_SELECTOR, '#materials input[value="articles"]').click()
        press(d, '[data-dialog="finish"]')
        by(By.CSS_SELECTOR, 'input[name="outcome"][value="correction"]').click()
        missing = [e.get_attribute("value") for e in d.find_elements(By.CSS_SELECTOR, "#missing input:checked")]
        assert missing == ["lease"]  # the needed material not ticked (proxy is not needed: self)
        assert not by(By.ID, "notify-sms").is_enabled()  # no phone left: the notice is printed
        by(By.ID, "missing-note").send_keys("住所证明需产权人签字")
        shot(d, "05-finish-correction")
        by(By.ID, "finish-go").click()
        _, s = settled.get()
        assert (s["ticket"], s["outcome"]["kind"], s["outcome"]["missing"]) == (t2["ticket"], "correction", ["lease"])
        wait(d, lambda d: len(d.window_handles) == 2, what="notice print view opened")
        assert "住所使用证明" in print_view(d, main, "06-notice-print", "一次性告知", "ol.missing")

        # --- next (M2), finish 办结 by the keyboard
        key(d, "n", '[data-op="next"]')
        wait(d, lambda d: data(d, "state.ticket") and data(d, "state.ticket.name") == "食品经营许可", what="M2")
        key(d, "f", '[data-dialog="finish"]')
        wait(d, lambda d: by(By.ID, "dlg-finish").get_attribute("open") is not None, what="finish dialog")
        by(By.ID, "finish-go").click()
        assert settled.get()[1]["outcome"]["kind"] == "done"
        wait(d, lambda d: data(d, "state.ticket") is None, what="finished")

        # --- a double click on next: one call
        t4 = kiosk.call("issue", {"matter": "M1"})
        t5 = kiosk.call("issue", {"matter": "M1"})
        wait(d, lambda d: by(By.CSS_SELECTOR, '[data-op="next"]').is_enabled(), what="next enabled")
        d.execute_script("const b = document.querySelector('[data-op=\"next\"]'); b.click(); b.click();")
        wait(d, lambda d: data(d, "state.ticket") and data(d, "state.ticket.number") == t4["number"], what="t4")
        press(d, '[data-op="recall"]')
        numbers = []
        while True:  # up to the recall: the marker that every call before it has arrived
            _, ev = called.get()
            numbers.append((ev["number"], ev["recall"]))
            if ev["recall"]:
                break
        assert numbers[-2:] == [(t4["number"], 0), (t4["number"], 1)]
        assert t5["number"] not in [n for n, _ in numbers]

        # --- the engine goes away: a clear state, buttons off
        wait(d, lambda d: data(d, "queue.length") == 1 and data(d, "queue")[0]["waiting"] == 1, what="queue 1")
        eng.stop()
        wait(d, lambda d: "排队引擎离线" in by(By.ID, "engine-banner").text, what="offline banner")
        assert by(By.CSS_SELECTOR, '[data-op="recall"]').get_property("disabled")
        shot(d, "08-engine-offline")
    finally:
        web.stop()
