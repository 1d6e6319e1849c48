"""Satisfaction (好差评 statistics) per window, staff member, matter and day.

An engine extension with no table of its own: the engine already stores every
rating row (``ratings``), so at start today's figures are rebuilt from there,
and reports over past days read the same table.  Figures are retained on
``stats/<id>/satisfaction/{window,staff,matter,day}`` and republished only for
the keys a batch touched.

Counting a visit once: a timeout writes a "not rated" row (level None) and the
citizen may still rate at a kiosk later; that rating moves the visit from
``not_rated`` to its level, so each visit counts once, by its final state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hall import messages as m

from .domain import DayStarted, DomainEvent, Rated
from .engine import Emit, Engine
from .extension import ExtOut
from .model import Rating

if TYPE_CHECKING:
    from .store import Store

SCOPES = {"window": "stats.satisfaction.window", "staff": "stats.satisfaction.staff",
          "matter": "stats.satisfaction.matter", "hall": "stats.satisfaction.day"}


@dataclass
class Tally:
    levels: Counter = field(default_factory=Counter)
    not_rated: int = 0

    def view(self, scope: str, key: str, day: str, now: float) -> m.Satisfaction:
        rated = sum(self.levels.values())
        good = sum(n for lv, n in self.levels.items() if lv >= 3)
        total = sum(lv * n for lv, n in self.levels.items())
        return m.Satisfaction(
            scope=scope, key=key, day=day,  # type: ignore[arg-type]
            levels={str(lv): self.levels.get(lv, 0) for lv in (5, 4, 3, 2, 1)},
            rated=rated, not_rated=self.not_rated, good=good, bad=rated - good,
            rate=round(good / rated, 4) if rated else 0.0,
            avg=round(total / rated, 3) if rated else 0.0, at=now)


class Satisfaction:
    name = "satisfaction"

    def __init__(self, cfg: Any):
        self.day = ""
        self.tallies: dict[tuple[str, str], Tally] = {}
        self._unrated: set[str] = set()  # tickets with a timeout row and no rating yet
        self._rated: set[str] = set()

    # ---------------------------------------------------------------- pure --
    def _keys(self, r: Rating) -> list[tuple[str, str]]:
        keys = [("hall", "hall")]
        if r.window:
            keys.append(("window", r.window))
        if r.staff:
            keys.append(("staff", r.staff))
        if r.matter:
            keys.append(("matter", r.matter))
        return keys

    def add(self, r: Rating) -> list[tuple[str, str]]:
        """Count one rating row; returns the keys whose figures changed."""
        if r.ticket in self._rated:
            return []  # the core refuses a second rating; a replay must not count twice
        keys = self._keys(r)
        if r.level is None:
            if r.ticket in self._unrated:
                return []
            self._unrated.add(r.ticket)
            for k in keys:
                self.tallies.setdefault(k, Tally()).not_rated += 1
            return keys
        for k in keys:
            tl = self.tallies.setdefault(k, Tally())
            tl.levels[r.level] += 1
            if r.ticket in self._unrated:
                tl.not_rated -= 1
        self._unrated.discard(r.ticket)
        self._rated.add(r.ticket)
        return keys

    def _roll(self, day: str, now: float) -> list[Emit]:
        """A new day: yesterday's keys are republished as zero for today."""
        old = list(self.tallies)
        self.day = day
        self.tallies = {}
        self._unrated.clear()
        self._rated.clear()
        return [Emit(SCOPES[s], k, Tally().view(s, k, day, now)) for s, k in old]

    # ---------------------------------------------------------- extension --
    def restore(self, store: Store, engine: Engine, now: float) -> None:
        self.day = engine.day
        for r in store.ratings(engine.day):
            self.add(r)

    def ops(self) -> dict[str, type]:
        return {}

    def handle(self, op, ident, req, engine, now):  # pragma: no cover - no ops
        raise NotImplementedError(op)

    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        touched: dict[tuple[str, str], None] = {}
        for ev in events:
            if isinstance(ev, DayStarted) and ev.day != self.day:
                out.events.extend(self._roll(ev.day, now))
                touched.clear()
            elif isinstance(ev, Rated) and ev.rating.day == self.day:
                for k in self.add(ev.rating):
                    touched[k] = None
        out.events.extend(Emit(SCOPES[s], k, self.tallies[(s, k)].view(s, k, self.day, now))
                          for s, k in touched)
        return out

    def tick(self, engine: Engine, now: float) -> ExtOut:
        return ExtOut()

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        keys = dict.fromkeys(self.tallies)
        keys.setdefault(("hall", "hall"), None)
        return [Emit(SCOPES[s], k, self.tallies.get((s, k), Tally()).view(s, k, self.day, now))
                for s, k in keys]
