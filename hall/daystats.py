"""A day's figures for one hall, zone, department, matter, window or staff member.

The engine writes one :class:`DayStat` per (day, scope, key) as the day closes
(caller/daystats.py); reports (reports/) add days up into weeks and months and
never read a ticket.  Everything in a record *adds*: counts, sums of seconds,
and the waits as a histogram of whole minutes, so a month's median and p90 are
computed from the month's waits (exact to the minute), not averaged from daily
percentiles, which would be wrong on any skewed month.

Why a histogram of minutes and not the sorted waits: a record stays small
(a few dozen buckets however busy the day), 90 days of a whole hall load in
well under a second, and a wait is shown in minutes anyway.  Reported
percentiles are the bucket's lower edge: "p90 = 23" means 90 % of the waits
were under 24 minutes.

No personal data is in here: ids of windows, staff, matters, zones,
departments' names, and counts.
"""

from __future__ import annotations

from typing import Iterable

import msgspec

SCOPES = ("hall", "zone", "department", "matter", "window", "staff")
OUTCOMES = ("done", "accepted", "correction", "rejected")  # 办结 受理 补正 不予受理
CASE_RESULTS = ("early", "on_time", "overdue")  # 提前办结 按时办结 逾时办结


class DayStat(msgspec.Struct, kw_only=True, omit_defaults=True):
    day: str  # local ISO date of the hall
    scope: str  # one of SCOPES
    key: str  # "hall", a zone/matter/window/staff id, a department's name
    issued: int = 0  # tickets taken (hall, zone, department, matter)
    called: int = 0  # first calls (every scope; a window's or staff's "issued")
    served: int = 0  # visits finished (done)
    noshow: int = 0
    cancelled: int = 0  # still open at closing time
    wait_n: int = 0
    wait_s: float = 0.0  # sum of waits, issue to first call
    wait_hist: dict[int, int] = {}  # whole minutes waited → tickets
    handle_n: int = 0
    handle_s: float = 0.0  # sum of handling, start (or call) to finish
    outcomes: dict[str, int] = {}  # OUTCOMES → visits settled so
    levels: dict[int, int] = {}  # rating level 5…1 → visits (final rating per visit)
    not_rated: int = 0
    open_s: float = 0.0  # logged in and not paused, within service hours (window, staff)
    paused_s: float = 0.0
    busy_s: float = 0.0  # a citizen at the window: call to finish of served visits
    arrivals: dict[int, int] = {}  # local hour of issue → tickets
    cases: dict[str, int] = {}  # CASE_RESULTS → cases decided that day


def _add_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


_SUMMED = ("issued", "called", "served", "noshow", "cancelled", "wait_n", "wait_s", "handle_n", "handle_s",
           "not_rated", "open_s", "paused_s", "busy_s")
_COUNTS = ("wait_hist", "outcomes", "levels", "arrivals", "cases")


def merge(stats: Iterable[DayStat], day: str = "", scope: str = "", key: str = "") -> DayStat:
    """Add records up (days into a week or a month, windows into a zone…)."""
    acc: dict = {f: 0 for f in _SUMMED}
    counts: dict[str, dict] = {f: {} for f in _COUNTS}
    for s in stats:
        for f in _SUMMED:
            acc[f] += getattr(s, f)
        for f in _COUNTS:
            counts[f] = _add_counts(counts[f], getattr(s, f))
    return DayStat(day=day, scope=scope, key=key, **acc, **counts)


def percentile_min(hist: dict[int, int], q: float) -> int | None:
    """The q-quantile of the waits, in whole minutes (nearest rank), or None without waits."""
    n = sum(hist.values())
    if not n:
        return None
    rank = max(1, -(-int(q * n * 1000) // 1000))  # ceil(q·n) without float surprises at 0.5·n
    seen = 0
    for minute in sorted(hist):
        seen += hist[minute]
        if seen >= rank:
            return minute
    return max(hist)


def figures(s: DayStat) -> dict:
    """What a report shows for one record: counts and the figures derived from them."""
    rated = sum(s.levels.values())
    good = sum(n for lv, n in s.levels.items() if lv >= 3)
    decided = sum(s.cases.get(r, 0) for r in CASE_RESULTS)
    staffed = s.open_s + s.paused_s
    return {
        "issued": s.issued if s.scope not in ("window", "staff") else None,  # a ticket has no window yet
        "called": s.called, "served": s.served, "noshow": s.noshow,
        "cancelled": s.cancelled,
        "avg_wait_min": round(s.wait_s / s.wait_n / 60, 1) if s.wait_n else None,
        "median_wait_min": percentile_min(s.wait_hist, 0.5),
        "p90_wait_min": percentile_min(s.wait_hist, 0.9),
        "avg_handle_min": round(s.handle_s / s.handle_n / 60, 1) if s.handle_n else None,
        "correction": s.outcomes.get("correction", 0),
        "accepted": s.outcomes.get("accepted", 0),
        "rejected": s.outcomes.get("rejected", 0),
        "rated": rated, "good": good, "bad": rated - good, "not_rated": s.not_rated,
        "satisfaction": round(good / rated, 4) if rated else None,
        # no presence (a department, a matter, a window nobody logged in at): no minutes to show
        "open_min": round(s.open_s / 60, 1) if staffed else None,
        "paused_min": round(s.paused_s / 60, 1) if staffed else None,
        "idle_min": round(max(0.0, s.open_s - s.busy_s) / 60, 1) if staffed else None,
        "utilisation": round(min(1.0, s.busy_s / staffed), 4) if staffed else None,
        "early": s.cases.get("early", 0), "on_time": s.cases.get("on_time", 0),
        "overdue": s.cases.get("overdue", 0), "decided": decided,
    }


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(DayStat)


def encode(s: DayStat) -> bytes:
    return _enc.encode(s)


def decode(data: bytes) -> DayStat:
    return _dec.decode(data)
