"""The core's domain events (caller/domain.py): one per thing that happened, in
order, only for commands that applied; extensions consume them."""

from __future__ import annotations

import pytest

from caller import domain as d
from caller.extension import ExtOut
from caller.service import CallerService
from tests.test_engine_changeset import Boom, busy_hall, raise_after
from tests.test_engine_core import MIN, T0
from tests.test_settle_core import hall


def kinds(events) -> list[tuple]:
    """Each event as (type name, its plain facts): comparable, without the live records."""
    out = []
    for ev in events:
        row: tuple = (type(ev).__name__,)
        if hasattr(ev, "ticket"):
            row += (ev.ticket if isinstance(ev.ticket, str) else ev.ticket.number,)
        for f in ("window", "recall", "from_line", "status", "day"):
            if hasattr(ev, f):
                row += (getattr(ev, f),)
        if isinstance(ev, d.VisitSettled):
            row += (ev.outcome.kind,)
        if isinstance(ev, d.Rated):
            row += (ev.rating.ticket, ev.rating.level)
        if isinstance(ev, d.LinesMoved):
            row += (sorted(ev.lines),)
        out.append(row)
    return out


def test_a_visit_from_issue_to_rating_in_order():
    h = hall()
    h.e.drain()
    t = h.issue(T0, matter="M1", phone="13812345678")
    h.login("W1", "S001", T0)
    h.ok("window.next", "W1", T0 + 1)
    h.ok("window.recall", "W1", T0 + 2)
    h.ok("window.start", "W1", T0 + 3)  # serving: nothing an extension needs
    h.ok("window.finish", "W1", T0 + 60, outcome={"kind": "accepted"})
    h.ok("window.rate", "W1", T0 + 61, level=5)
    ch = h.e.drain()
    assert kinds(ch.domain) == [
        ("TicketIssued", "A001"),
        ("WindowStatusChanged", "W1", "open"),
        ("TicketCalled", "A001", "W1", False),
        ("TicketCalled", "A001", "W1", True),
        ("VisitFinished", "A001", "W1"),
        ("VisitSettled", "A001", "W1", "accepted"),
        ("Rated", "A001", t.ticket, 5),
        ("LinesMoved", ["M1"]),  # once per batch, last
    ]
    assert h.e.drain().domain == []  # drained: a later batch does not see them again


def test_noshow_requeue_transfer_cancel_pause_and_logout():
    h = busy_hall()  # A001 called at W1, A002–A004 waiting for M1
    h.e.drain()
    h.ok("window.noshow", "W1", T0 + 2 * MIN)
    a1 = h.e.tickets[h.e.by_number["A001"]]
    h.ok("kiosk.requeue", "K1", T0 + 3 * MIN, ticket=a1.id, secret=a1.secret)
    h.ok("window.next", "W1", T0 + 4 * MIN)  # A002
    h.ok("window.transfer", "W1", T0 + 5 * MIN, window="W2")
    a3 = h.e.tickets[h.e.by_number["A003"]]
    h.ok("kiosk.cancel", "K1", T0 + 6 * MIN, ticket=a3.id, secret=a3.secret)
    h.ok("window.pause", "W1", T0 + 7 * MIN, reason="午休")
    h.ok("window.resume", "W1", T0 + 8 * MIN)
    h.ok("window.logout", "W1", T0 + 9 * MIN)
    assert kinds(h.e.drain().domain) == [
        ("TicketNoShow", "A001", "W1"),
        ("TicketRequeued", "A001"),
        ("TicketCalled", "A002", "W1", False),
        ("TicketTransferred", "A002", "W1", "M1"),
        ("TicketCancelled", "A003"),
        ("WindowStatusChanged", "W1", "paused"),
        ("WindowStatusChanged", "W1", "open"),
        ("WindowStatusChanged", "W1", "closed"),
        ("LinesMoved", ["@W2", "M1"]),
    ]


def test_a_refused_or_failed_command_leaves_no_event(monkeypatch):
    h = busy_hall()
    h.e.drain()
    assert h.err("window.recall", "W2", T0 + MIN) == "not_logged_in"
    h.login("W2", "S2", T0 + MIN)
    h.e.drain()
    # next at W1: A001 finished and A002 called, then the call raises half-way
    monkeypatch.setattr(h.e, "call", raise_after(h.e.call))
    with pytest.raises(Boom):
        h.req("window.next", "W1", T0 + 10 * MIN)
    monkeypatch.undo()
    assert h.e.drain().domain == []


def test_a_form_goes_to_the_forms_extension_as_an_event_never_on_the_ticket():
    from tests.test_forms_engine import forms_raw
    h = hall(forms=forms_raw())
    h.e.drain()
    form = {"name": "张三", "id_number": "11010519491231002X", "phone": "13812345678", "company_name": "西湖面馆",
            "registered_capital": "50"}
    t = h.issue(T0, matter="M1", form=form)
    (filled,) = [ev for ev in h.e.drain().domain if isinstance(ev, d.FormFilled)]
    assert (filled.ticket, filled.day, filled.target, filled.values) == (t.ticket, t.day, "M1", form)
    assert h.e.tickets[t.ticket].form is None


def test_midnight_is_one_day_started_event():
    h = busy_hall()
    h.e.drain()
    h.e.tick(T0 + 86400)
    assert kinds(h.e.drain().domain) == [("DayStarted", "2026-11-24")]


class _Recorder:
    """An extension: records what each hook got."""

    def __init__(self, name: str, new: bool):
        self.name, self.got = name, []
        if new:
            self.on_events = lambda events, engine, now: self._keep(("events", list(events)))
        else:
            self.after_batch = lambda ch, engine, now: self._keep(("changes", ch))

    def _keep(self, item) -> ExtOut:
        self.got.append(item)
        return ExtOut()

    def ops(self):
        return {}


def test_the_service_hands_each_extension_the_batchs_events(small_config):
    a, b = _Recorder("a", True), _Recorder("b", True)
    svc = CallerService(small_config, "/nonexistent/never-opened.sqlite", None, extensions=[a, b])
    h = busy_hall()
    ch = h.e.drain()
    svc._after(ch, T0, [])
    assert a.got == b.got == [("events", ch.domain)] and ch.domain


def test_an_extension_for_the_former_hook_is_refused_at_construction(small_config):
    """after_batch (the engine's change set) is gone: such an extension would never be called."""
    with pytest.raises(TypeError, match="'old' has no on_events"):
        CallerService(small_config, "/nonexistent/never-opened.sqlite", None, extensions=[_Recorder("old", False)])
