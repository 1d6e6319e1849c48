"""Cases in the engine (caller/case_desk.py): opened by a 受理 settle, moved from the
terminal, looked up at a kiosk with a second factor, warned on the right day,
restored after a restart — on the pure core with a store file, fake times."""

from __future__ import annotations

import msgspec
import pytest
import yaml

from caller.case_desk import UNSAVED_BATCHES, CaseDesk
from caller.engine import Refused
from caller.forms import Forms
from hall import messages as m
from hall.config import parse_config
from hall.crypto import DataCipher, new_key
from tests.conftest import small_raw
from tests.test_forms_engine import HERE, ID_NO, PERSON
from tests.test_ratings_core import Harness, at

FORM = {**PERSON, "company_name": "杭州西湖面馆有限公司", "registered_capital": "50",
        "address": "杭州市西湖区文三路 90 号"}


def hall_cfg():
    raw = small_raw()
    raw["forms"] = yaml.safe_load((HERE / "halls" / "forms.yaml").read_text(encoding="utf-8"))
    raw["cases"] = {"warn_days": 1, "query_failures": 3}
    for mt in raw["matters"]:
        mt["promise_days"] = 3
    return parse_config(raw)


def harness(tmp_path, now, key):
    cfg = hall_cfg()
    cipher = DataCipher(key)
    forms = Forms(cfg, cipher)
    return Harness(cfg, [forms, CaseDesk(cfg, cipher)], now, db_path=str(tmp_path / "cases.sqlite"))


def accept(h, matter="M1", form=FORM, window="W1", staff="S1"):
    t = h.do("kiosk.issue", "K1", matter=matter, **({"form": form} if form else {}))
    if h.e.windows[window].status == "closed":
        h.do("window.login", window, staff=staff)
    h.do("window.next", window)
    h.do("window.finish", window, outcome={"kind": "accepted"})
    return t


def test_a_case_opens_on_acceptance_with_its_deadline_and_a_masked_board(tmp_path):
    h = harness(tmp_path, at("2026-09-29", "10:00"), new_key())  # a Tuesday before 国庆
    accept(h)
    desk = h.exts[1]
    (number,) = desk.open
    case = desk._case(number)
    # 3 working days after 29 Sep: 30 Sep, then 8 and 9 Oct (1–7 October are 国庆)
    assert (case.case, case.stage, case.deadline, case.name_masked) == ("2026000001", "accepted", "2026-10-09", "张*丰")
    ident, board = h.take("stats.progress")[-1]
    row = board.cases[0]
    assert (ident, row.case, row.name, row.stage, row.deadline, row.days_left, row.overdue) == (
        "hall", "2026000001", "张*丰", "accepted", "2026-10-09", 3, False)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("cases.sqlite*"))
    for secret in (PERSON["name"], ID_NO, PERSON["phone"]):
        assert secret.encode() not in raw  # the applicant only as a DataCipher token


def test_the_whole_timeline_from_the_terminal_and_an_illegal_move(tmp_path):
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key())
    accept(h)
    for stage in ("review", "decided", "issuing", "ready"):
        view = h.do("window.case_step", "W1", case="2026000001", stage=stage, opinion=f"{stage} 同意")
    assert (view.stage, view.result, [s.stage for s in view.steps]) == (
        "ready", "early", ["accepted", "review", "decided", "issuing", "ready"])
    assert view.steps[-1].handler == "S1"
    with pytest.raises(Refused) as ei:
        h.do("window.case_step", "W1", case="2026000001", stage="review", opinion="x")
    assert ei.value.code == "bad_transition"
    assert h.exts[1].store.case("2026000001").stage == "ready"  # nothing changed
    _, depts = h.take("stats.case_depts")[-1]
    assert depts.departments["市场监督管理局"]["early"] == 1


def test_kiosk_look_up_needs_the_code_and_gives_no_oracle(tmp_path):
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key())
    accept(h)
    view = h.do("kiosk.case", "K2", case="2026000001", code=ID_NO[-4:])
    assert (view.name, view.stage, len(view.steps)) == ("张*丰", "accepted", 1)
    assert h.do("kiosk.case", "K2", case="2026000001", code=PERSON["phone"][-4:]).case == "2026000001"
    errors = []
    for case, code in (("2026000001", "1234"), ("2026999999", ID_NO[-4:]), ("2026000001", "0000")):
        with pytest.raises(Refused) as ei:
            h.do("kiosk.case", "K2", case=case, code=code)
        errors.append((ei.value.code, ei.value.message))
    assert errors == [("unknown_case", "no case with this number and code")] * 3  # alike: no oracle
    with pytest.raises(Refused) as ei:  # the right code, but this kiosk has guessed enough
        h.do("kiosk.case", "K2", case="2026000001", code=ID_NO[-4:])
    assert ei.value.code == "rate_limited"
    assert h.do("kiosk.case", "K3", case="2026000001", code=ID_NO[-4:]).case == "2026000001"


def test_warnings_on_the_right_day_acknowledged_and_cleared(tmp_path):
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key())  # Monday: due Thursday 19 Nov
    accept(h)
    h.take("alert.case")
    h.tick(at("2026-11-17", "09:00"))
    assert h.take("alert.case") == []
    h.tick(at("2026-11-18", "09:00"))  # one working day left: yellow
    ((ident, alert),) = h.take("alert.case")
    assert (ident, alert.level, alert.days_left, alert.acked) == ("2026000001", "yellow", 1, False)
    assert h.do("alert.case_ack", "admin1", case="2026000001").acked is True
    h.take("alert.case")
    h.tick(at("2026-11-20", "09:00"))  # past the deadline: red, a new acknowledgement is due
    ((_, alert),) = h.take("alert.case")
    assert (alert.level, alert.acked) == ("red", False)
    h.do("window.case_step", "W1", now=at("2026-11-20", "10:00"), case="2026000001", stage="review", opinion="")
    h.do("window.case_step", "W1", case="2026000001", stage="denied", opinion="不符合条件")
    assert h.take("alert.case")[-1] == ("2026000001", b"")  # decided: the warning is cleared


def test_restart_keeps_open_cases_and_numbering(tmp_path):
    key = new_key()
    h = harness(tmp_path, at("2026-11-16", "10:00"), key)
    accept(h)
    accept(h)
    h.store.close()
    h2 = harness(tmp_path, at("2026-11-17", "09:00"), key)
    assert sorted(h2.exts[1].open) == ["2026000001", "2026000002"]
    accept(h2, matter="M3", form=None)  # a matter without a form: a case all the same
    assert sorted(h2.exts[1].open)[-1] == "2026000003"
    assert h2.do("kiosk.case", "K1", case="2026000002", code=ID_NO[-4:]).matter == "有限责任公司设立登记"
    assert h2.exts[1]._case("2026000003").name_masked == ""


def test_the_terminal_lists_its_window_s_and_its_departments_open_cases(tmp_path):
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key())
    accept(h)                        # W1, M1 (市场监督管理局)
    accept(h, matter="M3", form=None, window="W2", staff="S2")
    accept(h, window="W1")
    h.do("window.case_step", "W1", case="2026000003", stage="withdrawn", opinion="申请人撤回")
    mine = h.do("window.cases", "W1", scope="window")
    assert ([c.case for c in mine.cases], mine.total) == (["2026000001"], 1)  # withdrawn: no longer open
    row = mine.cases[0]
    assert (row.name, row.matter, row.stage, row.deadline, row.days_left) == ("张*丰", "M1", "accepted", "2026-11-19", 3)
    depts = {c.department for c in h.do("window.cases", "W2", scope="department").cases}
    served = {h.cfg.matter(mid).department.get("zh-CN") for mid in h.e.routing.skills["W2"] if h.cfg.matter(mid)}
    assert depts and depts <= served
    with pytest.raises(Refused) as ei:
        h.do("window.cases", "W99")
    assert ei.value.code == "unknown_window"


def test_the_list_offers_each_case_exactly_the_moves_the_timeline_allows(tmp_path):
    """The terminal offers what the list's ``next`` says: the engine's own table, and for a
    case in 补正中 the stage it left (not the table's empty row)."""
    from caller.cases import TRANSITIONS
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key())
    accept(h)
    accept(h, window="W1")
    h.do("window.case_step", "W1", case="2026000002", stage="review", opinion="")
    h.do("window.case_step", "W1", case="2026000002", stage="correction", opinion="缺营业执照复印件")
    got = h.do("window.cases", "W1", scope="window").next
    assert got == {"2026000001": ["review", "correction", "withdrawn"], "2026000002": ["review", "withdrawn"]}
    assert got["2026000001"] == list(TRANSITIONS["accepted"])
    h.do("window.case_step", "W1", case="2026000002", stage="review", opinion="")  # what was offered is accepted
    assert h.do("window.cases", "W1", scope="window").next["2026000002"] == list(TRANSITIONS["review"])


def test_a_case_moved_twice_before_its_batch_is_committed_reads_its_own_step(tmp_path):
    # the engine applies batch N+1 while batch N waits for its fsync: the desk keeps the
    # whole records it changed until they are surely written, and reads them from there
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key())
    accept(h)
    desk, e, now = h.exts[1], h.e, h.now
    def step(stage):
        req = msgspec.convert({"id": stage, "case": "2026000001", "stage": stage, "opinion": "同意"},
                              m.CaseStepRequest)
        return desk.handle("window.case_step", "W1", req, e, now)[0]

    step("review")
    step("decided")  # in the same batch
    desk.on_events([], e, now)  # batch N ends; its commit has not happened
    view = step("issuing")  # in batch N+1
    assert [s.stage for s in view.steps] == ["accepted", "review", "decided", "issuing"]
    assert h.store.case("2026000001").stage == "accepted"  # the store has neither yet
    for _ in range(UNSAVED_BATCHES + 1):  # once the pipeline has surely written them: from the store
        desk.on_events([], e, now)
    assert desk._full("2026000001").stage == "accepted"
