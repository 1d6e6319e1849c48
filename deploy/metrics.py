"""`onewindow metrics`: Prometheus ``/metrics`` for one hall, from the bus.

A process of its own on the hall server, not a module inside the engine:
the engine's worker loop stays free of HTTP serving and of whatever a
scraper does, a crash or a slow scrape here never touches ticketing, and it
logs in with its own read-only credential (ACL: counts and availability,
no topic that carries personal data).  What only the engine can measure
(commit latency, its inbound queue) it publishes as ``stats/hall/engine``.

It also publishes the retained availability digest (``stats/hall/availability``):
every client's state with the time it changed, which `onewindow status` prints
(the broker keeps retained state but not when it was set).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterator

import click

from hall import sdnotify
from hall.bus import Bus, BusSettings
from hall.mqtt_options import MqttOptions, mqtt_options
from hall.topics import REGISTRY

from .monitor import WATCHED, HallHealth

log = logging.getLogger("deploy.metrics")

DIGEST_EVERY_S = 1.0


class HallCollector:
    """A prometheus_client collector over a :class:`HallHealth` (read at scrape time)."""

    def __init__(self, health: HallHealth, lock: threading.Lock, hall_id: str,
                 ignored: Callable[[], int] = lambda: 0):
        self.health, self.lock, self.hall = health, lock, hall_id
        self.ignored = ignored  # payloads the bus dropped as undecodable

    def collect(self) -> Iterator:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        h, hall = self.health, self.hall

        def gauge(name, doc, value=None, labels=()):
            return GaugeMetricFamily(f"onewindow_{name}", doc, value=value,
                                     labels=None if value is not None else ["hall", *labels])

        with self.lock:
            s, e = h.summary, h.engine
            out = []
            if s is not None:
                for name, doc, v in (("tickets_issued", "Tickets issued today", s.issued),
                                     ("tickets_served", "Tickets served today", s.served),
                                     ("tickets_noshow", "Tickets marked no-show today", s.noshow),
                                     ("queue_waiting", "Tickets waiting in the hall now", s.waiting),
                                     ("wait_seconds_avg", "Average wait today until called, seconds",
                                      s.avg_wait_s),
                                     ("handle_seconds_avg", "Average handling time today, seconds", s.avg_handle_s),
                                     ("windows_open", "Windows open now", s.open_windows)):
                    g = gauge(name, doc)
                    g.add_metric([hall], v)
                    out.append(g)
            g = gauge("zone_waiting", "Tickets waiting per zone now", labels=["zone"])
            for zone, n in sorted(h.waiting.items()):
                g.add_metric([hall, zone], n)
            out.append(g)
            c = CounterMetricFamily("onewindow_calls", "Calls per zone since the exporter started",
                                    labels=["hall", "zone", "recall"])
            for zone in sorted(set(h.calls) | set(h.recalls)):
                c.add_metric([hall, zone, "no"], h.calls[zone])
                c.add_metric([hall, zone, "yes"], h.recalls[zone])
            out.append(c)
            if e is not None:
                c = CounterMetricFamily("onewindow_engine_requests", "Requests the engine took", labels=["hall"])
                c.add_metric([hall], e.requests)
                out.append(c)
                c = CounterMetricFamily("onewindow_engine_batches", "Batches the engine committed", labels=["hall"])
                c.add_metric([hall], e.batches)
                out.append(c)
                g = gauge("engine_batch_seconds", "Engine batch latency, worker to committed (fsync), "
                          "over its last 1,000 batches", labels=["quantile"])
                for q, v in (("0.5", e.batch_ms_p50), ("0.99", e.batch_ms_p99), ("1", e.batch_ms_max)):
                    g.add_metric([hall, q], v / 1000)
                out.append(g)
                g = gauge("engine_inbound", "Requests waiting for the engine's worker")
                g.add_metric([hall], e.inbound)
                out.append(g)
            up = gauge("client_up", "1 if the client's retained availability is online", labels=["kind", "id"])
            since = gauge("client_state_since_seconds", "When the client's availability last changed (epoch)",
                          labels=["kind", "id", "state"])
            for (kind, ident), seen in sorted(h.clients.items()):
                up.add_metric([hall, kind, ident], 1.0 if seen.state == "online" else 0.0)
                since.add_metric([hall, kind, ident, seen.state], seen.since)
            out += [up, since]
            ok = gauge("device_ok", "1 if the device reports itself ready", labels=["device", "kind"])
            sms = gauge("sms_queued", "SMS waiting in the sender's journal", labels=["sender"])
            for dev, st in sorted(h.devices.items()):
                ok.add_metric([hall, dev, st.kind], 1.0 if st.ok else 0.0)
                if "queued" in st.detail:
                    sms.add_metric([hall, dev], float(st.detail["queued"]))
            out += [ok, sms]
            g = gauge("metrics_ignored_payloads", "Bus payloads the exporter could not read")
            g.add_metric([hall], self.ignored())
            out.append(g)
        yield from out


class MetricsService:
    """Bus in, HallHealth in memory, /metrics out, the digest published each second."""

    def __init__(self, hall_id: str, settings: BusSettings, listen: tuple[str, int], client_id: str | None = None):
        self.hall_id = hall_id
        self.listen = listen
        self.health = HallHealth(started_at=time.time())
        self.lock = threading.Lock()
        self.bus = Bus(hall_id, client_id or "onewindow-metrics", settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = None
        self.port: int | None = None

    def start(self, timeout: float = 10.0) -> None:
        from prometheus_client import CollectorRegistry, start_http_server
        for name in WATCHED:  # typed by the bus, which drops (and counts) what does not decode
            self.bus.listen(REGISTRY[name], self._on_message)
        registry = CollectorRegistry(auto_describe=True)
        registry.register(HallCollector(self.health, self.lock, self.hall_id,
                                        ignored=lambda: sum(self.bus.dropped.values())))
        self._http, _ = start_http_server(self.listen[1], addr=self.listen[0], registry=registry)
        self.port = self._http.server_port
        self._thread = threading.Thread(target=self._run, name="metrics-digest", daemon=True)
        self._thread.start()
        self.bus.start(timeout)

    def _on_message(self, parsed, msg: Any) -> None:
        with self.lock:
            self.health.feed(parsed.spec.name, parsed.ident, msg, time.time())

    def _run(self) -> None:
        sdnotify.watch("metrics")
        while not self._stop.wait(DIGEST_EVERY_S):
            sdnotify.beat("metrics")
            with self.lock:
                digest = self.health.digest(time.time()) if self.health.changed else None
            if digest is not None and self.bus.connected:
                self.bus.publish(REGISTRY["stats.availability"], "hall", digest)
        sdnotify.unwatch("metrics")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.bus.stop()


def parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit():
        raise click.BadParameter(f"{value!r}: expected HOST:PORT", param_hint="--listen")
    return host or "0.0.0.0", int(port)


@click.command(name="metrics")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Hall config YAML.")
@click.option("--listen", default="0.0.0.0:9464", show_default=True, help="HOST:PORT of /metrics.")
@mqtt_options
def cmd(config_path: str, listen: str, mqtt: MqttOptions) -> None:
    """Serve Prometheus /metrics for the hall, read from the bus."""
    from hall.config import ConfigError, load_config
    from hall.runner import serve
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    svc = MetricsService(cfg.hall.id, mqtt.settings(), parse_listen(listen))
    serve(svc, f"metrics of hall {cfg.hall.id} on {listen}")
