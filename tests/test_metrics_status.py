"""`onewindow metrics` (Prometheus /metrics from the bus) and `onewindow status`
(retained availability, offline first, with the time it changed)."""

from __future__ import annotations

import re
import time
import urllib.request

import msgspec
import pytest

from deploy.metrics import MetricsService
from deploy.monitor import HallHealth
from deploy.status import read_retained, render
from hall import messages as m
from hall.bus import Requester
from hall.topics import REGISTRY


def avail(state: str) -> m.Availability:
    return m.Availability(state=state)  # as the bus hands it over, decoded


def test_status_report_offline_first_with_since():
    h = HallHealth(started_at=1000.0)
    h.feed("kiosk.availability", "K1", avail("online"), 1000.5)  # retained, from before the monitor
    h.feed("display.availability", "D1", avail("online"), 1000.5)
    h.feed("display.availability", "D1", avail("offline"), 4600.0)  # seen going offline
    assert h.changed
    d = h.digest(4700.0)
    assert not h.changed
    states = {("kiosk", "K1"): "online", ("display", "D1"): "offline", ("engine", "caller"): "stopped"}
    out = render("xihu", states, d, {("kiosk", "K1"), ("kiosk", "K2"), ("display", "D1")}, 4600.0 + 17 * 60,
                 tz="utc").splitlines()
    assert out == [
        "hall xihu: 1 online, 1 offline, 1 stopped, 1 never seen (at 1970-01-01 01:33:40)",
        "OFFLINE  display  D1               since 1970-01-01 01:16:40 (17 min)",
        "STOPPED  engine   caller           since ?",
        "ONLINE   kiosk    K1               since before 1970-01-01 00:16:40 (already online when the monitor "
        "started)",
        "NEVER    kiosk    K2               in the hall config, never on the bus",
    ]


def test_monitor_counts_calls_and_recalls():
    h = HallHealth(started_at=0.0)
    ev = m.CalledEvent(event="called", ticket="t", number="A001", window="W1", window_number="1", zone="Z1",
                       matter=None, recall=0, lang="zh-CN", at=1.0)
    h.feed("zone.called", "Z1", ev, 1.0)
    h.feed("zone.called", "Z1", msgspec.structs.replace(ev, recall=1), 2.0)
    assert (h.calls["Z1"], h.recalls["Z1"]) == (1, 1)  # garbage never gets here: the bus drops it (test_bus_typed)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def scrape_until(port: int, cond, timeout=15.0) -> str | None:
    """The first scrape for which ``cond(text)`` holds (None if none did in time)."""
    return wait_for(lambda: (lambda t: t if cond(t) else None)(scrape(port)), timeout)


def wait_for(pred, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


@pytest.mark.broker
def test_metrics_and_status_from_a_running_hall(broker, running_engine, bus_client, small_config):
    hid = small_config.hall.id
    running_engine()
    svc = MetricsService(hid, broker.settings, ("127.0.0.1", 0), client_id=f"metrics-{hid}")
    svc.start()
    try:
        kiosk = bus_client(hid, "K1", availability=(REGISTRY["kiosk.availability"], "K1"))
        req = Requester(kiosk, "kiosk", "K1")
        numbers = [req.call("issue", {"matter": "M1"}, timeout=5)["number"] for _ in range(3)]
        assert len(set(numbers)) == 3
        text = scrape_until(svc.port, lambda t: metric(t, "onewindow_tickets_issued", hall=hid) == 3)
        assert text, scrape(svc.port)
        assert metric(text, "onewindow_queue_waiting", hall=hid) == 3
        assert metric(text, "onewindow_client_up", kind="kiosk", id="K1") == 1
        assert metric(text, "onewindow_client_up", kind="engine", id="caller") == 1
        # the engine's own health (published every few seconds)
        text = scrape_until(svc.port, lambda t: (metric(t, "onewindow_engine_requests_total", hall=hid) or 0) >= 3)
        assert text, scrape(svc.port)
        p99 = metric(text, "onewindow_engine_batch_seconds", quantile="0.99")
        assert p99 is not None and p99 > 0
        assert re.search(r'^onewindow_zone_waiting\{hall="%s",zone="\w+"\} 3\.0$' % hid, text, flags=re.M)

        kiosk.stop()  # the kiosk leaves: "stopped", seen by the monitor
        assert wait_for(lambda: metric(scrape(svc.port), "onewindow_client_up", kind="kiosk", id="K1") == 0)

        def status():
            states, digest = read_retained(hid, broker.settings, quiet=0.3, client_id=f"status-{hid}")
            ok = digest and any(c.id == "K1" and c.state == "stopped" for c in digest.clients)
            return (states, digest) if ok else None

        got = wait_for(status)
        assert got, "the availability digest never showed K1 stopped"
        states, digest = got
        out = render(hid, states, digest, {("kiosk", "K1"), ("kiosk", "K9")}, time.time())
        assert re.search(r"^STOPPED  kiosk    K1               since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ s\)$",
                         out, flags=re.M), out
        assert re.search(r"^ONLINE   engine   caller ", out, flags=re.M), out
        assert "NEVER    kiosk    K9" in out
    finally:
        svc.stop()
