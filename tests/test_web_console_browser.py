"""The admin console in a real headless Chromium (Debian's chromium + chromium-driver,
driven by selenium): the admin's live dashboard, a supervisor acknowledging 空岗, an
auditor refused. Screenshots go to tests/artifacts/screens/admin/ (and to
docs/screens/admin/ with ONEWINDOW_PUBLISH_SCREENS=1)."""

from __future__ import annotations

import pytest

from hall.config import parse_config
from tests.test_web_browser import browser, wait  # noqa: F401  (the Chromium fixture)
from tests.test_web_browser import shot as browser_shot
from tests.test_web_console import PASSWORDS, accounts, console_raw, serve_one_with_a_bad_review
from tests.web_kit import WebServer

pytestmark = pytest.mark.broker


def shot(drv, name: str) -> None:
    browser_shot(drv, name, "admin")


def data(drv, expr: str):
    return drv.execute_script(f"return window.consoleData && window.consoleData.{expr};")


def login(drv, url: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    drv.delete_all_cookies()
    drv.get(f"{url}/admin/login")
    drv.find_element(By.ID, "user").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(password)
    drv.find_element(By.ID, "login-btn").click()
    wait(drv, lambda d: data(d, "dashboard") and data(d, "alerts.length") > 0, what=f"{user}'s dashboard")


def test_admin_supervisor_and_auditor_click_through_the_console(running_engine, broker, bus_client, browser):
    from selenium.webdriver.common.by import By
    cfg = parse_config(console_raw())
    running_engine(config=cfg)
    web = WebServer(cfg, broker.settings, accounts=accounts()).start()
    try:
        bus = bus_client(cfg.hall.id, "probe")
        d = browser
        by = d.find_element

        # --- a wrong password
        d.get(f"{web.url}/admin/login")
        by(By.ID, "user").send_keys("admin1")
        by(By.ID, "password").send_keys("not-the-password")
        by(By.ID, "login-btn").click()
        wait(d, lambda d: d.find_elements(By.ID, "login-error"), what="login error")
        assert "账号或密码错误" in by(By.ID, "login-error").text
        shot(d, "01-login-wrong-password")

        # --- the admin: the dashboard changes live as W1 serves two citizens
        login(d, web.url, "admin1", PASSWORDS["admin1"])
        t = serve_one_with_a_bad_review(bus)
        wait(d, lambda d: data(d, "dashboard.hall.served") == 1 and
             any(a["kind"] == "followup" for a in data(d, "alerts")), what="served and follow-up shown")
        row = by(By.CSS_SELECTOR, 'tr[data-window="W1"]').text
        assert "王芳" in row and "服务中" in row
        assert t["number"] in by(By.ID, "alerts").text and "差评回访" in by(By.ID, "alerts").text
        body = by(By.TAG_NAME, "body").text
        assert "13812345678" not in body and "11010519491231002X" not in body
        shot(d, "02-admin-dashboard")

        # --- the supervisor acknowledges W2's 空岗
        login(d, web.url, "sup1", PASSWORDS["sup1"])
        key = next(a["key"] for a in data(d, "alerts") if a["key"].startswith("unattended:W2:"))
        by(By.CSS_SELECTOR, f'button[data-ack="{key}"]').click()
        wait(d, lambda d: any(a["key"] == key and a["ack"] for a in data(d, "alerts")), what="acknowledged")
        assert "已确认：sup1" in by(By.CSS_SELECTOR, f'tr[data-key="{key}"]').text
        assert web.ctx.acks.get([key])[key].by == "sup1"
        shot(d, "03-supervisor-acknowledged")

        # --- the auditor: the buttons are off, and a forced request is refused
        login(d, web.url, "aud1", PASSWORDS["aud1"])
        other = next(a["key"] for a in data(d, "alerts") if a["key"].startswith("unattended:W3:"))
        assert not by(By.CSS_SELECTOR, f'button[data-ack="{other}"]').is_enabled()
        d.execute_script("window.consoleAck(arguments[0]);", other)
        wait(d, lambda d: data(d, "lastAck"), what="the refused request's answer")
        assert data(d, "lastAck.status") == 403 and data(d, "lastAck.body.error.code") == "forbidden"
        assert "无权限" in by(By.ID, "toast").text
        assert web.ctx.acks.get([other]) == {}
        shot(d, "04-auditor-refused")
    finally:
        web.stop()


def cfg_data(drv, expr: str):
    return drv.execute_script(f"return window.configPage && window.configPage.{expr};")


def test_admin_changes_a_window_with_its_diff_a_stale_change_is_refused_and_the_auditor_cannot(
        running_engine, broker, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.test_web_console import ConsoleUser
    cfg = parse_config(console_raw())
    eng = running_engine(config=cfg)
    web = WebServer(cfg, broker.settings, accounts=accounts(), admin_id="admin").start()
    other = ConsoleUser(web)
    try:
        d = browser
        by = d.find_element
        login(d, web.url, "admin1", PASSWORDS["admin1"])
        by(By.CSS_SELECTOR, 'a.nav[href="/admin/config"]').click()
        wait(d, lambda d: cfg_data(d, "history.length") == 1, what="the config page and its history")

        # --- W4 also takes 食品经营许可 (M2) at weight 2: the diff first, then applied
        Select(by(By.ID, "op")).select_by_value("window_matters")
        Select(by(By.ID, "subject")).select_by_value("W4")
        wait(d, lambda d: cfg_data(d, "form") == "window_matters:W4", what="W4's form")
        m2 = by(By.CSS_SELECTOR, '[data-input="serves"] input[data-key="M2"]')
        assert m2.get_attribute("value") == "0"
        m2.clear()
        m2.send_keys("2")
        by(By.ID, "preview").click()
        wait(d, lambda d: cfg_data(d, "preview"), what="the preview")
        diff = by(By.ID, "diff").text
        assert "+    M2: 2" in diff and "--- revision 0" in diff
        assert eng.config.window("W4").serves == {"M3": 9}
        shot(d, "05-config-diff")
        by(By.ID, "apply").click()
        wait(d, lambda d: by(By.ID, "revision").text == "当前修订 1", what="revision 1 in force")
        assert eng.config.window("W4").serves == {"M3": 9, "M2": 2}
        assert eng.config_admin.revisions[1].audit.by == "admin1"
        wait(d, lambda d: "admin1" in by(By.CSS_SELECTOR, '#history tr[data-revision="1"]').text, what="history")

        # --- a stale change: previewed here, but another admin changes the config first
        Select(by(By.ID, "op")).select_by_value("window_open")
        Select(by(By.ID, "subject")).select_by_value("W3")
        wait(d, lambda d: cfg_data(d, "form") == "window_open:W3", what="W3's form")
        by(By.CSS_SELECTOR, '[data-input="attended"]').click()  # close W3
        by(By.ID, "preview").click()
        wait(d, lambda d: cfg_data(d, "preview") and cfg_data(d, "preview.base") == 1, what="the second preview")
        assert other.login("admin1", PASSWORDS["admin1"]).status_code == 303
        theirs = other.post("/admin/config/preview", {"op": "notice", "subject": "",
                                                      "params": {"zh": "系统升级", "en": "Upgrade"}}).json()
        assert other.post("/admin/config/apply", {"token": theirs["token"]}).json()["revision"] == 2
        by(By.ID, "apply").click()
        wait(d, lambda d: cfg_data(d, "applied.status") == 409, what="the stale refusal")
        assert cfg_data(d, "applied.body.error.code") == "stale_config"
        assert "配置已被他人修改" in by(By.ID, "problems").text and "配置已被他人修改" in by(By.ID, "toast").text
        assert "revision" not in by(By.ID, "toast").text  # the engine's English words stay in the logs
        assert eng.config.window("W3").attended is True and eng.config_admin.revision == 2
        shot(d, "06-config-stale-refused")

        # --- the auditor sees the config and its history; every change is off
        login(d, web.url, "aud1", PASSWORDS["aud1"])
        d.get(f"{web.url}/admin/config")
        wait(d, lambda d: cfg_data(d, "history.length") == 3, what="the auditor's history")
        Select(by(By.ID, "op")).select_by_value("window_matters")
        wait(d, lambda d: cfg_data(d, "form") == "window_matters:W1", what="a form")
        assert not by(By.ID, "preview").is_enabled()
        assert not by(By.CSS_SELECTOR, '[data-input="serves"] input').is_enabled()
        assert not by(By.CSS_SELECTOR, 'button[data-rollback="1"]').is_enabled()
        assert not d.find_elements(By.ID, "export")
        d.execute_script("window.configRollback = null; fetch('/admin/config/rollback', {method: 'POST', "
                         "headers: {'Content-Type': 'application/json', 'X-CSRF-Token': "
                         "document.querySelector('meta[name=csrf]').content}, body: JSON.stringify("
                         "{revision: 0, base: 2})}).then(r => window.forced = r.status);")
        wait(d, lambda d: d.execute_script("return window.forced;"), what="the forced rollback's answer")
        assert d.execute_script("return window.forced;") == 403 and eng.config_admin.revision == 2
        shot(d, "07-config-auditor-readonly")
    finally:
        other.close()
        web.stop()


def test_supervisor_sees_a_long_queue_and_the_imbalance_suggestion_and_acknowledges_it(
        running_engine, broker, bus_client, browser):
    from selenium.webdriver.common.by import By

    from hall.bus import Requester
    raw = console_raw()
    raw["supervision"] = {"long_queue": 5, "imbalance": 3.0, "hold_s": 0}
    # the engine runs on the real clock: without quiet_before_break_minutes 0 the
    # balancer suggests nothing in the last half hour of the day (23:30 hall time)
    raw["queue"]["balance"] = {"mode": "suggest", "busy_minutes": 30, "idle_minutes": 12, "every_s": 10,
                               "quiet_before_break_minutes": 0}
    next(w for w in raw["windows"] if w["id"] == "W5")["authorised"] = ["Z1"]
    cfg = parse_config(raw)
    running_engine(config=cfg)
    web = WebServer(cfg, broker.settings, accounts=accounts()).start()
    try:
        bus = bus_client(cfg.hall.id, "probe")
        for w, staff in (("W1", "S001"), ("W5", "S005"), ("W6", "S006")):
            Requester(bus, "window", w).call("login", {"staff": staff})
        kiosk = Requester(bus, "kiosk", "K1")
        for mt in ["M1"] * 6 + ["M2", "M3", "M4", "M6"]:
            kiosk.call("issue", {"matter": mt})
        d = browser
        by = d.find_element
        login(d, web.url, "sup1", PASSWORDS["sup1"])
        wait(d, lambda d: {"long_queue", "imbalance"} <= {a["kind"] for a in data(d, "alerts")}
             and any(a["kind"] == "imbalance" and "建议" in a["text"] for a in data(d, "alerts")),
             timeout=30, what="the long queue and the imbalance with its suggestion")
        imb = next(a for a in data(d, "alerts") if a["kind"] == "imbalance")
        assert "建议 5号窗口 加办「有限责任公司设立登记」" in imb["text"], imb["text"]
        lq = next(a for a in data(d, "alerts") if a["kind"] == "long_queue")
        assert lq["text"] == "「有限责任公司设立登记」6 人等候（超过 5 人）"
        by(By.CSS_SELECTOR, f'button[data-ack="{imb["key"]}"]').click()
        wait(d, lambda d: any(a["key"] == imb["key"] and a["ack"] for a in data(d, "alerts")), what="acknowledged")
        assert "已确认：sup1" in by(By.CSS_SELECTOR, f'tr[data-key="{imb["key"]}"]').text
        shot(d, "08-supervision-alerts")
    finally:
        web.stop()
