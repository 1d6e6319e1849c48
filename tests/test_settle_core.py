"""Settling a visit in the pure core: outcomes, the 补正 notice, the repeat-trip figure,
the queue and visit views of the window terminal."""

from __future__ import annotations

from caller.sms_outbox import SmsOutbox
from tests.test_engine_core import MIN, T0, Hall

GUIDES = {"guides": [{
    "target": "M1",
    "questions": [{"id": "agent", "text": {"zh": "是否委托？", "en": "Agent?"},
                   "options": [{"id": "self", "text": {"zh": "本人", "en": "Self"}},
                               {"id": "agent", "text": {"zh": "委托", "en": "Agent"}}]}],
    "materials": [
        {"id": "id_card", "name": {"zh": "身份证原件", "en": "ID card"}},
        {"id": "articles", "name": {"zh": "公司章程", "en": "Articles of association"}},
        {"id": "proxy", "name": {"zh": "授权委托书", "en": "Power of attorney"}, "when": {"agent": ["agent"]}},
    ]}]}


def hall(**over) -> Hall:
    return Hall(kiosks=GUIDES, **over)


def called(h: Hall, now=T0, **issue) -> str:
    t = h.issue(now, matter="M1", **issue)
    if h.e.windows["W1"].status == "closed":
        h.login("W1", "S001", now)
    assert h.next("W1", now + 1) == t.number
    return t.ticket


def test_each_outcome_is_recorded_counted_and_announced():
    h = hall()
    kinds = [("done", {}), ("accepted", {}), ("correction", {"missing": ["articles"]}),
             ("rejected", {"reason": "不属于本中心受理范围"})]
    for i, (kind, extra) in enumerate(kinds):
        tid = called(h, T0 + i * MIN)
        out = h.req("window.finish", "W1", T0 + i * MIN + 30, outcome={"kind": kind, **extra})
        assert out.error is None
        assert [e.spec for e in out.events] == ["window.evaluate", "window.settled"]
        ev = out.events[1].payload
        assert (ev.ticket, ev.window, ev.staff, ev.outcome.kind) == (tid, "W1", "S001", kind)
        t = h.e.tickets[tid]
        assert (t.state, t.outcome.kind) == ("done", kind)
    s = h.e.summary(T0 + 10 * MIN)
    assert s.outcomes == {"done": 1, "accepted": 1, "correction": 1, "rejected": 1}
    assert s.repeat_trips == 1 and s.served == 4


def test_refused_outcomes_change_nothing():
    h = hall()
    tid = called(h)
    for outcome, code in [
        ({"kind": "correction"}, "bad_request"),                       # nothing named missing
        ({"kind": "correction", "missing": ["passport"]}, "unknown_material"),
        ({"kind": "correction", "missing": ["articles", "articles"]}, "bad_request"),
        ({"kind": "correction", "missing": ["articles"], "notify": "sms"}, "no_phone"),
        ({"kind": "rejected"}, "bad_request"),                         # no reason
        ({"kind": "rejected", "reason": "  "}, "bad_request"),
        ({"kind": "done", "missing": ["articles"]}, "bad_request"),
    ]:
        assert h.err("window.finish", "W1", T0 + 60, outcome=outcome) == code, outcome
        t = h.e.tickets[tid]
        assert (t.state, t.outcome, h.e.windows["W1"].current) == ("called", None, tid)
    assert h.e.summary(T0 + 60).outcomes == {}


def test_keypad_next_then_terminal_settles_the_visit_it_finished():
    h = hall()
    first = called(h)
    h.issue(T0 + 2, matter="M1")
    h.next("W1", T0 + 120)  # the keypad: finishes the first visit without an outcome, calls the second
    assert h.e.tickets[first].state == "done" and h.e.tickets[first].outcome is None
    second = h.e.windows["W1"].current
    # the terminal's finish with an outcome applies to the current ticket…
    h.ok("window.finish", "W1", T0 + 200, outcome={"kind": "done"})
    assert h.e.tickets[second].outcome.kind == "done"
    # …and once nothing is called, to the visit just finished if it has no outcome yet
    h.issue(T0 + 300, matter="M1")
    h.next("W1", T0 + 310)
    third = h.e.windows["W1"].current
    h.ok("window.finish", "W1", T0 + 320)  # keypad finish
    out = h.req("window.finish", "W1", T0 + 330, outcome={"kind": "accepted"})
    assert out.error is None and [e.spec for e in out.events] == ["window.settled"]  # no second prompt
    assert h.e.tickets[third].outcome.kind == "accepted"
    # a visit already settled is not settled twice
    assert h.err("window.finish", "W1", T0 + 340, outcome={"kind": "done"}) == "no_current_ticket"


def test_correction_by_sms_sends_exactly_the_missing_materials_once():
    # only the on-called rule is on: its message is the one the notice must not repeat
    h = hall(notify={"sms": {"enabled": True, "near_ahead": None, "near_minutes": None, "on_noshow": False}})
    box = SmsOutbox(h.cfg)
    box.rules.restore([], [], h.e.day)
    tid = called(h, phone="13812345678", answers={"agent": "agent"})
    assert [e.payload.reason for e in box.on_events(h.e.drain().domain, h.e, T0 + 2).events] == ["called"]
    out = h.req("window.finish", "W1", T0 + 60,
                outcome={"kind": "correction", "missing": ["articles", "proxy"], "note": "章程需全体股东签字",
                         "notify": "sms"})
    assert out.error is None
    got = box.on_events(h.e.drain().domain, h.e, T0 + 61)
    reqs = [e.payload for e in got.events]
    assert [(r.ticket, r.reason, r.phone) for r in reqs] == [(tid, "notice", "13812345678")]
    assert reqs[0].text == ("【测试行政服务中心】一次性告知：您办理的有限责任公司设立登记还需补齐以下材料："
                            "公司章程、授权委托书、章程需全体股东签字。备齐后请再来办理。")
    # a later batch touching the same ticket sends nothing more
    h.e.touch(h.e.tickets[tid])
    assert box.on_events(h.e.drain().domain, h.e, T0 + 90).events == []


def test_pause_reason_is_shown_and_cleared():
    h = hall()
    h.login("W1", "S001")
    st = h.ok("window.pause", "W1", T0 + 1, reason="午休")
    assert (st.status, st.pause_reason) == ("paused", "午休")
    assert h.ok("window.pause", "W1", T0 + 2, reason="会议").pause_reason == "会议"
    st = h.ok("window.resume", "W1", T0 + 3)
    assert (st.status, st.pause_reason) == ("open", None)
    assert h.ok("window.pause", "W1", T0 + 4).pause_reason is None  # keypad pause: no reason


def test_queue_view_counts_and_oldest_place_per_line():
    h = hall()
    h.issue(T0, matter="M1")
    h.issue(T0 + 5 * MIN, matter="M1", priority="elderly")
    h.issue(T0 + 2 * MIN, matter="M3")
    h.issue(T0 + 3 * MIN, bundle="B1")
    h.issue(T0 + 4 * MIN, matter="M4")  # another zone's matter: not W1's
    q = h.ok("window.queue", "W1", T0 + 6 * MIN)
    assert {(ln.line, ln.waiting, ln.oldest_since) for ln in q.lines} == {
        ("M1", 2, T0), ("M3", 1, T0 + 2 * MIN), ("B1", 1, T0 + 3 * MIN)}
    assert h.err("window.queue", "W99", T0) == "unknown_window"


def test_visit_gives_the_form_and_answers_to_the_window_with_the_phone_masked():
    from caller.domain import FormFilled
    from tests.test_forms_engine import forms_raw
    h = hall(forms=forms_raw())
    form = {"name": "张三", "id_number": "11010519491231002X", "phone": "13812345678", "company_name": "西湖面馆",
            "registered_capital": "50"}
    tid = called(h, phone="13812345678", form=form, answers={"agent": "self"})
    # the core hands the form over in its change set, never on the ticket; the
    # forms extension (caller/forms.py) seals it and installs the reader
    (handed,) = [ev for ev in h.e.drain().domain if isinstance(ev, FormFilled)]
    assert (handed.ticket, handed.target, handed.values) == (tid, "M1", form) and h.e.tickets[tid].form is None
    h.e.form_of = lambda t: handed.values if t.id == handed.ticket else None
    v = h.ok("window.visit", "W1", T0 + 5)
    assert (v.ticket, v.matter, v.form, v.answers, v.phone) == (
        tid, "M1", form, {"agent": "self"}, "138****5678")
    assert h.err("window.visit", "W2", T0 + 5) == "not_logged_in"
    h.login("W2", "S002")
    assert h.err("window.visit", "W2", T0 + 5) == "no_current_ticket"
