"""caller/supervision.py: the floor's alerts raised and cleared with hysteresis, on the
engine core with the time given (a Monday from 09:00, service hours 08:30–12:00)."""

from __future__ import annotations

import json

import pytest

from caller.supervision import Supervision
from hall import messages as m
from hall.config import ConfigError, parse_config
from tests.conftest import small_raw
from tests.test_balance import Hall
from tests.test_engine_core import MIN, T0

SUP = {"long_wait_minutes": 30, "long_queue": 5, "paused_minutes": 10, "idle_minutes": 4, "imbalance": 3.0,
       "clear_ratio": 0.8, "hold_s": 60}


def hall(**over) -> tuple[Hall, Supervision]:
    raw = small_raw()
    raw["supervision"] = {**SUP, **over}
    raw["queue"]["balance"] = {"mode": "suggest", "busy_minutes": 30, "idle_minutes": 12, "every_s": 60}
    for w in raw["windows"]:
        if w["id"] == "W5":
            w["authorised"] = ["Z1"]
    h = Hall(parse_config(raw))
    return h, Supervision(h.cfg)


def tick(h: Hall, s: Supervision, now: float) -> dict[str, m.SupervisionAlert | None]:
    """What this tick published: alert id → the alert, or None for a clear."""
    h.e.tick(now)
    h.e.drain()
    return {e.ident: (None if e.payload == b"" else e.payload) for e in s.tick(h.e, now).events
            if e.spec == "alert.supervision"}


def test_a_long_queue_raises_at_its_threshold_and_clears_only_under_the_clearing_line():
    h, s = hall()
    for i in range(4):
        h.ok("kiosk.issue", "K1", T0 + i, matter="M4")
    assert tick(h, s, T0 + 10) == {}  # 4 < 5
    h.ok("kiosk.issue", "K1", T0 + 11, matter="M4")
    out = tick(h, s, T0 + 12)
    a = out["long_queue.M4"]
    assert (a.kind, a.subject, a.value, a.threshold, a.since) == ("long_queue", "M4", 5, 5, T0 + 12)
    assert tick(h, s, T0 + 13) == {}  # raised once, not every tick
    h.ok("window.login", "W5", T0 + 22, staff="S5")
    h.ok("window.next", "W5", T0 + 23)  # 4 wait: 4 ≥ 5 × 0.8, still raised
    assert "long_queue.M4" not in tick(h, s, T0 + 2 * MIN)
    h.ok("window.next", "W5", T0 + 2 * MIN + 1)  # 3 wait: under the clearing line
    assert tick(h, s, T0 + 2 * MIN + 2) == {"long_queue.M4": None}
    assert "long_queue.M4" not in s.raised


def test_a_long_wait_names_the_oldest_number_and_holds_before_clearing():
    h, s = hall()
    t = h.ok("kiosk.issue", "K1", T0, matter="M6").data
    h.ok("kiosk.issue", "K1", T0 + 5 * MIN, matter="M6")
    assert "long_wait.M6" not in tick(h, s, T0 + 29 * MIN)
    a = tick(h, s, T0 + 30 * MIN)["long_wait.M6"]
    assert (a.value, a.threshold, a.ticket) == (30.0, 30, t.number)
    h.ok("window.login", "W8", T0 + 30 * MIN + 10, staff="S8")
    h.ok("window.next", "W8", T0 + 30 * MIN + 11)  # the oldest is called; the next has waited 25 min ≥ 24
    assert "long_wait.M6" not in tick(h, s, T0 + 32 * MIN)
    h.ok("window.next", "W8", T0 + 32 * MIN + 1)  # nobody waits now
    assert tick(h, s, T0 + 32 * MIN + 2) == {"long_wait.M6": None}


def test_hold_keeps_a_fresh_alert_up_even_when_its_cause_goes_at_once():
    h, s = hall(hold_s=300)
    for i in range(5):
        h.ok("kiosk.issue", "K1", T0 + i, matter="M4")
    assert "long_queue.M4" in tick(h, s, T0 + 10)
    h.ok("window.login", "W5", T0 + 12, staff="S5")
    h.ok("window.next", "W5", T0 + 12)
    for i in range(4):
        h.ok("window.next", "W5", T0 + 13 + i)
    assert tick(h, s, T0 + 60) == {} and "long_queue.M4" in s.raised  # 0 wait, but held
    assert tick(h, s, T0 + 311) == {"long_queue.M4": None}


def test_a_window_paused_too_long_in_service_hours_and_one_idle_while_its_matters_wait():
    h, s = hall()
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.pause", "W1", T0 + MIN, reason="会议")
    assert "paused.W1" not in tick(h, s, T0 + 10 * MIN)
    a = tick(h, s, T0 + 11 * MIN)["paused.W1"]
    assert (a.kind, a.window_number, a.value) == ("paused", "1", 10.0)
    h.ok("window.resume", "W1", T0 + 12 * MIN)
    assert tick(h, s, T0 + 12 * MIN + 1) == {"paused.W1": None}
    # open, a citizen waits for M1, W1 calls nobody: idle from the first tick that sees it
    h.ok("kiosk.issue", "K1", T0 + 13 * MIN, matter="M1")
    assert "idle.W1" not in tick(h, s, T0 + 13 * MIN + 1)
    a = tick(h, s, T0 + 17 * MIN + 1)["idle.W1"]
    assert (a.kind, a.value, a.threshold) == ("idle", 4.0, 4)
    h.ok("window.next", "W1", T0 + 18 * MIN)
    assert tick(h, s, T0 + 18 * MIN + 1) == {"idle.W1": None}


def test_no_paused_alert_outside_service_hours():
    h, s = hall()
    lunch = T0 + 3.5 * 60 * MIN  # 12:30, between the periods
    h.ok("window.login", "W1", lunch, staff="S1")
    h.ok("window.pause", "W1", lunch, reason="午休")
    assert "paused.W1" not in tick(h, s, lunch + 40 * MIN)


def test_imbalance_comes_with_the_balancers_suggestion_and_clears_under_its_line():
    h, s = hall()
    for w in ("W1", "W5", "W6"):
        h.ok("window.login", w, T0, staff=f"S{w}")
    for i in range(6):
        h.ok("kiosk.issue", "K1", T0 + i, matter="M1")  # 6 × 20 min at one window: 120 min
    for i, mt in enumerate(("M2", "M3", "M4", "M6")):
        h.ok("kiosk.issue", "K1", T0 + 7 + i, matter=mt)  # short lines
    a = tick(h, s, T0 + MIN)["imbalance.hall"]
    assert a.value == h.e.balancer.imbalance() == 3.9 and a.threshold == 3.0
    assert [(mv.window, mv.line, mv.clearing_min) for mv in a.moves] == [("W5", "M1", 120.0)]  # lend W5 to M1
    for i in range(3):
        h.ok("window.next", "W1", T0 + 2 * MIN + i)  # M1 shrinks
    assert h.e.balancer.imbalance() == 2.67  # under 3, above its clearing line 2.4: stays raised
    assert "imbalance.hall" not in tick(h, s, T0 + 3 * MIN)
    h.ok("window.next", "W1", T0 + 3 * MIN + 1)
    assert h.e.balancer.imbalance() < 2.4
    assert tick(h, s, T0 + 4 * MIN) == {"imbalance.hall": None}


def test_a_restarted_engine_clears_once_what_it_no_longer_raises():
    h, s = hall()
    first = s.republish(h.e, T0)
    ids = {e.ident for e in first}
    assert all(e.payload == b"" for e in first) and {"long_queue.M1", "paused.W8", "imbalance.hall"} <= ids
    assert s.republish(h.e, T0 + 1) == []  # only after the start


@pytest.mark.parametrize("sup, path", [({"long_queue": 0}, "supervision.long_queue"),
                                       ({"imbalance": 1.1, "clear_ratio": 0.5}, "supervision"),
                                       ({"sms": True}, "supervision.sms")])
def test_bad_thresholds_are_refused_with_their_path(sup, path):
    raw = small_raw()
    raw["supervision"] = sup
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert any(p == path for p, _ in e.value.problems), e.value.problems


# ------------------------------------------- through mosquitto, the engine and the console --

@pytest.mark.broker
def test_a_long_queue_reaches_the_console_is_acknowledged_and_clears(running_engine, broker, bus_client):
    from hall.bus import Requester
    from tests.test_engine_bus import Collector
    from tests.test_web_console import PASSWORDS, ConsoleUser, accounts, console_raw
    from tests.web_kit import WebServer
    raw = console_raw()
    raw["supervision"] = {"long_queue": 3, "hold_s": 0}
    cfg = parse_config(raw)
    running_engine(config=cfg)
    web = WebServer(cfg, broker.settings, accounts=accounts()).start()
    bus = bus_client(cfg.hall.id, "probe")
    raised = Collector(bus, "alert.supervision", "long_queue.M4")
    sup = ConsoleUser(web)
    try:
        assert sup.login("sup1", PASSWORDS["sup1"]).status_code == 303
        ev = sup.listen()
        kiosk = Requester(bus, "kiosk", "K1")
        numbers = [kiosk.call("issue", {"matter": "M4", "phone": "13812345678"})["number"] for _ in range(3)]
        ident, payload = raised.get(where=lambda i, msg: msg is not None)  # (not the start's sweep)
        assert ident == "long_queue.M4" and payload["value"] == 3 and "13812345678" not in json.dumps(payload)
        al = ev.get("alerts", lambda a: any(x["kind"] == "long_queue" for x in a))
        a = next(x for x in al if x["kind"] == "long_queue")
        assert (a["kind_zh"], a["text"]) == ("排队过长", "「社会保障卡申领」3 人等候（超过 3 人）")
        r = sup.post("/admin/alerts/ack", {"key": a["key"]})
        assert r.status_code == 200 and r.json()["ack"]["by"] == "sup1"
        ev.get("alerts", lambda al: any(x["key"] == a["key"] and x["ack"] for x in al))
        keypad = Requester(bus, "window", "W5")
        keypad.call("login", {"staff": "S005"})
        assert keypad.call("next", {})["ticket"]["number"] == numbers[0]  # 2 wait: under 3 × 0.8
        ident, payload = raised.get()
        assert (ident, payload) == ("long_queue.M4", None)  # cleared: an empty retained message
        ev.get("alerts", lambda al: not any(x["kind"] == "long_queue" for x in al))
    finally:
        sup.close()
        web.stop()


def test_an_alert_goes_by_sms_to_the_office_kept_local_and_never_published():
    from caller.config_admin import local_only_changes, published_config
    from caller.sms_outbox import SmsOutbox
    raw = small_raw()
    raw["supervision"] = {**SUP, "sms_to": ["13900001111"], "sms_kinds": ["paused"]}
    raw.setdefault("notify", {})["sms"] = {"enabled": True}
    h = Hall(parse_config(raw))
    outbox = SmsOutbox(h.cfg)
    s = Supervision(h.cfg, outbox)
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.pause", "W1", T0, reason="会议")
    for i in range(5):
        h.ok("kiosk.issue", "K1", T0 + i, matter="M4")  # a long queue too: not one of sms_kinds
    h.e.tick(T0 + 10 * MIN)
    h.e.drain()
    out = s.tick(h.e, T0 + 10 * MIN)
    [rec] = out.records
    assert (rec.reason, rec.phone, rec.ticket, rec.state) == ("supervision", "13900001111", "paused.W1", "pending")
    assert rec.text == "【电子监察】测试行政服务中心：1号窗口 暂停已超过 10 分钟"
    [req] = [e.payload for e in out.events if e.spec == "device.sms"]
    assert (req.phone, req.reason, req.text) == ("13900001111", "supervision", rec.text)
    assert {e.ident for e in out.events if e.spec == "alert.supervision"} == {"paused.W1", "long_queue.M4"}
    assert rec.id in outbox.pending  # resent until the sender reports it, like any other
    # the office's number: never on config/hall/current, and no push may change it
    assert published_config(h.cfg)["supervision"]["sms_to"] == []
    other = json.loads(json.dumps(raw))
    other["supervision"]["sms_to"] = ["13800000000"]
    assert local_only_changes(h.cfg, parse_config(other)) == ["supervision.sms_to"]
