"""The window terminal (`onewindow web`) through a real mosquitto and the real engine,
spoken to over HTTP as the clerk's browser would: login, live events, actions,
settling a visit, the keypad beside it, an engine that goes away."""

from __future__ import annotations

import threading
import time

import pytest

from hall.bus import Requester
from hall.clock import ManualClock
from tests.test_engine_bus import Collector
from tests.web_kit import OTHER_PIN, PIN, Clerk, WebServer, terminal_config

pytestmark = pytest.mark.broker

FORM = {"company_name": "杭州西湖味道餐饮有限公司", "legal_person": "张三", "id_number": "11010519491231002X",
        "phone": "13812345678"}


@pytest.fixture
def hall(running_engine, bus_client, broker):
    """(engine, web server, kiosk requester, window-keypad requester, a bus client)."""
    cfg = terminal_config()
    eng = running_engine(config=cfg)
    web = WebServer(cfg, broker.settings).start()
    bus = bus_client(cfg.hall.id, "probe")
    yield eng, web, Requester(bus, "kiosk", "K1"), Requester(bus, "window", "W1"), bus
    web.stop()


@pytest.fixture
def clerks():
    made: list[Clerk] = []

    def make(web) -> Clerk:
        c = Clerk(web)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def wait_engine_online(web, timeout=10.0):
    end = time.monotonic() + timeout
    while web.hub.engine != "online":
        assert time.monotonic() < end, f"engine is {web.hub.engine}"
        time.sleep(0.02)


def test_wrong_pin_unknown_id_wrong_window_and_lock_out(running_engine, broker, clerks):
    cfg = terminal_config()
    running_engine(config=cfg)
    clock = ManualClock(1_800_000_000.0)
    web = WebServer(cfg, broker.settings, clock=clock, max_failures=3, lockout_s=600).start()
    try:
        wait_engine_online(web)
        c = clerks(web)
        r = c.login("W1", "S001", "000000")
        assert r.status_code == 401 and "工号或密码错误" in r.text and "ow_session" not in r.headers.get("set-cookie", "")
        r = c.login("W1", "S999", PIN)  # an unknown id gets the very same answer
        assert r.status_code == 401 and "工号或密码错误" in r.text
        assert c.login("W1", "S002", OTHER_PIN).status_code == 401  # right PIN, a window not on the roster
        assert c.login("W1", "S001", "111111").status_code == 401
        r = c.login("W1", "S001", "222222")  # the third wrong PIN locks the id
        assert r.status_code == 423 and "已锁定" in r.text
        r = c.login("W1", "S001", PIN)  # even the right PIN is refused while locked
        assert r.status_code == 423 and not c.cookie
        clock.advance(601)
        r = c.login("W1", "S001", PIN)
        assert r.status_code == 303 and c.cookie
        page = c.get("/terminal/")
        assert page.status_code == 200 and "王芳" in page.text and PIN not in page.text
        assert web.hub.states["W1"]["staff"] == "S001"  # the engine has the window open
    finally:
        web.stop()


def test_actions_need_a_session_and_the_csrf_token(hall, clerks):
    _, web, *_ = hall
    c = clerks(web)
    assert c.act("next").status_code == 401
    assert c.get("/terminal/events").status_code == 401
    assert c.get("/terminal/").status_code == 303
    assert c.login("W1", "S001", PIN).status_code == 303
    good = c.csrf
    c.csrf = "forged"
    r = c.act("next")
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    c.csrf = good  # the right token, but posted by a page of another site
    r = c.http.post("/terminal/act/next", json={"rid": "origin001"},
                    headers={**c.headers, "X-CSRF-Token": good, "Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin"
    r = c.http.post("/terminal/login", data={"window": "W1", "staff": "S001", "pin": PIN},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = c.http.post("/terminal/act/recall", json={"rid": "origin002"},
                    headers={**c.headers, "X-CSRF-Token": good, "Origin": c.web.url})
    assert r.json()["error"]["code"] == "no_current_ticket"  # same site: passed to the engine


def test_next_brings_the_form_live_and_a_double_click_calls_once(hall, clerks):
    eng, web, kiosk, _, bus = hall
    called = Collector(bus, "zone.called", "Z1")
    t1 = kiosk.call("issue", {"matter": "M1", "phone": "13812345678", "form": FORM, "answers": {"agent": "agent"}})
    t2 = kiosk.call("issue", {"matter": "M1"})
    c = clerks(web)
    assert c.login("W1", "S001", PIN).status_code == 303
    ev = c.listen()
    q = ev.get("queue", lambda d: bool(d))
    assert [(x["line"], x["name"], x["waiting"]) for x in q] == [("M1", "有限责任公司设立登记", 2)]
    assert q[0]["oldest_since"] == pytest.approx(t1["issued_at"])
    # the window's total comes from its zone's waiting counts (window states carry none):
    # the page's latest state says 2, whether the counts came before the page or after
    end = time.monotonic() + 10
    while time.monotonic() < end and [d for e, d, _ in ev.all if e == "state"][-1]["waiting"] != 2:
        time.sleep(0.05)
    assert [d for e, d, _ in ev.all if e == "state"][-1]["waiting"] == 2
    # two clicks on next at once, with different request ids (as if the page did not stop them)
    out: list = []
    th = [threading.Thread(target=lambda rid=rid: out.append(c.act("next", rid=rid))) for rid in ("dbl00001", "dbl00002")]
    for t in th:
        t.start()
    for t in th:
        t.join()
    codes = sorted(r.status_code for r in out)
    assert codes == [200, 409], [r.text for r in out]
    assert [r.json()["error"]["code"] for r in out if r.status_code == 409] == ["busy"]
    v = ev.get("visit", lambda d: d is not None)
    assert (v["number"], v["name"], v["phone"]) == (t1["number"], "有限责任公司设立登记", "138****5678")
    # unmasked, in full, labelled in the form's order (a field left blank shows empty): for this clerk only
    assert [(r["label"], r["value"]) for r in v["form"]] == [
        ("企业名称", "杭州西湖味道餐饮有限公司"), ("法定代表人", "张三"), ("公民身份号码", "11010519491231002X"),
        ("联系电话", "13812345678"), ("住所", "")]
    assert v["answers"] == [{"question": "是否委托他人办理？", "answer": "委托代理人"}]
    assert [(m_["id"], m_["needed"]) for m_ in v["materials"]] == [
        ("id_card", True), ("articles", True), ("lease", True), ("proxy", True)]
    # the same click sent twice (same id): the engine's first answer, no second call
    again = c.act("recall", rid="rcl00001")
    assert again.status_code == 200 and c.act("recall", rid="rcl00001").json() == again.json()
    first = called.get()[1]
    assert (first["number"], first["recall"]) == (t1["number"], 0)
    second = called.get()[1]  # the marker: the recall comes next, so nothing was called in between
    assert (second["number"], second["recall"]) == (t1["number"], 1)
    assert eng.engine.tickets[t2["ticket"]].state == "waiting"
    assert eng.engine.tickets[t1["ticket"]].recalls == 1
    # the print view of the application form carries the form in full
    pf = c.get("/terminal/print/form")
    assert pf.status_code == 200 and "11010519491231002X" in pf.text and "@page" not in pf.text
    assert "size: A4" in c.get("/static/print.css").text


def test_transfer_then_correction_with_the_one_time_notice(hall, clerks):
    eng, web, kiosk, _, bus = hall
    settled = Collector(bus, "window.settled", "W1")
    summary = Collector(bus, "stats.summary", "hall")
    t1 = kiosk.call("issue", {"matter": "M1", "form": FORM})
    t2 = kiosk.call("issue", {"matter": "M1", "form": {"legal_person": "李四"}})
    c = clerks(web)
    c.login("W1", "S001", PIN)
    ev = c.listen()
    assert c.act("next").status_code == 200
    # transfer to a matter found by its pinyin initials (qybgdj → 企业变更登记)
    found = c.get("/terminal/search?q=qybg").json()["results"]
    assert [(x["target"], x["name"]) for x in found] == [("M3", "企业变更登记")]
    r = c.act("transfer", matter="M3")
    assert r.status_code == 200 and r.json()["state"]["ticket"] is None
    t = eng.engine.tickets[t1["ticket"]]
    assert (t.state, t.service, t.number) == ("waiting", "M3", t1["number"])
    ev.get("visit", lambda d: d is None)
    assert c.act("next").status_code == 200  # M1 weighs 3 at W1: the second M1 ticket comes before M3
    v = ev.get("visit", lambda d: d is not None and d["number"] == t2["number"])
    assert [x["value"] for x in v["form"]] == ["", "李四", "", "", ""]
    bad = c.act("finish", outcome={"kind": "correction", "missing": ["articles"], "notify": "sms"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "no_phone"  # no phone left at the kiosk
    assert eng.engine.tickets[t2["ticket"]].state == "called"  # refused: nothing changed
    r = c.act("finish", outcome={"kind": "correction", "missing": ["articles", "lease"], "note": "章程需盖章"})
    assert r.status_code == 200
    _, s = settled.get()
    assert (s["ticket"], s["staff"], s["outcome"]["kind"], s["outcome"]["missing"]) == (
        t2["ticket"], "S001", "correction", ["articles", "lease"])
    notice = c.get("/terminal/print/notice")
    assert notice.status_code == 200
    assert "一次性告知" in notice.text and "公司章程" in notice.text and "住所使用证明" in notice.text
    assert "身份证原件" not in notice.text and "章程需盖章" in notice.text
    _, summ = summary.get(where=lambda _i, d: d["repeat_trips"] == 1)
    assert summ["outcomes"] == {"correction": 1}
    # the transferred ticket keeps its number and is served next at a window serving M3
    c.act("next")
    assert ev.get("visit", lambda d: d is not None and d["number"] == t1["number"])["name"] == "企业变更登记"
    r = c.act("finish", outcome={"kind": "rejected", "reason": "不属于本中心受理范围"})
    assert r.status_code == 200 and eng.engine.tickets[t1["ticket"]].outcome.reason == "不属于本中心受理范围"
    assert c.get("/terminal/print/notice").status_code == 404  # the last visit was not a 补正


def test_keypad_next_then_terminal_finish_stay_consistent(hall, clerks):
    eng, web, kiosk, keypad, bus = hall
    prompts = Collector(bus, "window.evaluate", "W1")
    t1 = kiosk.call("issue", {"matter": "M1", "form": FORM})
    c = clerks(web)
    c.login("W1", "S001", PIN)
    ev = c.listen()
    ev.get("state", lambda d: d and d["status"] == "open")
    keypad.call("next", {})  # the window's keypad, beside the terminal
    # the window's new state first; its visit (the form) is asked for when it arrives
    assert ev.get("state", lambda d: d["ticket"] is not None)["ticket"]["number"] == t1["number"]
    v = ev.get("visit", lambda d: d is not None)
    assert v["number"] == t1["number"] and {r["id"]: r["value"] for r in v["form"] if r["value"]} == FORM
    r = c.act("finish", outcome={"kind": "accepted"})
    assert r.status_code == 200 and r.json()["state"]["ticket"] is None
    ev.get("visit", lambda d: d is None)
    t = eng.engine.tickets[t1["ticket"]]
    assert (t.state, t.outcome.kind, t.staff) == ("done", "accepted", "S001")
    assert prompts.get()[1]["ticket"] == t1["ticket"]  # the evaluator is asked as today
    assert keypad.call("rate", {"level": 5}) == {"ticket": t1["ticket"], "level": 5}
    # and the other way round: the keypad finishes, the terminal then says how it ended
    t2 = kiosk.call("issue", {"matter": "M1"})
    c.act("next")
    keypad.call("finish", {})
    ev.get("state", lambda d: d["ticket"] is None)
    assert c.act("finish", outcome={"kind": "done"}).status_code == 200
    assert eng.engine.tickets[t2["ticket"]].outcome.kind == "done"


def test_engine_offline_is_shown_and_no_action_is_lost(hall, clerks, running_engine):
    eng, web, kiosk, _, bus = hall
    t1 = kiosk.call("issue", {"matter": "M1"})
    c = clerks(web)
    c.login("W1", "S001", PIN)
    ev = c.listen()
    ev.get("engine", lambda d: d["engine"] == "online")
    db = eng.store.path
    eng.stop()  # the engine goes away: its availability says so
    assert ev.get("engine", lambda d: d["engine"] != "online")["engine"] == "stopped"
    r = c.act("next")
    assert r.status_code == 503 and r.json()["error"]["code"] == "engine_offline"  # refused, not queued
    eng2 = running_engine(config=eng.config, db=db)
    ev.get("engine", lambda d: d["engine"] == "online")
    # an engine that takes requests but does not answer (hung): the action stays unconfirmed
    eng2._serving = False  # its loop takes nothing more from the door's queue
    r = c.act("next", rid="hung0001")
    assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
    pending = ev.get("pending", lambda d: d is not None)
    assert pending["op"] == "next" and pending["rid"] == "S001.hung0001"
    eng2.bus.stop(state="offline")
    eng2.store.close()
    eng3 = running_engine(config=eng.config, db=db)
    ev.get("engine", lambda d: d["engine"] == "online")
    # the clerk retries: the same request id, done once
    r = c.post("/terminal/retry")
    assert r.status_code == 200 and r.json()["state"]["ticket"]["number"] == t1["number"]
    ev.get("pending", lambda d: d is None)
    assert eng3.engine.tickets[t1["ticket"]].calls == 1
    assert c.post("/terminal/retry").json() == {"ok": True, "state": None}  # nothing left to retry


def test_logout_closes_the_pages_and_forgets_the_form(hall, clerks):
    eng, web, kiosk, _, bus = hall
    kiosk.call("issue", {"matter": "M1", "form": FORM})
    c = clerks(web)
    c.login("W1", "S001", PIN)
    ev = c.listen()
    c.act("next")
    assert ev.get("visit", lambda d: d is not None)["form"]
    r = c.post("/terminal/logout")
    assert r.status_code == 409 and r.json()["error"]["code"] == "busy"  # a citizen is still called
    c.act("finish", outcome={"kind": "done"})
    r = c.post("/terminal/logout")
    assert r.status_code == 200 and r.json()["next"] == "/terminal/login?window=W1"
    assert ev.get("expired", timeout=5) is None
    assert "W1" not in web.ctx.desks.desks  # nothing of the visit is kept
    assert eng.engine.windows["W1"].status == "closed"  # the engine logged the window out too
    assert c.get("/terminal/events").status_code == 401


def test_a_keypad_logout_shows_on_the_page_and_relogin_works(hall, clerks):
    eng, web, kiosk, keypad, bus = hall
    c = clerks(web)
    c.login("W1", "S001", PIN)
    ev = c.listen()
    ev.get("state", lambda d: d and d["status"] == "open")
    keypad.call("logout", {})  # the keypad logs the window out beside the terminal
    assert ev.get("state", lambda d: d["status"] == "closed")["staff"] is None
    r = c.act("next")
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_logged_in"  # said, not swallowed
    assert c.post("/terminal/logout").status_code == 200  # logging out of a closed window is fine
    assert c.login("W1", "S001", PIN).status_code == 303
    assert eng.engine.windows["W1"].status == "open" and eng.engine.windows["W1"].staff == "S001"
