"""The bus is typed for every process: a subscriber gets its registered struct
(or nothing, and a log line naming the field); a requester sends its op's
request type and gets its reply type back."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import msgspec
import pytest

from hall import messages as m
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.topics import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
STATE = m.WindowState(window="W1", number="1", zone="Z1", status="open", staff="S1", ticket=None, at=1.0)


def offline_bus() -> Bus:
    return Bus("xihu", "t", BusSettings(port=1))  # never started: messages are handed to deliver()


def test_a_subscriber_gets_structs_and_a_bad_payload_is_dropped_with_its_field_named(caplog):
    bus = offline_bus()
    got = []
    bus.listen(REGISTRY["window.state"], lambda p, msg: got.append((p.ident, msg)))
    topic = REGISTRY["window.state"].topic("xihu", "W1")
    bad = msgspec.json.encode({**msgspec.to_builtins(STATE), "status": "asleep"})
    with caplog.at_level(logging.WARNING, logger="hall.bus"):
        bus.deliver(topic, bad)
        bus.deliver(topic, b"{not json")
        bus.deliver(topic, b"[" * 40 + b"]" * 40)
        bus.deliver(topic, m.encode(STATE))  # the marker: the process goes on
        bus.deliver(topic, b"")  # a retained topic cleared
    assert got == [("W1", STATE), ("W1", None)]
    assert isinstance(got[0][1], m.WindowState)
    assert bus.dropped == {"window.state": 3}
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "dropped window.state from W1: Invalid enum value … - at `$.status` (1 so far)"
    assert "nested deeper than 32" in lines[2]


def test_a_dropped_payload_never_reaches_the_log(caplog):
    """The field is named, the value is not: an SMS request carries a full phone number."""
    bus = offline_bus()
    bus.listen(REGISTRY["device.sms"], lambda p, msg: pytest.fail("a bad payload reached the handler"))
    bad = {"sms": "s1", "ticket": "t", "reason": "called", "phone": "13812345678", "text": "到您了", "lang": "zh-CN",
           "at": 1.0, "expires_at": 2.0, "attempt": "first"}
    topic = REGISTRY["device.sms"].topic("xihu", "sms1")
    with caplog.at_level(logging.WARNING, logger="hall.bus"):
        bus.deliver(topic, msgspec.json.encode(bad))
        # a value msgspec would quote in its message (an enum's): still only the field
        bus.deliver(topic, msgspec.json.encode({**bad, "attempt": 1, "reason": "13812345678"}))
    lines = [r.getMessage() for r in caplog.records]
    assert "$.attempt" in lines[0] and "$.reason" in lines[1]
    assert not [ln for ln in lines if "13812345678" in ln or "到您了" in ln]


class LoopbackBus:
    """Stands in for the broker and the engine: a request published is answered by ``engine``."""

    connected = True
    hall_id = "xihu"

    def __init__(self, engine):
        self.engine = engine
        self.listeners = {}
        self.sent: list[tuple[str, bytes]] = []

    def listen(self, spec, handler, *, ident="+", hall_id=None):
        self.listeners[spec.name] = handler

    def publish(self, spec, ident, data):
        self.sent.append((spec.name, data))
        req = msgspec.json.decode(data)
        resp = self.engine(spec.op, req)
        self.listeners[f"{spec.kind}.response.{spec.op}"](None, m.Response(id=req["id"], status="ok", data=resp))


INFO = {"ticket": "20261123-A001", "number": "A001", "day": "2026-11-23", "state": "waiting", "matter": "M1",
        "bundle": None, "zone": "Z1", "windows": ["1"], "ahead": 0, "estimate_min": 5, "priority": "normal",
        "issued_at": 1.0, "secret": "00ff00ff00ff00ff"}


def test_a_requester_sends_its_request_type_and_returns_its_reply_type():
    bus = LoopbackBus(lambda op, req: INFO)
    kiosk = Requester(bus, "kiosk", "K1")
    info = kiosk.request("issue", {"matter": "M1", "phone": "13812345678"})
    assert isinstance(info, m.TicketInfo) and (info.number, info.window, info.estimate_lo_min) == ("A001", None, 0)
    (name, data), = bus.sent
    assert name == "kiosk.request.issue"
    sent = m.decode(data, m.IssueRequest)  # what the engine decodes: the type's defaults filled in
    assert (sent.matter, sent.phone, sent.priority, sent.lang) == ("M1", "13812345678", "normal", "zh-CN")
    # the same through call(): plain values, after the same checks
    assert kiosk.call("issue", m.IssueRequest(id="ignored", matter="M1"))["number"] == "A001"


@pytest.mark.parametrize("body, field", [
    ({"matter": "M1", "colour": "red"}, "colour"),  # a field the engine would refuse
    ({"matter": "M 1"}, "$.matter"),  # an id with a space
    ({"matter": "M1", "phone": "call me"}, "$.phone"),
])
def test_a_request_the_engine_would_refuse_is_not_sent(body, field):
    bus = LoopbackBus(lambda op, req: pytest.fail("sent"))
    with pytest.raises(RequestError) as e:
        Requester(bus, "kiosk", "K1").request("issue", body)
    assert e.value.code == "bad_request" and field in e.value.message
    assert bus.sent == []


def test_a_reply_that_does_not_fit_its_type_is_an_error_not_a_dict():
    bus = LoopbackBus(lambda op, req: {**INFO, "ahead": "many"})
    with pytest.raises(RequestError) as e:
        Requester(bus, "kiosk", "K1").request("issue", {"matter": "M1"})
    assert e.value.code == "internal" and "TicketInfo" in e.value.message and "$.ahead" in e.value.message


def test_only_the_engines_door_subscribes_raw():
    """Every other process takes typed messages (Bus.listen): nobody decodes bus bytes by hand."""
    raw = set()
    for pkg in ("caller", "hall", "web", "kiosk", "sms", "display", "firmware_bridge", "deploy", "sim"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path in (ROOT / "hall" / "bus.py", ROOT / "hall" / "loopbus.py"):
                continue  # the bus itself: listen() is built on it
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "subscribe":
                    raw.add(str(path.relative_to(ROOT)))
    assert raw == {"caller/service.py"}  # the door bounds and decodes each request itself, to answer it
