"""Reports: the 效能指数 worked by hand, a simulated month through the real
engine core and store into CSV and XLSX (read back with openpyxl), and
`onewindow report`."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from click.testing import CliRunner

from caller.store import Store
from hall.config import ConfigError, parse_config
from hall.daystats import DayStat, figures, merge
from reports import export
from reports.cli import cmd as report_cmd
from reports.efficiency import ranking
from reports.history import History
from reports.tables import COLUMNS, HEAD, build

from .conftest import small_raw
from .report_kit import november

MONTH = "2026-11"


def staff(key: str, **kw) -> DayStat:
    return DayStat(day="2026-11", scope="staff", key=key, **kw)


def test_the_efficiency_index_of_a_small_case_matches_the_hand_computation():
    w = parse_config(small_raw()).reports.efficiency  # defaults: .3 .2 .2 .2 .1, 2 points
    a = staff("S1", served=80, cases={"early": 3, "on_time": 1, "overdue": 1}, levels={5: 30, 4: 8, 2: 2},
              open_s=9000, paused_s=1000)
    b = staff("S2", served=100, levels={5: 50}, open_s=10000)
    c = staff("S3", served=80, cases={"early": 3, "on_time": 1, "overdue": 1}, levels={5: 30, 4: 8, 1: 2},
              open_s=9000, paused_s=1000)
    r = ranking([a, b, c], w)
    # S1: served 80/100 = .8, early 3/5 = .6, on time 1 − 1/5 = .8, satisfaction 38/40 = .95,
    # discipline 9000/10000 = .9 → 100 × (.3·.8 + .2·.6 + .2·.8 + .2·.95 + .1·.9) / 1.0 = 80,
    # minus 2 points × 2 bad reviews per 100 served (2·100·2/80 = 5) = 75.00
    # S2: no decided case: 100 × (.3·1 + .2·1 + .1·1) / .6 = 100.00
    assert [(s.key, s.score, s.rank) for s in r] == [("S2", 100.0, 1), ("S1", 75.0, 2), ("S3", 75.0, 2)]
    assert r[1].terms == {"served": 0.8, "early": 0.6, "on_time": 0.8, "satisfaction": 0.95, "discipline": 0.9}
    assert r[1].bad == 2 and r[0].terms["early"] is None
    # the weights are the hall's: satisfaction alone, no complaint points
    raw = small_raw()
    raw["reports"] = {"efficiency": {"served": 0, "early": 0, "on_time": 0, "satisfaction": 1, "discipline": 0,
                                     "complaint_points": 0}}
    only = ranking([a, b], parse_config(raw).reports.efficiency)
    assert [(s.key, s.score) for s in only] == [("S2", 100.0), ("S1", 95.0)]
    raw["reports"]["efficiency"]["satisfaction"] = 0
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert "reports.efficiency" in str(e.value) and "at least one weight" in str(e.value)
    raw["reports"] = {"efficiency": {"served": 1, "bonus": 2}}
    with pytest.raises(ConfigError, match="reports.efficiency.bonus"):
        parse_config(raw)


@pytest.fixture(scope="module")
def month():
    """November 2026 of the small hall (21 working days), seeded, through the real engine core and store."""
    db, days = november()
    store = Store(db)
    store.open()
    by_day = {day: store.tickets_of_day(day) for day in days}  # for the independent counts below
    store.close()
    return parse_config(small_raw()), db.parent, days, by_day


def test_a_simulated_month_gives_aggregates_that_the_tickets_confirm(month):
    cfg, d, days, by_day = month
    assert len(days) == 21  # the Mondays to Fridays of November 2026 (no holiday in it)
    h = History(d / "caller.sqlite").open()
    rows = h.rows(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    h.close()
    hall = {r.day: r for r in rows if r.scope == "hall"}
    assert sorted(hall) == days
    for day, ts in by_day.items():  # counted again from the raw tickets, another way
        s = hall[day]
        assert s.issued == len(ts) > 50
        assert s.served == sum(t.state == "done" for t in ts)
        assert s.outcomes.get("correction", 0) == sum(bool(t.outcome and t.outcome.kind == "correction")
                                                      for t in ts) > 0
        waits = sorted(int((t.first_called_at - t.issued_at) // 60) for t in ts if t.first_called_at)
        assert sum(s.wait_hist.values()) == len(waits) and figures(s)["median_wait_min"] == \
            waits[(len(waits) + 1) // 2 - 1]
        assert 0 < s.open_s and 0 < figures(s)["utilisation"] <= 1
    # the windows add up to the hall: served, and open time
    for day in days:
        wins = [r for r in rows if r.day == day and r.scope == "window"]
        assert sum(w.served for w in wins) == hall[day].served
        assert abs(sum(w.open_s for w in wins) - hall[day].open_s) < 0.001 * len(wins)  # each rounded to ms
    # the month's median is the median of all the month's waits, not of the daily medians
    all_waits = sorted(int((t.first_called_at - t.issued_at) // 60) for ts in by_day.values() for t in ts
                       if t.first_called_at)
    month_hall = merge(hall.values())
    assert figures(month_hall)["median_wait_min"] == all_waits[(len(all_waits) + 1) // 2 - 1]
    assert figures(month_hall)["p90_wait_min"] == all_waits[-(-9 * len(all_waits) // 10) - 1]


def test_csv_and_xlsx_hold_exactly_the_aggregates(month, tmp_path):
    cfg, d, days, by_day = month
    result = CliRunner().invoke(report_cmd, ["--config", str(_config_file(tmp_path)), "--db",
                                             str(d / "caller.sqlite"), "--month", MONTH, "--out",
                                             str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"report-{MONTH}{x}" for x in (
        ".csv", "-by-day.csv", "-efficiency.csv", ".xlsx", ".md", "-arrivals.png", "-waits.png",
        "-satisfaction.png", "-utilisation.png")])
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    h = History(d / "caller.sqlite").open()
    rows = h.rows(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    h.close()
    expected = {}
    for scope_key in {(r.scope, r.key) for r in rows}:
        expected[scope_key] = figures(merge((r for r in rows if (r.scope, r.key) == scope_key), scope=scope_key[0]))
    fields = [f for f, _t in HEAD + COLUMNS]
    scope_of = {"全厅": "hall", "区域": "zone", "部门": "department", "事项": "matter", "窗口": "window",
                "工作人员": "staff"}

    raw = (out / f"report-{MONTH}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel and WPS read it as UTF-8
    table = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert table[0] == [t for _f, t in HEAD + COLUMNS]
    seen = set()
    for line in table[1:]:
        row = dict(zip(fields, line))
        key = (scope_of[row["scope"]], row["key"])
        seen.add(key)
        for f, _t in COLUMNS:
            v = expected[key][f]
            assert row[f] == ("" if v is None else str(v)), (key, f)
    assert seen == set(expected)
    hall_row = next(line for line in table[1:] if line[1] == "全厅")
    assert int(hall_row[4]) == sum(len(ts) for ts in by_day.values())  # issued: every ticket of the month

    wb = openpyxl.load_workbook(out / f"report-{MONTH}.xlsx", read_only=True)
    assert wb.sheetnames == ["汇总", "按期间", "效能指数-部门", "效能指数-人员"]
    sheet = list(wb["汇总"].iter_rows(values_only=True))
    assert list(sheet[0]) == [t for _f, t in HEAD + COLUMNS]
    assert len(sheet) - 1 == len(expected)
    for line in sheet[1:]:
        row = dict(zip(fields, line))
        key = (scope_of[row["scope"]], row["key"])
        for f, _t in COLUMNS:
            assert row[f] == expected[key][f], (key, f)
    per_day = list(wb["按期间"].iter_rows(values_only=True))
    hall_days = [r for r in per_day[1:] if r[1] == "全厅"]
    assert [r[0] for r in hall_days] == days
    ranking_rows = list(wb["效能指数-人员"].iter_rows(values_only=True))
    rep = build(cfg, rows, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [(r[0], r[1], r[3]) for r in ranking_rows[1:]] == [(s.rank, s.key, s.score)
                                                              for s in rep.efficiency["staff"]]
    assert [r[3] for r in ranking_rows[1:]] == sorted((r[3] for r in ranking_rows[1:]), reverse=True)
    wb.close()
    md = (out / f"report-{MONTH}.md").read_text("utf-8")
    assert "2026年11月" in md and "部门效能指数排名" in md and f"report-{MONTH}-waits.png" in md


def _config_file(tmp_path):
    import yaml
    p = tmp_path / "hall.yaml"
    p.write_text(yaml.safe_dump(small_raw(), allow_unicode=True), encoding="utf-8")
    return p


def test_the_report_reads_only_the_aggregates_and_refuses_a_database_without_them(tmp_path):
    import sqlite3
    old = tmp_path / "old.sqlite"
    sqlite3.connect(old).execute("CREATE TABLE tickets (id TEXT)").connection.commit()
    r = CliRunner().invoke(report_cmd, ["--config", str(_config_file(tmp_path)), "--db", str(old),
                                        "--month", MONTH, "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "no daily aggregates" in r.output
    r = CliRunner().invoke(report_cmd, ["--config", str(_config_file(tmp_path)), "--db", str(old),
                                        "--month", "2026-13", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "YYYY-MM" in r.output


def test_the_readers_cannot_write_the_engine_database(month):
    """Reports open the engine's file read-only: a bug in them cannot touch a ticket or an aggregate."""
    import sqlite3
    cfg, d, days, by_day = month
    h = History(d / "caller.sqlite").open()
    try:
        assert h.days() == (days[0], days[-1])
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            h._db.execute("DELETE FROM day_stats")
    finally:
        h.close()
