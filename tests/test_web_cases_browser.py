"""The clerk's cases (办件) on the window terminal in a real headless Chromium: the list of
this window's open cases (masked), a step with an opinion, a step the timeline refuses
(with the engine's reason, nothing changed), an extension with its reason, and the
department's list. Screenshots go to tests/artifacts/screens/terminal/."""

from __future__ import annotations

import pytest

from hall.bus import Requester
from hall.clock import ManualClock
from tests.test_forms_engine import data_key  # noqa: F401 (fixture)
from tests.test_ratings_core import at
from tests.test_web_browser import FORM, browser, shot, wait  # noqa: F401 (fixture)
from tests.web_kit import PIN, WebServer, terminal_config

pytestmark = pytest.mark.broker


def cases(drv, expr: str):
    return drv.execute_script(f"return window.terminalCases && window.terminalCases.{expr};")


def offered(drv) -> list[tuple[str, str]]:
    return [tuple(o) for o in drv.execute_script(
        'return [...document.querySelectorAll("#case-stage option")].map((o) => [o.value, o.textContent]);')]


def test_clerk_moves_and_extends_a_case_from_the_terminal(running_engine, broker, bus_client, browser,
                                                          data_key):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    cfg = terminal_config()
    clock = ManualClock(at("2026-09-30", "10:00"))  # the day before 国庆
    running_engine(config=cfg, clock=clock)
    bus = bus_client(cfg.hall.id, "probe")
    kiosk, w1 = Requester(bus, "kiosk", "K1"), Requester(bus, "window", "W1")
    for _ in range(2):  # two accepted visits at W1: two cases, due 13 October
        kiosk.call("issue", {"matter": "M1", "form": FORM})
    w1.call("login", {"staff": "S001"})
    for _ in range(2):
        w1.call("next", {})
        w1.call("finish", {"outcome": {"kind": "accepted"}})
    w1.call("logout", {})
    clock.set(at("2026-10-08", "09:30"))
    web = WebServer(cfg, broker.settings, clock=clock).start()
    try:
        d = browser
        by = d.find_element
        d.get(f"{web.url}/terminal/login?window=W1")
        by(By.ID, "staff").send_keys("S001")
        by(By.ID, "pin").send_keys(PIN)
        by(By.ID, "login-btn").click()
        wait(d, lambda d: cases(d, "rows.length") == 2, what="the case list")
        table = by(By.ID, "cases").text
        assert "2026000001" in table and "张*" in table and "有限责任公司设立登记" in table and "2026-10-13" in table
        assert FORM["id_number"] not in table and FORM["phone"] not in table and "张三" not in table  # masked
        by(By.CSS_SELECTOR, '#cases tr[data-case="2026000001"]').click()
        # only what the engine's timeline allows from 受理 is offered, named as the engine names it
        assert offered(d) == [("review", "审查"), ("correction", "补正中"), ("withdrawn", "撤回")]
        Select(by(By.ID, "case-stage")).select_by_value("review")
        by(By.ID, "case-opinion").send_keys("材料齐全，进入审查")
        by(By.ID, "case-step-go").click()
        wait(d, lambda d: cases(d, "rows[0].stage") == "review", what="the step shown")
        wait(d, lambda d: [v for v, _ in offered(d)] == ["decided", "correction", "denied", "withdrawn"],
             what="the moves from 审查 offered")  # 审查 → 已领取 is not: not offered
        shot(d, "20-cases-step")
        days = by(By.ID, "case-days")
        days.clear()
        days.send_keys("2")
        by(By.ID, "case-reason").send_keys("需现场核查")
        by(By.ID, "case-extend-go").click()
        # 13 October + 2 working days: 14, 15 October
        wait(d, lambda d: any(
            r["case"] == "2026000001" and r["deadline"] == "2026-10-15" for r in cases(d, "rows")),
            what="the extension shown")
        shot(d, "22-cases-extended")
        view = Requester(bus, "kiosk", "K1").call("case", {"case": "2026000001", "code": FORM["id_number"][-4:]})
        assert [(s["stage"], s["handler"], s["opinion"]) for s in view["steps"]] == [
            ("accepted", "S001", ""), ("review", "S001", "材料齐全，进入审查"),
            ("review", "S001", "延期 2 个工作日：需现场核查")]
        # a step the list offered but another terminal made first: the engine refuses it, the page
        # says so with the engine's own message and then offers what is allowed now
        Select(by(By.ID, "case-stage")).select_by_value("decided")
        w1.call("case_step", {"case": "2026000001", "stage": "decided", "opinion": ""})
        by(By.ID, "case-step-go").click()
        wait(d, lambda d: cases(d, "last") and cases(d, "last.ok") is False, what="the refusal")
        assert cases(d, "last.error.code") == "bad_transition"
        said = by(By.ID, "toast").text
        assert said == ("办理环节未完成：办件 2026000001 不能转到「决定」（case 2026000001 is 决定 (decided); it may go "
                        "to issuing, ready, correction, denied, withdrawn） (bad_transition)"), said
        wait(d, lambda d: cases(d, 'rows.find((r) => r.case === "2026000001").stage') == "decided"
             and [v for v, _ in offered(d)] == ["issuing", "ready", "correction", "denied", "withdrawn"],
             what="the list and the moves read again after the refusal")
        shot(d, "21-cases-refused")
        by(By.CSS_SELECTOR, 'input[name="case-scope"][value="department"]').click()
        wait(d, lambda d: cases(d, "scope") == "department" and cases(d, "rows.length") == 2,
             what="the department's list")
    finally:
        web.stop()
