"""caller/cases.py on the real calendar: a weekend, 国庆 2026 and its 调休 Saturday."""

from __future__ import annotations

import datetime as dt

import pytest

from caller import cases as C
from caller.workdays import add_working_days, is_working_day
from hall.config import parse_config
from hall.config.queue import ServiceHours
from tests.conftest import small_raw

d = dt.date


def cfg(**hours):
    raw = small_raw()
    raw["service_hours"] = hours
    for mt in raw["matters"]:
        if mt["id"] == "M1":
            mt["promise_days"] = 5
    return parse_config(raw)


def test_working_days_follow_the_national_calendar_and_the_hall():
    h = ServiceHours(closed_dates=[d(2026, 11, 23)], extra_open_dates=[d(2026, 11, 28)])
    assert not is_working_day(d(2026, 10, 1), h)  # 国庆
    assert is_working_day(d(2026, 10, 10), h)  # 调休 Saturday
    assert not is_working_day(d(2026, 11, 23), h)  # the hall's own closure, a Monday
    assert is_working_day(d(2026, 11, 28), h)  # the hall opens a Saturday
    assert add_working_days(d(2026, 9, 25), 5, h) == d(2026, 10, 9)  # 28, 29, 30 Sep, 8, 9 Oct


def test_a_deadline_crosses_the_holiday_and_lands_on_the_make_up_day():
    c = cfg()
    case = C.open_case(c, "2026000001", "M1", "W1", "20260925-A001", "S1", d(2026, 9, 25), 0.0)
    assert (case.deadline, case.stage, case.department) == ("2026-10-09", "accepted", "市场监督管理局")
    assert C.days_left(c, case, d(2026, 9, 30)) == 2  # 8 and 9 October
    case6 = C.open_case(c, "2026000002", "M1", "W1", None, "S1", d(2026, 9, 30), 0.0)
    assert case6.deadline == "2026-10-13"  # 8, 9, 10 (调休 Saturday), 12, 13 October


def test_whole_timeline_and_results():
    c = cfg()
    case = C.open_case(c, "2026000001", "M1", "W1", None, "S1", d(2026, 11, 16), 0.0)
    assert case.deadline == "2026-11-23"
    for stage in ("review", "decided", "issuing", "ready"):
        case = C.step(c, case, stage, "S2", f"{stage} ok", d(2026, 11, 20), 1.0)
    assert case.result == "early" and case.stage == "ready"
    case = C.step(c, case, "collected", "S3", "", d(2026, 11, 24), 2.0)
    assert [s.stage for s in case.steps] == ["accepted", "review", "decided", "issuing", "ready", "collected"]
    assert case.result == "early"  # judged when decided, not when collected


@pytest.mark.parametrize("start, stage", [("accepted", "ready"), ("accepted", "denied"),
                                          ("accepted", "collected"), ("review", "accepted")])
def test_illegal_moves_are_refused_and_change_nothing(start, stage):
    c = cfg()
    case = C.open_case(c, "2026000001", "M1", "W1", None, "S1", d(2026, 11, 16), 0.0)
    if start == "review":
        case = C.step(c, case, "review", "S2", "", d(2026, 11, 16), 1.0)
    before = case
    with pytest.raises(C.CaseError) as ei:
        C.step(c, case, stage, "S2", "why", d(2026, 11, 17), 2.0)
    assert ei.value.code == "bad_transition"
    assert case is before and case.stage == start and len(case.steps) == (1 if start == "accepted" else 2)


def test_correction_stops_the_clock_and_resumes_where_it_left():
    c = cfg()
    case = C.open_case(c, "2026000001", "M1", "W1", None, "S1", d(2026, 11, 16), 0.0)  # due 23 Nov
    case = C.step(c, case, "review", "S2", "", d(2026, 11, 17), 1.0)
    with pytest.raises(C.CaseError):
        C.step(c, case, "correction", "S2", "", d(2026, 11, 18), 2.0)  # needs what is missing
    case = C.step(c, case, "correction", "S2", "缺少住所证明", d(2026, 11, 18), 2.0)  # Wednesday
    assert C.warning_for(c, case, d(2026, 11, 30), 2) == ""  # waiting for the citizen: no alarm
    assert C.allowed(case) == ("review", "withdrawn")
    case = C.step(c, case, "review", "S2", "材料已补齐", d(2026, 11, 23), 3.0)  # next Monday: 3 working days
    assert case.deadline == "2026-11-26"  # 23 Nov + 3 working days
    assert case.resume is None and case.stage == "review"


def test_warnings_yellow_then_red_and_extension():
    c = cfg()
    case = C.open_case(c, "2026000001", "M1", "W1", None, "S1", d(2026, 11, 16), 0.0)  # due Mon 23 Nov
    assert C.warning_for(c, case, d(2026, 11, 18), 2) == ""
    assert C.warning_for(c, case, d(2026, 11, 19), 2) == "yellow"  # Thu: Fri and Mon left
    assert C.warning_for(c, case, d(2026, 11, 23), 2) == "yellow"  # the day itself
    assert C.warning_for(c, case, d(2026, 11, 24), 2) == "red"
    longer = C.extend(c, case, 3, "S9", "需要现场核查", 5.0)
    assert longer.deadline == "2026-11-26" and longer.extensions == 1
    assert C.warning_for(c, longer, d(2026, 11, 24), 2) == "yellow"
    done = C.step(c, C.step(c, longer, "review", "S2", "", d(2026, 11, 25), 6.0), "denied", "S2",
                  "不符合条件", d(2026, 11, 27), 7.0)
    assert done.result == "overdue" and C.warning_for(c, done, d(2026, 11, 30), 2) == ""
