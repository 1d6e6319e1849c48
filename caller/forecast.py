"""Where a waiting ticket stands and when it will be called: pure, from the core's state.

Two questions, answered by replaying the calling policy of caller/routing.py
on the queue as it is (never on a copy of it: each waiting list is read
through a pointer, because the policy only ever takes a list's head):

``ahead``
    How many tickets the policy calls before this one, at this moment: the
    clock stopped, the ticket's open windows calling ``next`` in turn (config
    order) until it is called; a call by any of them counts, whatever its
    matter, ties broken exactly as ``Routing.pick`` breaks them (place in
    line, then queue sequence, so a batch issued in one instant gets distinct
    places).  A test compares it with an idle hall that really calls.

``wait``
    Seconds until it is called, by a forward simulation of the hall: every
    window that shares work with the ticket's windows becomes free when its
    current visit should end (learned handling times, paused windows after a
    typical pause, nothing while the hall is closed for lunch), then takes what
    the policy gives it at that time — ageing included.  Citizens expected to
    arrive later and still be called first (priority classes, higher skill
    weights at the ticket's windows) add their handling time.  The range
    comes from the learned spread of handling times (docs/estimates.md).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from bisect import bisect_left
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from statistics import NormalDist
from typing import TYPE_CHECKING, Iterable

from hall.clock import local_dt

from .estimate import LOGIN_WINDOW_S
from .model import ACTIVE, Ticket

if TYPE_CHECKING:
    from .engine import Engine
    from .routing import Routing

LOGIN_GUESS_S = 120.0  # a closed window that should be staffed (`attended`) opens soon
Z_RANGE = 1.28  # ± this many standard deviations: an 80 % interval
MODEL_ERR = 0.15  # the model's own error, as a share of the wait (calibrated: docs/estimates.md)
# Beyond this many citizens waiting for a ticket's windows, its place is counted in
# its own line (O(log n)) and its wait extrapolated: replaying hours of queue on
# every issue would make the engine's cost grow with the queue (a burst of 3,000/s).
FULL_REPLAY = 120
FULL_REPLAY_WINDOWS = 40  # likewise for a line shared by more windows than a zone has
_NORMAL = NormalDist()
_STATUS = attrgetter("status")



@dataclass(frozen=True)
class WaitForecast:
    mid_s: float
    lo_s: float
    hi_s: float
    base_s: float = 0.0  # the replay alone, before citizens still to come

    def minutes(self) -> tuple[int, int, int]:
        """(mid, lo, hi) in whole minutes as shown to citizens; lo ≤ mid ≤ hi."""
        mid = max(0, round(self.mid_s / 60))
        lo = max(0, math.floor(self.lo_s / 60))
        hi = max(mid, math.ceil(self.hi_s / 60), lo + 1)
        return mid, min(lo, mid), hi


class _Lists:
    """The non-empty waiting lists a set of windows draws from, read through pointers;
    a window's candidates are gathered the first time it picks.

    The pointers are one list indexed by each (line, class)'s slot in ``Shape``:
    reading one costs an index, not the hash of a (line, class) tuple, in the
    replay's inner loop."""

    def __init__(self, e: Engine):
        self.shape = e.shape
        self.ptr: list[int] = []
        # window -> [((line, class), slot, score bonus, list, its length)]
        self.cands: dict[str, list[tuple[tuple[str, str], int, float, list, int]]] = {}

    def _gather(self, wid: str) -> list[tuple[tuple[str, str], int, float, list, int]]:
        lists = self.shape.lists(wid)
        grow = self.shape.slots - len(self.ptr)
        if grow > 0:
            self.ptr.extend([0] * grow)
        out = self.cands[wid] = [(key, slot, bonus, lst, len(lst)) for key, slot, bonus, lst in lists if lst]
        return out

    def reset(self) -> None:
        self.ptr = [0] * len(self.ptr)

    def pick(self, wid: str, now: float) -> tuple[str, str, str] | None:
        """What ``Routing.pick`` would return for ``wid`` at ``now`` (line, class, ticket):
        the best score, ties to the earlier place, then the earlier queue sequence."""
        best = None
        best_s = bp = bq = 0.0
        ptr = self.ptr
        cands = self.cands.get(wid)
        if cands is None:
            cands = self._gather(wid)
        for cand in cands:
            i = ptr[cand[1]]
            if i >= cand[4]:
                continue
            entry = cand[3][i]
            place = entry[0]
            score = (now - place) / 60.0 + cand[2]
            if best is None or score > best_s or (score == best_s and (place < bp or (place == bp and entry[1] < bq))):
                best, best_s, bp, bq = cand, score, place, entry[1]
        if best is None:
            return None
        key, slot = best[0], best[1]
        i = ptr[slot]
        ptr[slot] = i + 1
        return key[0], key[1], best[3][i][2]

    # ``pick`` at one moment, many times (``ahead``, the clock stopped): a heap per
    # window of its lists' heads keyed as ``pick`` compares them — (−score, place,
    # queue sequence, then the candidate's rank, as ``pick``'s first-found) — so a
    # pick costs O(log lists) instead of a walk over every list.  Another window
    # taking a head leaves a stale entry behind; within a list the key never
    # decreases down the list, so a stale entry is never worse than its list's
    # true head and is refreshed when it comes to the top.
    def heads(self, wid: str, now: float) -> list[tuple[float, float, int, int, int]]:
        cands = self.cands.get(wid)
        if cands is None:
            cands = self._gather(wid)
        ptr = self.ptr
        h = []
        for j, (_key, slot, bonus, lst, size) in enumerate(cands):
            i = ptr[slot]
            if i < size:
                place, qseq, _tid = lst[i]
                h.append((-((now - place) / 60.0 + bonus), place, qseq, j, i))
        heapq.heapify(h)
        return h

    def take(self, wid: str, h: list[tuple[float, float, int, int, int]],
             now: float) -> tuple[str, str, str] | None:
        """``pick(wid, now)`` through the window's heap from ``heads(wid, now)``."""
        cands = self.cands[wid]
        ptr = self.ptr
        while h:
            _s, _p, _q, j, i = h[0]
            key, slot, bonus, lst, size = cands[j]
            cur = ptr[slot]
            if cur == i:
                ptr[slot] = i = i + 1
                if i < size:
                    place, qseq, _tid = lst[i]
                    heapq.heapreplace(h, (-((now - place) / 60.0 + bonus), place, qseq, j, i))
                else:
                    heapq.heappop(h)
                return key[0], key[1], lst[cur][2]
            if cur < size:  # stale: its head was taken by another window
                place, qseq, _tid = lst[cur]
                heapq.heapreplace(h, (-((now - place) / 60.0 + bonus), place, qseq, j, cur))
            else:
                heapq.heappop(h)
        return None


class Shape:
    """What the forecast reads of the skills, cached until they change (a new
    config, a loan: ``Routing.version``), so an issue does not walk every
    window's skills again."""

    def __init__(self, r: Routing):
        self.r = r
        self._version = -1
        self._cands: dict[str, dict[str, list[tuple[str, float]]]] = {}
        self._related: dict[str, tuple[list[str], list[tuple[str, list[str]]]]] = {}
        self._pairs: dict[str, tuple[str, list[str]]] = {}
        self._lists: dict[str, list[tuple[tuple[str, str], int, float, list]]] = {}
        self._slot: dict[tuple[str, str], int] = {}  # each list's place in a _Lists' pointers
        self.slots = 0
        self._made = -1
        self.order: dict[str, int] = {}

    def _fresh(self) -> None:
        if self._version != self.r.version:
            self._version = self.r.version
            self._cands.clear()
            self._related.clear()
            self._pairs.clear()
            self._lists.clear()
            self._slot.clear()
            self.slots = 0
            self.order = {w: i for i, w in enumerate(self.r.skills)}  # config order

    def cands(self, wid: str) -> dict[str, list[tuple[str, float]]]:
        """line → [(class, score bonus)] of every line the window serves."""
        self._fresh()
        hit = self._cands.get(wid)
        if hit is None:
            r = self.r
            hit = {line: [(k, r.step * (weight - 1) + boost) for k, boost in r.boost.items()]
                   for line, weight in r.skills.get(wid, {}).items()}
            self._cands[wid] = hit
        return hit

    def lists(self, wid: str) -> list[tuple[tuple[str, str], int, float, list]]:
        """((line, class), its slot, score bonus, the routing's list) of every list the
        window may draw from that exists (empty or not), kept until the skills change
        or a list is made (``Routing.lists_made``)."""
        self._fresh()
        r = self.r
        if self._made != r.lists_made:
            self._made = r.lists_made
            self._lists.clear()
            self._slot.clear()
            self.slots = 0
        hit = self._lists.get(wid)
        if hit is None:
            lines, slot = r._lines, self._slot
            hit = []
            for line, classes in self.cands(wid).items():
                for k, bonus in classes:
                    lst = lines.get((line, k))
                    if lst is not None:
                        n = slot.get((line, k))
                        if n is None:
                            n = slot[(line, k)] = len(slot)
                        hit.append(((line, k), n, bonus, lst))
            self.slots = len(slot)
            self._lists[wid] = hit
        return hit

    def related(self, line: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """The line's windows, and each line they serve with the windows of that line."""
        self._fresh()
        hit = self._related.get(line)
        if hit is None:
            r = self.r
            # the routing's own lists, not copies, and one (line, windows) pair
            # per line shared by every line it neighbours: they change only
            # with the routing's version, which empties these caches (a copy
            # of every neighbour's windows for every line was 2.9 MB at 1,000
            # windows)
            pairs = self._pairs
            neighbours = []
            for ln in r.neighbour_lines(line):
                pair = pairs.get(ln)
                if pair is None:
                    pair = pairs[ln] = (ln, r.servers.get(ln, []))
                neighbours.append(pair)
            hit = (r.servers.get(line, []), neighbours)
            self._related[line] = hit
        return hit


def _open_servers(e: Engine, line: str) -> list[str]:
    servers = e.routing.servers.get(line, [])
    return [w for w in servers if e.windows[w].status == "open"] or list(servers)


def ahead(e: Engine, t: Ticket, now: float, limit: int | None = None) -> int:
    """Tickets called before ``t`` by its windows, clock stopped (see module doc).

    ``limit``: stop counting past it (the SMS rule only asks "≤ N?")."""
    if t.state != "waiting":
        return 0
    if _crowded(e, e.line_of(t)):
        return _same_line_ahead(e, t)
    return _ahead(e, t, now, _Lists(e), limit)


def _ahead(e: Engine, t: Ticket, now: float, lists: _Lists, limit: int | None = None) -> int:
    active = _open_servers(e, e.line_of(t))
    heaps: dict[str, list] = {}
    tid = t.id
    n = 0
    while active:
        for wid in list(active):
            h = heaps.get(wid)
            if h is None:
                h = heaps[wid] = lists.heads(wid, now)
            got = lists.take(wid, h, now)
            if got is None:
                active.remove(wid)
                continue
            if got[2] == tid:
                return n
            n += 1
            if limit is not None and n > limit:
                return n
            if n > FULL_REPLAY:
                return max(n, _same_line_ahead(e, t))
    return n  # not reachable by any window: everyone waiting there is ahead


def _crowded(e: Engine, line: str) -> bool:
    """More than FULL_REPLAY wait in the lines the ticket's windows serve (summed
    in C: a 1,000-window hall's line has a hundred neighbours)."""
    r = e.routing
    lines = r._neighbours.get(line) or r.neighbour_lines(line)
    return sum(map(r.waiting_by_line.get, lines, repeat(0))) > FULL_REPLAY


def _same_line_ahead(e: Engine, t: Ticket, line: str | None = None) -> int:
    """Tickets of its own line the policy calls first (ties by queue sequence): a
    lower bound of ``ahead``, in O(classes × log n)."""
    r = e.routing
    if line is None:
        line = e.line_of(t)
    mine = r.boost.get(t.priority, 0.0)
    n = 0
    for klass, boost in r.boost.items():
        lst = r._lines.get((line, klass))
        if lst:
            n += bisect_left(lst, (t.enqueued_at - (mine - boost) * 60.0, t.qseq if klass == t.priority else -1))
    return n


def _extrapolated(e: Engine, t: Ticket, line: str, ahead_n: int) -> WaitForecast | None:
    """A long queue's wait: its citizens ahead × what a call costs ÷ staffed windows."""
    servers = e.routing.servers.get(line, [])
    staffed = len(servers) - list(map(_STATUS, map(e.windows.__getitem__, servers))).count("closed")
    if not staffed:
        return None
    mid = (ahead_n + 0.5) * e.estimator.call_s(t.service) / staffed
    sd = MODEL_ERR * mid + 60.0
    return WaitForecast(mid_s=mid, lo_s=max(0.0, mid - Z_RANGE * sd), hi_s=mid + Z_RANGE * sd, base_s=mid)


def _statuses(e: Engine, windows: Iterable[str]) -> list[str]:
    """The status of each of ``windows`` (read in C: a line may have a hundred)."""
    return list(map(_STATUS, map(e.windows.__getitem__, windows)))


def _related_windows(e: Engine, line: str) -> list[str] | None:
    """The ticket's windows and every window that draws from one of their lines
    with someone waiting in it (they compete for the same citizens); None as
    soon as they are more than FULL_REPLAY_WINDOWS (the caller extrapolates,
    and a 1,000-window hall's set is never built and sorted on every issue)."""
    first, neighbours = e.shape.related(line)
    if len(first) > FULL_REPLAY_WINDOWS:
        return None
    waiting = e.routing.waiting_by_line
    out = set(first)
    for ln, servers in neighbours:
        if waiting.get(ln):
            out.update(servers)
            if len(out) > FULL_REPLAY_WINDOWS:
                return None
    return sorted(out, key=e.shape.order.__getitem__)  # config order: deterministic


def _free_at(e: Engine, wid: str, now: float, nobody: bool) -> float | None:
    """When a window is expected to call next; None if nobody staffs it.

    ``nobody``: none of the ticket's windows is staffed (the morning before the
    first login): then attended windows are expected soon.  Once one of them is
    staffed, a closed window counts for nothing — an empty window in service
    hours is a 空岗 alarm, not a promise."""
    w = e.windows[wid]
    est = e.estimator
    if w.status == "closed":
        back = e.hours.back_from_break(w.since, now)
        if back is not None:
            return back  # logged out for the break: its clerk comes back as late as today's do
        return now + LOGIN_GUESS_S if nobody and wid in e.routing.attended else None
    if w.status == "paused":
        return max(now + 120.0, w.since + est.pause.mean())
    cur = e.tickets.get(w.current or "")
    if cur is None or cur.state not in ACTIVE:
        return now
    speed = est.speed(wid)
    mean, sd = est.handle_s(cur.service) * speed, est.spread_s(cur.service) * speed
    if cur.state == "called" and est.walk.n:
        # called, not yet at the window (this hall's staff press "start"): the walk-up
        # and the whole visit to come, or the wait for a citizen who does not come
        since = now - (cur.called_at or now)
        p = est.noshow_share()
        return now + (1.0 - p) * (max(0.0, est.walk.mean() - since) + remaining_s(mean, sd, 0.0)) \
            + p * max(0.0, est.noshow_cost.mean() - since)
    return now + remaining_s(mean, sd, now - (cur.handle_start or now))


def remaining_s(mean: float, sd: float, elapsed: float) -> float:
    """Median rest of a visit that has lasted ``elapsed`` seconds, visit lengths
    being log-normal with this mean and spread.  A visit past its mean is not
    "about to end": long visits tend to run longer still."""
    mean = max(mean, 1.0)
    sigma = math.sqrt(math.log(1.0 + (sd / mean) ** 2)) or 1e-3
    mu = math.log(mean) - sigma * sigma / 2.0
    done = _phi((math.log(elapsed) - mu) / sigma) if elapsed > 0 else 0.0
    u = min(done + (1.0 - done) / 2.0, 1.0 - 1e-9)
    return max(0.0, math.exp(mu + sigma * _NORMAL.inv_cdf(u)) - elapsed)


def position(e: Engine, t: Ticket, now: float, line: str | None = None) -> tuple[int, WaitForecast | None]:
    """``ahead`` and ``wait`` of a ticket together, reading the queue once
    (``line``: the ticket's, ``e.line_of(t)``, when the caller knows it)."""
    if t.state != "waiting":
        return 0, None
    if line is None:
        line = e.line_of(t)
    r = e.routing  # _crowded, inline: this runs on every issue
    crowded = sum(map(r.waiting_by_line.get, r._neighbours.get(line) or r.neighbour_lines(line),
                      repeat(0))) > FULL_REPLAY
    windows = None if crowded else _related_windows(e, line)
    if windows is None:
        n = _same_line_ahead(e, t, line)
        return n, _extrapolated(e, t, line, n)
    lists = _Lists(e)
    n = _ahead(e, t, now, lists)
    lists.reset()
    return n, _wait(e, t, now, line, lists, windows)


def wait(e: Engine, t: Ticket, now: float) -> WaitForecast | None:
    """Seconds until ``t`` is called (mid and an 80 % range); None if no window
    that serves it is staffed."""
    if t.state != "waiting":
        return None
    line = e.line_of(t)
    windows = None if _crowded(e, line) else _related_windows(e, line)
    if windows is None:
        return _extrapolated(e, t, line, _same_line_ahead(e, t))
    return _wait(e, t, now, line, _Lists(e), windows)


def _wait(e: Engine, t: Ticket, now: float, line: str, lists: _Lists,
          windows: list[str]) -> WaitForecast | None:
    start: list[tuple[float, int, str]] = []
    servers = e.routing.servers.get(line, [])
    nobody = _statuses(e, servers).count("closed") == len(servers)
    for i, wid in enumerate(windows):
        at = _free_at(e, wid, now, nobody)
        if at is not None:
            start.append((e.hours.next_open(at), i, wid))
    mine = set(servers)
    if not any(w in mine for _, _, w in start):
        return None
    got = _replay(e, t, lists, start, mine)
    if got is None:
        return _extrapolated(e, t, line, _same_line_ahead(e, t))
    at, var, k3 = got
    return _with_inflow(e, t, line, mine, at - now, var, now, k3)


def _replay(e: Engine, t: Ticket, lists: _Lists, heap: list[tuple[float, int, str]],
            servers: set[str]) -> tuple[float, float, float] | None:
    """Play the policy forward until ``t`` is picked: (its call time, the variance of
    the visits its windows handled first).  A call costs what it costs on average
    today (``Estimator.call_s``): walk-up and visit at this window's speed, or the
    wait for a citizen who does not come."""
    heapq.heapify(heap)
    var = k3 = 0.0
    calls = 0
    est = e.estimator
    while heap:
        at, i, wid = heapq.heappop(heap)
        got = lists.pick(wid, at)
        if got is None:
            continue  # nothing left for it: idle until someone new comes
        if got[2] == t.id:
            return at, var, k3
        calls += 1
        other = e.tickets.get(got[2])
        svc = other.service if other is not None else got[0]
        if wid in servers:
            speed = est.speed(wid)
            sd = est.spread_s(svc) * speed
            var += sd * sd
            k3 += _ln_k3(est.handle_s(svc) * speed, sd)
        if calls > FULL_REPLAY:
            return None  # a long queue: the caller extrapolates
        heapq.heappush(heap, (e.hours.next_open(at + call_cost(e, got[2], svc, wid)), i, wid))
    return None


def _ln_k3(mean: float, sd: float) -> float:
    """Third central moment of a log-normal visit of this mean and spread: (c² + 3)·c·sd³."""
    c = sd / max(mean, 1.0)
    return (c * c + 3.0) * c * sd ** 3


def call_cost(e: Engine, ticket: str, service: str, window: str) -> float:
    """What calling ``ticket`` is expected to cost ``window``: the learned average
    (bench/estimate.py --oracle replaces it with the simulator's truth, to measure
    what no forecast could know)."""
    return e.estimator.call_s(service, window)


def _with_inflow(e: Engine, t: Ticket, line: str, servers: set[str], base_s: float,
                 var: float, now: float, k3: float = 0.0) -> WaitForecast:
    """Add the expected citizens who arrive after ``t`` and are still called first,
    take the median (not the mean) of the wait, and put the call and its range on
    the clock around the lunch break."""
    n_srv = max(1, len(servers) - _statuses(e, servers).count("closed"))
    horizon_min = base_s / 60.0
    extra_s = sum(coef * _arriving_minutes(e, now, min(lead, horizon_min))
                  for lead, coef in e.inflow.terms(line, t.priority, now)) / n_srv
    # worked out in open time (the breaks cut out), then put back on the clock: the map
    # is monotone, so the range's ends stay the ends
    late = e.hours.late_s()
    breaks = [(g0, g1 - g0 + late) for g0, g1 in e.hours.gaps(now) if g0 > now]
    base_open = base_s - sum(gap for g0, gap in breaks if now + base_s >= g0)  # crossed in the replay
    mid = base_open + extra_s - _median_shift(e, t, n_srv, var, k3, extra_s)
    # the spread: visits before it (their handling times), the arrivals, and the model's
    # own error (staff behaviour it cannot see), which grows with the wait
    sd = math.sqrt(var) / n_srv + 0.25 * extra_s + MODEL_ERR * mid + 30.0
    lo, hi = mid - Z_RANGE * sd, mid + Z_RANGE * sd
    at = _clock(now, mid, breaks)
    for g0, gap in breaks:
        if now + base_s >= g0:
            # the replay itself crossed the break: the figure stays after it
            at = max(at, g0 + gap - now)
        elif now + mid >= g0:
            # only the citizens still to come push it past the break's start: the
            # figure stays at the edge (measured: moving it past the break is wrong
            # more often than not — docs/estimates.md), the range reaches past it
            at = g0 - now
    return WaitForecast(mid_s=max(0.0, at), lo_s=max(0.0, _clock(now, lo, breaks)),
                        hi_s=_clock(now, hi, breaks), base_s=base_s)


def _clock(now: float, open_s: float, breaks: list[tuple[float, float]]) -> float:
    """Seconds from now on the clock to a moment ``open_s`` of open time away: a call
    that would fall at or after a break's start is made after it (a median that does
    is the median of a call more likely to miss the break than not)."""
    for g0, gap in breaks:
        if now + open_s >= g0:
            open_s += gap
    return open_s


def _median_shift(e: Engine, t: Ticket, n_srv: int, var: float, k3: float, extra_s: float) -> float:
    """Mean minus median of the wait (Cornish-Fisher: κ3 / 6σ²): the visits before it
    and the citizens still to come are right-skewed, so the wait's median — the figure
    that is wrong by the least on average — lies below the mean the replay adds up.
    The arrivals still to come are a compound Poisson count of visits like the
    ticket's own, each delaying it by a visit ÷ its windows."""
    s2, m3 = var / n_srv ** 2, k3 / n_srv ** 3
    if extra_s > 0.0:
        est = e.estimator
        x = est.handle_s(t.service) / n_srv
        c = est.spread_s(t.service) / max(est.handle_s(t.service), 1.0)
        lam = extra_s / x  # how many are expected to jump the queue
        if lam < math.log(2.0) and s2 < (0.5 * x) ** 2:
            return extra_s  # more likely than not nobody does: the median adds nothing
        s2 += lam * x * x * (1.0 + c * c)
        m3 += lam * x ** 3 * (1.0 + c * c) ** 3
    if s2 <= 0.0:
        return 0.0
    return min(m3 / (6.0 * s2), extra_s + math.sqrt(var) / n_srv)


def _arriving_minutes(e: Engine, now: float, minutes: float) -> float:
    """Minutes of the next ``minutes`` in which citizens can take a number: none in a
    closed gap (lunch) where the kiosks issue only in service hours."""
    if not e.cfg.queue.issue_only_in_service_hours:
        return minutes
    end = now + 60.0 * minutes
    shut = sum(max(0.0, min(end, g1) - max(now, g0)) for g0, g1 in e.hours.gaps(now))
    return minutes - shut / 60.0


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


class Inflow:
    """Work that citizens still to come will add before a ticket of a line and class:
    a list of (lead minutes, seconds of work per minute) terms, one per lead; these,
    each window's and each line's arrivals are cached five minutes."""

    TTL_S = 300.0  # arrival rates move over half an hour (caller/estimate.py)

    def __init__(self, e: Engine):
        self.e = e
        self._cache: dict[tuple[str, str], tuple[float, list[tuple[float, float]]]] = {}
        self._lines: dict[str, tuple[float, float, list[tuple[str, float]]]] = {}
        self._windows: dict[str, tuple[float, list[tuple[float, float]]]] = {}
        self._version = -1

    def clear(self) -> None:
        self._cache.clear()
        self._lines.clear()
        self._windows.clear()

    def _line(self, ln: str, now: float) -> tuple[float, list[tuple[str, float]]]:
        """(seconds of work arriving per minute per window of the line, class shares)."""
        hit = self._lines.get(ln)
        if hit is not None and 0.0 <= now - hit[0] < self.TTL_S:
            return hit[1], hit[2]
        e = self.e
        rate = e.arrivals.rate_per_min(ln, now)
        work = rate * e.estimator.handle_s(ln) / max(1, len(e.routing.servers.get(ln, ()))) if rate > 0 else 0.0
        shares = e.arrivals.class_shares(ln) if work else []
        self._lines[ln] = (now, work, shares)
        return work, shares

    def terms(self, line: str, klass: str, now: float) -> list[tuple[float, float]]:
        if self._version != self.e.routing.version:  # skills changed (config, a loan)
            self._version = self.e.routing.version
            self._cache.clear()
            self._windows.clear()
        hit = self._cache.get((line, klass))
        if hit is not None and now - hit[0] < self.TTL_S:
            return hit[1]
        out = self._compute(line, klass, now)
        self._cache[(line, klass)] = (now, out)
        return out

    def _window(self, wid: str, now: float) -> list[tuple[float, float]]:
        """(score bonus, seconds of work per minute) of the arrivals the window may
        call, summed per bonus."""
        hit = self._windows.get(wid)
        if hit is not None and 0.0 <= now - hit[0] < self.TTL_S:
            return hit[1]
        r = self.e.routing
        acc: dict[float, float] = {}
        for ln, weight in r.skills[wid].items():
            work, shares = self._line(ln, now)
            if not work:
                continue
            for other, share in shares:
                bonus = r.step * (weight - 1) + r.boost.get(other, 0.0)
                acc[bonus] = acc.get(bonus, 0.0) + work * share
        out = list(acc.items())
        self._windows[wid] = (now, out)
        return out

    def _compute(self, line: str, klass: str, now: float) -> list[tuple[float, float]]:
        e, r = self.e, self.e.routing
        my_boost = r.boost.get(klass, 0.0)
        acc: dict[float, float] = {}
        for wid in r.servers.get(line, ()):
            if e.windows[wid].status == "closed":
                continue
            my_bonus = r.step * (r.skills[wid].get(line, 1) - 1) + my_boost
            for bonus, work in self._window(wid, now):
                # arrivals within `lead` minutes after the ticket (and before its call)
                # are called first at this window
                lead = bonus - my_bonus
                if lead > 0:
                    acc[lead] = acc.get(lead, 0.0) + work
        return list(acc.items())


def naive_minutes(e: Engine, t: Ticket) -> int:
    """The formula used before the forecast (kept to measure against in bench/estimate.py):
    same-line tickets ahead × learned minutes ÷ open windows."""
    line = e.line_of(t)
    servers = e.routing.servers.get(line, ())
    open_n = sum(1 for wid in servers if e.windows[wid].status == "open") or len(servers)
    n = e.routing.ahead_same_line(line, t.priority, t.enqueued_at)
    return int(math.ceil((n + 0.5) * e.estimator.handle_min(t.service) / max(1, open_n)))


class Hours:
    """When the hall calls: a moment inside a closed gap of the day (lunch) moves to
    the next opening, plus how late staff come back today; after the day's last
    period staff serve everyone who took a number, so the evening is not a gap."""

    def __init__(self, e: Engine):
        self.e = e
        self._day: tuple[float, float] | None = None
        self._gaps: list[tuple[float, float]] = []
        self._spans: list[tuple[float, float]] = []

    def _load(self, at: float) -> None:
        sh = self.e.cfg.service_hours
        local = local_dt(at, self.e.tz)
        day0 = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self._day = (day0.timestamp(), (day0 + dt.timedelta(days=1)).timestamp())
        self._gaps = []
        self._spans = []
        if not sh.is_open(day0.replace(hour=12)) and not any(
                sh.is_open(day0.replace(hour=p.start.hour, minute=p.start.minute)) for p in sh.periods):
            return  # a closed day: nothing to move
        spans = [(day0.replace(hour=p.start.hour, minute=p.start.minute).timestamp(),
                  day0.replace(hour=p.end.hour, minute=p.end.minute).timestamp()) for p in sh.periods]
        spans.sort()
        self._spans = spans
        for (_s1, e1), (s2, _e2) in zip(spans, spans[1:]):
            if s2 > e1:
                self._gaps.append((e1, s2))

    def _today(self, at: float) -> None:
        if self._day is None or not self._day[0] <= at < self._day[1]:
            self._load(at)

    def gaps(self, at: float) -> list[tuple[float, float]]:
        """The closed gaps (start, end) of the day of ``at`` (lunch breaks)."""
        self._today(at)
        return self._gaps

    def late_s(self) -> float:
        """How long after a period's start staff are back at their windows today."""
        return self.e.estimator.login_late.mean()

    def next_open(self, at: float) -> float:
        self._today(at)
        for start, end in self._gaps:
            if start <= at < end:
                return end + self.late_s()
        return at

    def back_from_break(self, closed_at: float, now: float) -> float | None:
        """When a window closed at ``closed_at`` (a logout at or after a break's start,
        the visit in hand finished first) is expected back: the break's end plus
        today's lateness, no sooner than a minute from now; None once that is more than
        LOGIN_WINDOW_S past the break's end (then it is 空岗, not a late return)."""
        for g0, g1 in self.gaps(now):
            if g0 <= closed_at < g1 and now < g1 + LOGIN_WINDOW_S:
                return max(now + 60.0, g1 + self.late_s())
        return None

    def since_period_start(self, at: float) -> float | None:
        """Seconds since the start of the period ``at`` falls in, if it began less than
        LOGIN_WINDOW_S ago (0 just before a start); None otherwise."""
        self._today(at)
        for start, _end in self._spans:
            if start - LOGIN_WINDOW_S < at < start + LOGIN_WINDOW_S:
                return max(0.0, at - start)
        return None
