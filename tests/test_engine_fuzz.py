"""The engine's door under fuzz: topics and payloads, every request answered
once, never ``internal``; and the fuzz shown to catch a handler that raises."""

from __future__ import annotations

import pytest

from caller import kiosk_ops
from caller.service import CallerService
from hall.topics import REGISTRY
from tests.fuzzkit import VALID, LoopbackBus, fuzz_config, run_fuzz


@pytest.fixture
def fuzzed_engine(tmp_path):
    started = []

    def start() -> tuple[CallerService, LoopbackBus]:
        cfg = fuzz_config()
        bus = LoopbackBus(cfg.hall.id)
        svc = CallerService(cfg, tmp_path / f"fuzz{len(started)}.sqlite", None, bus=bus)
        svc.start()
        started.append(svc)
        return svc, bus

    yield start
    for svc in started:
        svc.stop()


def test_every_request_topic_is_fuzzed():
    """The fuzz knows a valid body for every request with fields of its own."""
    from hall import messages as m
    for spec in REGISTRY.requests():
        op = f"{spec.kind}.{spec.op}"
        t = m.REQUEST_TYPES[op]
        n_required = len(t.__struct_fields__) - len(t.__struct_defaults__)
        required = [f for f in t.__struct_fields__[:n_required] if f != "id"]
        assert not required or op in VALID, f"tests/fuzzkit.py VALID needs a body for {op}"


def test_fuzz_never_kills_stalls_or_answers_internal(fuzzed_engine):
    svc, bus = fuzzed_engine()
    codes = run_fuzz(svc, bus, seed=20261130, n=3000, chunk=1000)
    # the fuzz reached the handlers, not only the door
    assert codes.get("ok", 0) > 100 and codes["bad_request"] > 100
    assert codes["too_deep"] > 10 and codes["too_large"] > 10 and codes["bad_json"] > 10
    assert svc.failed is None
    for tid in svc.engine.tickets:  # every ticket held is stored
        assert svc.store.ticket(tid) is not None


def test_fuzz_catches_a_handler_that_raises(fuzzed_engine, monkeypatch):
    def broken(e, ident, req, now):
        raise KeyError("injected fault")
    monkeypatch.setitem(kiosk_ops.HANDLERS, "kiosk.cancel", broken)
    svc, bus = fuzzed_engine()
    with pytest.raises(AssertionError, match="internal error replied"):
        run_fuzz(svc, bus, seed=20261130, n=3000, chunk=1000)
    assert svc.failed is None  # answered `internal`, kept serving
