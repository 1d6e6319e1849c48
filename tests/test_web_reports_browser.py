"""The console's reports in a real headless Chromium: an auditor logs in, goes
from the dashboard to the month's report, its four charts load, the ranking
and the tables show; then switches to weeks and staff.  Screenshots go to
tests/artifacts/screens/admin/ (docs/screens/admin/ with ONEWINDOW_PUBLISH_SCREENS=1)."""

from __future__ import annotations

import pytest

from tests.test_web_browser import browser, wait  # noqa: F401  (the Chromium fixture)
from tests.test_web_console import PASSWORDS
from tests.test_web_console_browser import shot
from tests.test_web_console_reports import reports_web  # noqa: F401  (the web process with a month)

pytestmark = pytest.mark.broker


def loaded(drv, img_id: str) -> bool:
    return drv.execute_script(f"const i = document.getElementById('{img_id}'); "
                              "return !!i && i.complete && i.naturalWidth > 0;")


def test_an_auditor_opens_the_month_report_with_its_charts(reports_web, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    cfg, web, db, days, user = reports_web
    d = browser
    d.get(f"{web.url}/admin/login")
    d.find_element(By.ID, "user").send_keys("aud1")
    d.find_element(By.ID, "password").send_keys(PASSWORDS["aud1"])
    d.find_element(By.ID, "login-btn").click()
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, 'a.nav[href="/admin/reports"]'), what="the dashboard")
    d.find_element(By.CSS_SELECTOR, 'a.nav[href="/admin/reports"]').click()
    wait(d, lambda d: d.find_elements(By.ID, "month"), what="the reports page")
    Select(d.find_element(By.ID, "month")).select_by_value("2026-11")
    d.find_element(By.ID, "show").click()
    for name in ("arrivals", "waits", "satisfaction", "utilisation"):
        wait(d, lambda d, n=name: loaded(d, f"chart-{n}"), timeout=30, what=f"chart {name}")
    assert d.find_element(By.CSS_SELECTOR, '#kpis [data-k="issued"]').text.isdigit()
    ranks = d.find_elements(By.CSS_SELECTOR, "#eff-department tbody tr")
    assert len(ranks) == 3 and ranks[0].find_element(By.CSS_SELECTOR, "td").text == "1"
    assert "2026年11月" in d.find_element(By.CSS_SELECTOR, "section.hall h3").text
    d.set_window_size(1440, 2300)  # the whole page in one capture
    shot(d, "10-report-month")
    Select(d.find_element(By.ID, "by")).select_by_value("week")
    Select(d.find_element(By.ID, "scope")).select_by_value("staff")
    d.find_element(By.ID, "show").click()
    wait(d, lambda d: "2026-W45" in d.find_element(By.ID, "series").text, what="weeks by staff")
    wait(d, lambda d: "王芳" in d.find_element(By.ID, "totals").text, what="totals by staff")
    d.execute_script("document.getElementById('totals').scrollIntoView()")
    shot(d, "11-report-weeks-staff")
    d.set_window_size(1440, 1000)
