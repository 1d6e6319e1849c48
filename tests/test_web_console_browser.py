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
