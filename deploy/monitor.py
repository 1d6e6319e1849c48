"""What the hall bus says about the hall's health, kept as plain state.

The pure core of `onewindow metrics` (and what `onewindow status` reads):
fed with (topic spec, id, typed payload, time) by the bus, it keeps today's counts, queue
depths, the engine's own health, every client's availability with the time
it changed, and device status.  No I/O, no Prometheus, no MQTT here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from typing import Any

from hall import messages as m

AVAILABILITY = ("engine.availability", "kiosk.availability", "display.availability", "device.availability")
WATCHED = AVAILABILITY + ("stats.summary", "stats.engine", "zone.waiting", "zone.called", "device.status")


@dataclass
class Seen:
    state: str
    since: float
    seen_change: bool


@dataclass
class HallHealth:
    started_at: float
    summary: m.HallSummary | None = None
    engine: m.EngineStats | None = None
    waiting: dict[str, int] = field(default_factory=dict)  # zone -> its total waiting
    calls: Counter = field(default_factory=Counter)  # zone -> calls seen since start
    recalls: Counter = field(default_factory=Counter)
    clients: dict[tuple[str, str], Seen] = field(default_factory=dict)  # (kind, id) -> state
    devices: dict[str, m.DeviceStatus] = field(default_factory=dict)
    changed: bool = False  # the availability digest needs publishing

    def feed(self, name: str, ident: str, msg: Any, now: float) -> None:
        """One message as the bus decoded it (its registered type; None: a cleared retained topic)."""
        if name in AVAILABILITY:
            self._availability(name.split(".")[0], ident, msg, now)
        elif name == "stats.summary":
            self.summary = msg
        elif name == "stats.engine":
            self.engine = msg
        elif name == "zone.waiting":
            if msg is not None:
                self.waiting[ident] = msg.total
            else:
                self.waiting.pop(ident, None)
        elif name == "zone.called" and msg is not None:
            (self.recalls if msg.recall else self.calls)[ident] += 1
        elif name == "device.status" and msg is not None:
            self.devices[ident] = msg

    def _availability(self, kind: str, ident: str, avail: m.Availability | None, now: float) -> None:
        key = (kind, ident)
        if avail is None:  # retained state cleared: the client was removed
            if self.clients.pop(key, None) is not None:
                self.changed = True
            return
        state = avail.state
        old = self.clients.get(key)
        if old is not None and old.state == state:
            return
        # the first message about a client may be the retained one from before we started
        self.clients[key] = Seen(state, now, seen_change=old is not None or now - self.started_at > 5.0)
        self.changed = True

    def digest(self, now: float) -> m.AvailabilityDigest:
        self.changed = False
        return m.AvailabilityDigest(clients=[
            m.ClientAvailability(kind=k, id=i, state=s.state, since=s.since, seen_change=s.seen_change)
            for (k, i), s in sorted(self.clients.items())], monitor_since=self.started_at, at=now)
