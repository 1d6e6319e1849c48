"""The outside case system (审批系统): its CSV drop files through `onewindow case-adapter`
and a real mosquitto into the engine — a case opened the day before 国庆, moved through its
whole timeline across the holiday, a 调休 Saturday and a weekend, a refused move that
changes nothing, a file sent twice that does nothing twice, and the SMS sender's login
that may not speak for the outside system."""

from __future__ import annotations

import json
import time

import pytest

from caseadapter.csvdrop import BadRow, Row, parse
from caseadapter.service import CaseAdapter, Inbox
from hall.bus import RequestError, Requester
from hall.clock import ManualClock
from hall.config import parse_config
from tests.test_engine_bus import Collector
from tests.test_forms_engine import ID_NO, PERSON, data_key  # noqa: F401 (fixture)
from tests.test_ratings_core import at

HEADER = "action,ref,matter,stage,handler,opinion,days,accepted_on,name,id_number,phone,lang\n"


def with_system(cfg):
    raw = cfg.to_json_dict()
    raw["cases"] = {"systems": [{"id": "approval", "name": "审批系统"}]}
    return parse_config(raw)


def test_rows_become_requests_with_ids_stable_for_the_same_file():
    data = ("\ufeff" + HEADER +
            f"open,SP-1,M1,,李科员,材料齐全,,2026-09-30,{PERSON['name']},{ID_NO},13812345678,\n"
            "step,SP-1,,审查,王审查,,,,,,,\n"
            "extend,SP-1,,,王审查,专家评审,2,,,,,\n"
            "step,SP-1,,盖章,王审查,,,,,,,\n"
            "close,SP-1,,,王审查,,,,,,,\n"
            "extend,SP-1,,,王审查,专家评审,two,,,,,\n").encode()
    rows = parse(data)
    assert [type(r) for r in rows] == [Row, Row, Row, BadRow, BadRow, BadRow]
    opened, step, extend = rows[:3]
    assert (opened.op, opened.body) == ("case_open", {
        "ref": "SP-1", "matter": "M1", "handler": "李科员", "accepted_on": "2026-09-30", "opinion": "材料齐全",
        "name": PERSON["name"], "id_number": ID_NO, "phone": "13812345678"})
    assert (step.op, step.body) == ("case_step", {"ref": "SP-1", "stage": "review", "handler": "王审查",
                                                  "opinion": ""})
    assert (extend.op, extend.body) == ("case_extend", {"ref": "SP-1", "days": 2, "reason": "专家评审",
                                                        "handler": "王审查"})
    assert [(r.line, r.message) for r in rows[3:]] == [
        (5, "no stage '盖章'"), (6, "action must be one of open, step, extend"),
        (7, "days 'two' is not a number of working days")]
    assert [r.req_id for r in parse(data)[:3]] == [r.req_id for r in rows[:3]]
    assert len({r.req_id for r in rows[:3]}) == 3
    assert parse(b"action,colour\nopen,red\n")[0].message.startswith("unknown columns ['colour']")


def drop(inbox, name: str, text: str) -> None:
    tmp = inbox / f"{name}.tmp"
    tmp.write_text(HEADER + text, encoding="utf-8")
    tmp.rename(inbox / name)  # as the outside system must: never a half-written .csv


def results(inbox, name: str, adapter: CaseAdapter) -> list[list[str]]:
    """Poke the adapter and wait for the file's result (the input is gone then)."""
    out = inbox / "done" / f"{name}.result.csv"
    adapter.poke()
    deadline = time.monotonic() + 30
    while not out.exists():
        assert time.monotonic() < deadline, f"no result for {name}"
        time.sleep(0.05)
    assert not (inbox / name).exists()
    return [ln.split(",", 8) for ln in out.read_text(encoding="utf-8").splitlines()[1:]]


@pytest.mark.broker
def test_a_case_from_the_outside_system_through_its_whole_timeline(small_config, running_engine, bus_client,
                                                                    broker, data_key, tmp_path):  # noqa: F811
    cfg = with_system(small_config)
    clock = ManualClock(at("2026-09-30", "10:00"))  # a Wednesday, the day before 国庆
    db = tmp_path / "cases.sqlite"
    eng = running_engine(cfg, db=db, clock=clock)
    client = bus_client(cfg.hall.id, "t")
    board = Collector(client, "stats.progress", "hall")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    adapter = CaseAdapter(cfg.hall.id, "approval", inbox, broker.settings, interval=3600,
                          client_id=f"approval-{cfg.hall.id}")
    adapter.start()
    try:
        drop(inbox, "0001.csv", f"open,SP-1,M1,,李科员,材料齐全,,,{PERSON['name']},{ID_NO},13812345678,\n"
                                "step,SP-1,,审查,王审查,,,,,,,\n"
                                "step,SP-1,,collected,王审查,,,,,,,\n")
        got = results(inbox, "0001.csv", adapter)
        # M1 promises 5 working days: 8, 9, 10 (调休 Saturday), 12, 13 October
        assert got[0] == ["2", "open", "SP-1", "ok", "2026000001", "accepted", "2026-10-13", "", ""]
        assert got[1] == ["3", "step", "SP-1", "ok", "2026000001", "review", "2026-10-13", "", ""]
        assert got[2][:8] == ["4", "step", "SP-1", "refused", "", "", "", "bad_transition"]
        _, msg = board.get(where=lambda i, b: b and b["cases"] and b["cases"][0]["stage"] == "review")
        assert (msg["cases"][0]["name"], msg["cases"][0]["case"]) == ("张*丰", "2026000001")
        assert PERSON["name"] not in json.dumps(msg, ensure_ascii=False) and ID_NO not in json.dumps(msg)

        clock.set(at("2026-10-08", "09:30"))  # after 国庆
        drop(inbox, "0002.csv", "step,SP-1,,decided,王审查,同意,,,,,,\n"
                                "step,SP-1,,补正中,王审查,缺营业执照副本,,,,,,\n")
        assert [r[5] for r in results(inbox, "0002.csv", adapter)] == ["decided", "correction"]
        clock.set(at("2026-10-12", "09:30"))  # Monday: 9, 10 (调休) and 12 October spent waiting
        drop(inbox, "0003.csv", "step,SP-1,,decided,王审查,材料已补齐,,,,,,\n"
                                "extend,SP-1,,,王审查,专家评审,2,,,,,\n")
        got = results(inbox, "0003.csv", adapter)
        assert [(r[5], r[6]) for r in got] == [("decided", "2026-10-16"), ("decided", "2026-10-20")]
        eng.stop()  # every acknowledged step is on disk
        eng = running_engine(cfg, db=db, clock=clock)
        clock.set(at("2026-10-14", "15:00"))
        drop(inbox, "0004.csv", "step,SP-1,,issuing,张制证,,,,,,,\n"
                                "step,SP-1,,ready,张制证,请带身份证领取,,,,,,\n"
                                "step,SP-1,,已领取,窗口,,,,,,,\n")
        first = results(inbox, "0004.csv", adapter)
        assert [r[3:6] for r in first] == [["ok", "2026000001", s] for s in ("issuing", "ready", "collected")]
        # the same file again (an outside system that resent a batch): the first answers, nothing twice
        drop(inbox, "0004-again.csv", "step,SP-1,,issuing,张制证,,,,,,,\n"
                                      "step,SP-1,,ready,张制证,请带身份证领取,,,,,,\n"
                                      "step,SP-1,,已领取,窗口,,,,,,,\n")
        assert results(inbox, "0004-again.csv", adapter) == first
        # an open and the last step reported again in a new file: the case as it is
        drop(inbox, "0005.csv", "open,SP-1,M1,,李科员,材料齐全,,,,,,\n"
                                "step,SP-1,,已领取,窗口,,,,,,,\n")
        assert [r[3:6] for r in results(inbox, "0005.csv", adapter)] == [["ok", "2026000001", "collected"]] * 2
        view = Requester(client, "kiosk", "K1").call("case", {"case": "2026000001", "code": ID_NO[-4:]})
        assert [(s["stage"], s["handler"]) for s in view["steps"]] == [
            ("accepted", "李科员"), ("review", "王审查"), ("decided", "王审查"), ("correction", "王审查"),
            ("decided", "王审查"), ("decided", "王审查"), ("issuing", "张制证"), ("ready", "张制证"),
            ("collected", "窗口")]
        assert (view["deadline"], view["result"]) == ("2026-10-20", "early")
        # the SMS sender may not speak for the outside system (the engine's own check)
        with pytest.raises(RequestError) as e:
            Requester(client, "device", "sms1").call("case_open", {"ref": "X", "matter": "M1", "handler": "x"})
        assert e.value.code == "forbidden"
        with pytest.raises(RequestError) as e:
            Requester(client, "device", "approval").call("case_step", {"ref": "NOPE", "stage": "review",
                                                                       "handler": "x"})
        assert e.value.code == "unknown_case"
        assert eng.failed is None
    finally:
        adapter.stop()


def test_an_unreachable_engine_leaves_the_file_for_the_next_pass(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "0001.csv", "step,SP-1,,审查,王审查,,,,,,,\n")
    calls = []

    def offline(op, body, rid):
        calls.append(rid)
        raise RequestError("timeout", "no reply")

    box = Inbox(inbox)
    assert box.process(box.pending()[0], offline) is False
    assert (inbox / "0001.csv").exists() and not (inbox / "done").exists()

    def refusing(op, body, rid):
        calls.append(rid)
        raise RequestError("unknown_case", "approval opened no case 'SP-1'")

    assert box.process(box.pending()[0], refusing) is True
    assert calls[0] == calls[1]  # the same request id the second time
    assert (inbox / "done" / "0001.csv.result.csv").read_text(encoding="utf-8").splitlines()[1] == \
        "2,step,SP-1,refused,,,,unknown_case,approval opened no case 'SP-1'"
    assert not (inbox / "0001.csv").exists()
