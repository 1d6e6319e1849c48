"""History for the report benchmarks (not product code): days of a hall's
tickets, ratings and presence, synthesized from a seed, and aggregated by the
very function the engine runs as a day closes (caller.daystats.aggregate).

Why not the simulator: ``sim/hallmonth.py`` drives the real engine and is what
the tests use, but 90 days of ~1,700 tickets through it take minutes on a
shared machine; the benchmark measures READING the aggregates (the console's
dashboard and month report), so what it needs is their size and shape — every
zone, department, matter, window and staff member of the example hall, every
day — not a faithful queue.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from caller.daystats import Presence, aggregate
from caller.effects import Changes
from caller.model import Rating, Ticket
from caller.store import Store
from hall import messages as m
from hall.clock import day_span
from hall.config import HallConfig

HOURLY = {8: 0.06, 9: 0.2, 10: 0.18, 11: 0.12, 13: 0.08, 14: 0.14, 15: 0.12, 16: 0.1}


def synth_history(cfg: HallConfig, db: Path, last: dt.date, days: int, per_day: int, seed: int = 1) -> int:
    """``days`` open days ending at ``last`` into ``db``; returns the tickets made."""
    rng = random.Random(seed)
    tz = cfg.hall.timezone
    servers: dict[str, list[str]] = {}
    for w in cfg.windows:
        for target in w.serves:
            servers.setdefault(target, []).append(w.id)
    matters = [mt for mt in cfg.matters if servers.get(mt.id)]
    weights = [rng.uniform(0.2, 3) for _ in matters]
    staff = {w.id: f"S{i:03d}" for i, w in enumerate(cfg.windows)}
    store = Store(db)
    store.open()
    made = 0
    d = last
    dates: list[dt.date] = []
    while len(dates) < days:
        if d.weekday() < 5:
            dates.append(d)
        d -= dt.timedelta(days=1)
    for date in reversed(dates):
        day = date.isoformat()
        t0 = day_span(day, tz)[0]
        tickets, ratings = [], []
        hours = rng.choices(list(HOURLY), weights=list(HOURLY.values()), k=per_day)
        for n, (mt, hour) in enumerate(zip(rng.choices(matters, weights=weights, k=per_day), hours)):
            issued = t0 + hour * 3600 + rng.uniform(0, 3600)
            wid = rng.choice(servers[mt.id])
            called = issued + rng.expovariate(1 / 900)
            noshow = rng.random() < 0.04
            finished = None if noshow else called + 60 + rng.expovariate(1 / (mt.minutes * 60))
            kind = rng.choices(("done", "accepted", "correction", "rejected"), (80, 10, 7, 3))[0]
            t = Ticket(id=f"{day.replace('-', '')}-A{n:04d}", day=day, number=f"A{n:04d}", group=mt.group,
                       seq=n, service=mt.id, matter=mt.id, bundle=None, zone=mt.zone, priority="normal",
                       lang="zh-CN", state="cancelled" if noshow else "done", issued_at=issued,
                       enqueued_at=issued, window=wid, staff=staff[wid], called_at=called, first_called_at=called,
                       served_at=None if noshow else called + 60, finished_at=finished,
                       noshow_at=called + 180 if noshow else None,
                       outcome=None if noshow else m.VisitOutcome(
                           kind=kind, note="缺材料" if kind == "correction" else None,
                           reason="不符合条件" if kind == "rejected" else None))
            tickets.append(t)
            if not noshow:
                level = rng.choices((5, 4, 3, 2, 1, None), (62, 22, 9, 3, 2, 2))[0]
                ratings.append(Rating(ticket=t.id, day=day, level=level,
                                      source="timeout" if level is None else "evaluator", window=wid,
                                      staff=staff[wid], matter=mt.id, at=(finished or called) + 5))
        presence = []
        for w in cfg.windows:
            if not w.attended:
                continue
            for a, b in ((8.5, 12.0), (13.5, 17.5)):
                pause = rng.uniform(a + 0.5, b - 0.5)
                length = rng.uniform(0, 0.3)
                presence += [Presence(day=day, window=w.id, staff=staff[w.id], status="open",
                                      start=t0 + a * 3600, end=t0 + pause * 3600),
                             Presence(day=day, window=w.id, staff=staff[w.id], status="paused",
                                      start=t0 + pause * 3600, end=t0 + (pause + length) * 3600),
                             Presence(day=day, window=w.id, staff=staff[w.id], status="open",
                                      start=t0 + (pause + length) * 3600, end=t0 + b * 3600)]
        store.commit(Changes(tickets=tickets, ratings=ratings), [],
                     presence + aggregate(cfg, day, tickets, ratings, presence))
        made += len(tickets)
    store.close()
    return made
