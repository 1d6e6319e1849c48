"""docs/protocol.md is the registry; every request the engine handles is subscribed and typed."""

from __future__ import annotations

import pytest

from caller import config_admin
from caller.engine import Engine
from hall import messages as m
from hall.protocol_doc import current_section, render
from hall.topics import REGISTRY, TopicError


def test_protocol_doc_matches_registry():
    assert current_section() == render(), "run: .venv/bin/python -m hall.protocol_doc"


def test_every_topic_has_a_payload_type_and_every_request_a_reply():
    for spec in REGISTRY:
        assert spec.payload in m.PAYLOAD_TYPES, spec.name
        if spec.is_request:
            assert REGISTRY.response_for(spec).op == spec.op


def test_every_request_has_a_typed_reply():
    """No ad-hoc dict replies: the data of every ok reply has its type in the doc's table."""
    assert set(m.REQUEST_TYPES) == set(m.RESPONSE_DATA)
    assert all(isinstance(t, type) and issubclass(t, m.msgspec.Struct) for t in m.RESPONSE_DATA.values())


def test_engine_handles_exactly_the_engine_request_ops(small_config):
    from caller.service import CallerService
    e = Engine(small_config)
    svc = CallerService(small_config, "/nonexistent/never-opened.sqlite", None)  # no I/O in __init__
    handled = {f"{s.kind}.{s.op}" for s in REGISTRY.requests()
               if e.handles(f"{s.kind}.{s.op}") or f"{s.kind}.{s.op}" in svc._ext_ops}
    engine_ops = {f"{s.kind}.{s.op}" for s in REGISTRY.requests() if s.kind in ("kiosk", "window", "config")}
    assert engine_ops - handled == set(config_admin.OPS)  # answered by caller/config_admin.py


def test_topic_round_trip_and_refusals():
    spec = REGISTRY["window.state"]
    t = spec.topic("xihu", "W05")
    assert t == "onewindow/xihu/window/W05/state"
    p = REGISTRY.parse(t)
    assert (p.spec.name, p.hall_id, p.ident) == ("window.state", "xihu", "W05")
    assert REGISTRY.parse("onewindow/xihu/kiosk/K1/request/issue").spec.name == "kiosk.request.issue"
    for bad in ("onewindow/xihu/window/W05/explode", "other/xihu/window/W05/state",
                "onewindow/xihu/window", "onewindow/x+y/window/W05/state"):
        with pytest.raises(TopicError):
            REGISTRY.parse(bad)
    for bad_id in ("W+1", "W#", "a/b", "", "x" * 65):
        with pytest.raises(TopicError):
            spec.topic("xihu", bad_id)
    assert spec.pattern() == "onewindow/+/window/+/state"
