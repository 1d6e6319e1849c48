"""Cases through a real mosquitto and the real engine: a 受理 settle opens a case whose
deadline crosses 国庆 2026; the terminal moves it; the retained board shows it masked;
a kiosk reads its timeline with the applicant's code; the engine killed and restarted
keeps every acknowledged step."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hall.bus import RequestError, Requester
from hall.clock import ManualClock
from tests.test_engine_bus import Collector
from tests.test_forms_engine import ID_NO, PERSON, data_key, with_forms  # noqa: F401 (fixture)
from tests.test_ratings_core import at

pytestmark = pytest.mark.broker

FORM = {**PERSON, "company_name": "杭州西湖面馆有限公司", "registered_capital": "50",
        "address": "杭州市西湖区文三路 90 号"}


def test_a_case_from_acceptance_to_collection_through_the_bus(small_config, running_engine, bus_client,
                                                               data_key, tmp_path):  # noqa: F811
    cfg = with_forms(small_config)
    db = tmp_path / "cases.sqlite"
    clock = ManualClock(at("2026-09-30", "10:00"))  # the day before 国庆
    eng = running_engine(cfg, db=db, clock=clock)
    client = bus_client(cfg.hall.id, "t")
    board = Collector(client, "stats.progress", "hall")
    kiosk, w1 = Requester(client, "kiosk", "K1"), Requester(client, "window", "W1")
    kiosk.call("issue", {"matter": "M1", "form": FORM})
    w1.call("login", {"staff": "S01"})
    w1.call("next", {})
    w1.call("finish", {"outcome": {"kind": "accepted"}})
    _, msg = board.get(where=lambda i, b: b and b["cases"])
    row = msg["cases"][0]
    # M1 promises 5 working days by default: 8, 9, 10 (调休 Saturday), 12, 13 October
    assert (row["case"], row["name"], row["stage"], row["deadline"]) == ("2026000001", "张*丰", "accepted", "2026-10-13")
    assert PERSON["name"] not in json.dumps(msg, ensure_ascii=False) and ID_NO not in json.dumps(msg)
    clock.set(at("2026-10-08", "09:30"))
    for stage in ("review", "decided"):
        view = w1.call("case_step", {"case": "2026000001", "stage": stage, "opinion": "同意"})
    assert view["stage"] == "decided" and view["days_left"] == 4  # 9, 10, 12, 13 October
    with pytest.raises(RequestError) as e:
        w1.call("case_step", {"case": "2026000001", "stage": "collected", "opinion": ""})
    assert e.value.code == "bad_transition"
    eng.stop()  # a restart: every acknowledged step is on disk
    eng2 = running_engine(cfg, db=db, clock=clock)
    for stage in ("issuing", "ready", "collected"):
        view = w1.call("case_step", {"case": "2026000001", "stage": stage, "opinion": ""})
    assert [s["stage"] for s in view["steps"]] == ["accepted", "review", "decided", "issuing", "ready", "collected"]
    assert view["result"] == "early"
    got = kiosk.call("case", {"case": "2026000001", "code": ID_NO[-4:]})
    assert (got["name"], got["stage"], len(got["steps"])) == ("张*丰", "collected", 6)
    with pytest.raises(RequestError) as e:
        kiosk.call("case", {"case": "2026000001", "code": "1234"})
    assert e.value.code == "unknown_case"
    assert eng2.failed is None
