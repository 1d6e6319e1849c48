"""A command applies whole or changes nothing: a handler that raises half-way
leaves memory exactly as it was, and nothing of it reaches the batch."""

from __future__ import annotations

import msgspec
import pytest

from caller import kiosk_ops, window_ops
from caller.engine import Engine
from tests.test_engine_core import MIN, T0, Hall

_enc = msgspec.json.Encoder()


def fingerprint(e: Engine) -> dict:
    """Everything a command may change, as plain values."""
    return {
        "tickets": {k: _enc.encode(t) for k, t in e.tickets.items()},
        "by_number": dict(e.by_number),
        "windows": {k: _enc.encode(w) for k, w in e.windows.items()},
        "lines": {k: list(v) for k, v in e.routing._lines.items() if v},
        "waiting_by_line": {k: v for k, v in e.routing.waiting_by_line.items() if v},
        "zone_group": {k: v for k, v in e.waiting_zone_group.items() if v},
        "stats": dict(e.stats), "qseq": e._qseq, "numbers": dict(e.numbering._seq),
        "recent": {z: [_enc.encode(c) for c in q] for z, q in e.recent.items()},
        "appointments": dict(e.appointments), "learned": e.estimator.snapshot(),
        "by_kiosk": +e.by_kiosk, "by_phone": +e.by_phone,
    }


def busy_hall() -> Hall:
    h = Hall()
    for i in range(4):
        h.issue(T0 + i, matter="M1")
    h.login("W1", "S1")
    h.next("W1", T0 + MIN)  # A001 at W1; A002–A004 wait
    return h


class Boom(RuntimeError):
    pass


def raise_after(fn, times=1):
    """``fn`` that works ``times - 1`` times, then does its work and raises."""
    calls = {"n": 0}

    def wrapped(*a, **kw):
        calls["n"] += 1
        out = fn(*a, **kw)
        if calls["n"] >= times:
            raise Boom("injected half-way")
        return out
    return wrapped


@pytest.mark.parametrize("op, ident, body, where", [
    # next: the current ticket finished, the next one dequeued and marked called, then the call raises
    ("window.next", "W1", {}, "call"),
    # issue: a number taken, the ticket stored and queued, then raises
    ("kiosk.issue", "K1", {"matter": "M1"}, "enqueue"),
    # finish: ticket done, estimate learned, window freed, then raises
    ("window.finish", "W1", {}, "end_current"),
])
def test_a_handler_raising_half_way_changes_nothing(monkeypatch, op, ident, body, where):
    h = busy_hall()
    h.e.drain()
    before = fingerprint(h.e)
    monkeypatch.setattr(h.e, where, raise_after(getattr(h.e, where)))
    with pytest.raises(Boom):
        h.req(op, ident, T0 + 10 * MIN, **body)
    monkeypatch.undo()
    assert fingerprint(h.e) == before
    ch = h.e.drain()  # nothing of it would be committed or published
    assert (ch.tickets, ch.windows, ch.counters, ch.estimates, ch.window_views, ch.waiting_lines,
            ch.zone_views) == ([], [], [], {}, set(), set(), set())
    assert h.e.events == []
    # and the engine goes on: the same command now works, numbering continues without a gap
    out = h.req(op, ident, T0 + 10 * MIN, **body)
    assert out.error is None
    if op == "kiosk.issue":
        assert out.data.number == "A005"
    if op == "window.next":
        assert out.data.ticket.number == "A002"


def test_a_refusal_after_a_change_is_undone_too(monkeypatch):
    """Handlers no longer need to check everything before changing anything."""
    h = busy_hall()
    h.e.drain()
    before = fingerprint(h.e)

    def requeue_then_refuse(e, ident, req, now):
        t = e.find_ticket(req.ticket)
        e.dequeue(t)
        t.state = "cancelled"
        e.touch(t)
        raise kiosk_ops.Refused(kiosk_ops.E.BAD_STATE, "changed my mind")
    monkeypatch.setitem(h.e._handlers, "kiosk.cancel", requeue_then_refuse)
    assert h.err("kiosk.cancel", "K1", T0 + 2 * MIN, ticket="A003", secret="00000000") == "bad_state"
    assert fingerprint(h.e) == before
    assert h.e.drain().tickets == []


def test_an_applied_command_returns_its_change_set():
    h = busy_hall()
    h.e.drain()
    out = h.req("window.next", "W1", T0 + 5 * MIN)
    ch = out.changes
    assert sorted(t.number for t in ch.tickets) == ["A001", "A002"]
    assert [w.id for w in ch.windows] == ["W1"] and ch.window_views == {"W1"}
    assert [e.spec for e in out.events] == ["window.evaluate", "zone.called"]
    batch = h.e.drain()  # the batch holds the same records, once each
    assert sorted(t.number for t in batch.tickets) == ["A001", "A002"]


def test_every_handler_keeps_its_records_under_the_undo_log(monkeypatch):
    """Each handler, made to raise after it returns, leaves nothing behind: so
    every mutation a handler makes goes through the core's noted mutators."""
    for op in list(kiosk_ops.HANDLERS) + list(window_ops.HANDLERS):
        h = busy_hall()
        h.ok("window.login", "W2", T0, staff="S2")
        h.e.drain()
        before = fingerprint(h.e)

        def sec(number: str, h=h) -> str:
            return h.e.find_ticket(number).secret
        body = {"kiosk.issue": {"matter": "M1"}, "kiosk.checkin": {"code": "nope"},
                "kiosk.ticket": {"ticket": "A002"}, "kiosk.requeue": {"ticket": "A002", "secret": sec("A002")},
                "kiosk.cancel": {"ticket": "A003", "secret": sec("A003")},
                "kiosk.printed": {"ticket": "A002", "ok": True},
                "kiosk.rate": {"ticket": "A001", "level": 5, "secret": sec("A001")},
                "kiosk.progress": {"case": "C1"},
                "config.appointments": {"appointments": [{"code": "AP1", "matter": "M1",
                                                          "start": T0, "end": T0 + 600}]},
                "window.login": {"staff": "S9"}, "window.transfer": {"matter": "M4"},
                "window.rate": {"level": 5}}.get(op, {})
        ident = "W1" if op.startswith("window.") else "K1"
        real = h.e._handlers[op]
        monkeypatch.setitem(h.e._handlers, op, raise_after(real))
        try:
            h.req(op, ident, T0 + 3 * MIN, **body)
        except Boom:
            pass
        monkeypatch.undo()
        assert fingerprint(h.e) == before, op
        assert h.e.drain().tickets == [], op
