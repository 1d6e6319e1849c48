"""The console's report pages (/admin/reports) over HTTP: every role reads them,
the figures are the aggregates', exports open, a bad request is refused."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from hall.config import parse_config
from hall.daystats import figures, merge
from reports.history import History
from tests.test_web_console import PASSWORDS, ConsoleUser, accounts, logins
from tests.web_kit import WebServer

from .conftest import small_raw
from .report_kit import november

pytestmark = pytest.mark.broker


@pytest.fixture
def reports_web(broker):
    db, days = november()
    raw = small_raw()
    raw["staff"] = [{"id": f"S{i:03d}", "name": n, "windows": ["W1"], "pin_hash": "$argon2id$v=19$m=8,t=1,p=1$"
                     "c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"} for i, n in enumerate(
                         ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊"])]
    cfg = parse_config(raw)
    web = WebServer(cfg, broker.settings, accounts=accounts())
    web.ctx.history_db = str(db)
    web.start()
    users = logins(web)
    user = users.login
    yield cfg, web, db, days, user
    users.close()
    web.stop()


def test_every_role_reads_the_month_and_its_exports(reports_web):
    cfg, web, db, days, user = reports_web
    h = History(db).open()
    rows = h.rows(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    h.close()
    hall = figures(merge(r for r in rows if r.scope == "hall"))
    for name in ("aud1", "sup1", "admin1"):  # the auditor too: reading changes nothing
        u = user(name)
        r = u.get("/admin/reports?month=2026-11&by=week&scope=staff")
        assert r.status_code == 200, r.text
        page = r.text
        assert f'data-k="issued">{hall["issued"]}<' in page and f'data-k="served">{hall["served"]}<' in page
        assert 'id="eff-department"' in page and "市场监督管理局" in page and "王芳" in page  # staff by name
        assert "2026-W45" in page and "2026-W49" in page  # by ISO week
    png = u.get("/admin/reports/chart/utilisation.png?month=2026-11")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    x = u.get("/admin/reports/export.xlsx?month=2026-11")
    assert x.status_code == 200 and "report-2026-11.xlsx" in x.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True)
    first = [list(r) for r in wb["汇总"].iter_rows(values_only=True)]
    hall_row = next(r for r in first if r[1] == "全厅")
    assert hall_row[4:7] == [hall["issued"], hall["called"], hall["served"]]
    c = u.get("/admin/reports/export.csv?month=2026-11&by=day&table=period")
    assert c.status_code == 200 and c.content.startswith(b"\xef\xbb\xbf")
    assert sum(line.startswith(b"2026-11-") and "全厅".encode() in line for line in c.content.splitlines()) \
        == len(days)


def test_reports_need_a_session_and_refuse_a_bad_request(reports_web):
    cfg, web, db, days, user = reports_web
    anon = ConsoleUser(web)
    assert anon.get("/admin/reports").status_code == 303  # to the login page
    assert anon.get("/admin/reports/export.xlsx?month=2026-11").status_code == 401
    assert anon.get("/admin/reports/chart/waits.png?month=2026-11").status_code == 401
    anon.close()
    u = user("aud1")
    r = u.get("/admin/reports?month=2026-13")
    assert r.status_code == 400 and "YYYY-MM" in r.text
    assert u.get("/admin/reports?month=2026-11&scope=citizen").status_code == 400
    assert u.get("/admin/reports/chart/phones.png?month=2026-11").status_code == 404
    assert u.get("/admin/reports/export.sql?month=2026-11").status_code == 404
    empty = u.get("/admin/reports?month=2026-10")  # before the history: a page that says so
    assert empty.status_code == 200 and 'id="empty"' in empty.text


def test_a_dead_drawing_process_is_replaced_and_the_chart_still_comes(reports_web):
    """The charts are drawn in worker processes: one killed (out of memory, say) must not
    leave the console without charts until a restart."""
    import os
    import signal

    from web.console import reports
    cfg, web, db, days, user = reports_web
    u = user("aud1")
    assert u.get("/admin/reports/chart/waits.png?month=2026-11").status_code == 200
    pool = reports.start_pool()
    for pid in list(pool._processes):  # the pool's own processes, by their pids
        os.kill(pid, signal.SIGKILL)
    r = u.get("/admin/reports/chart/arrivals.png?month=2026-11")  # not drawn yet: needs a worker
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert reports.start_pool() is not pool


def test_without_the_engine_database_the_page_says_so(broker):
    web = WebServer(parse_config(small_raw()), broker.settings, accounts=accounts())
    web.ctx.history_db = "/nonexistent/caller.sqlite"
    web.start()
    try:
        u = ConsoleUser(web)
        assert u.login("aud1", PASSWORDS["aud1"]).status_code == 303
        r = u.get("/admin/reports?month=2026-11")
        assert r.status_code == 400 and "no such database" in r.text
        assert u.get("/admin/reports/export.xlsx?month=2026-11").status_code == 400
        assert u.get("/admin/").status_code == 200  # the rest of the console is unaffected
        u.close()
    finally:
        web.stop()
