"""The waiting forecast as caller/forecast.py computed it before its replay was made
cheap (a heap per window, pointers by slot, counts read in C): kept, slow and plain, as the
reference tests/test_forecast_reference.py compares the engine's replies with.

Only what was rewritten is here; the rest is the engine's own (the same in both:
``_replay`` reads the queue through whichever ``_Lists`` it is given)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caller import forecast as f
from caller.forecast import (LOGIN_GUESS_S, MODEL_ERR, Z_RANGE, WaitForecast, _related_windows,
                             _replay, _same_line_ahead, _with_inflow, remaining_s)
from caller.model import ACTIVE, Ticket

if TYPE_CHECKING:
    from caller.engine import Engine


class _Lists:
    """The non-empty waiting lists a set of windows draws from, read through pointers;
    a window's candidates are gathered the first time it picks."""

    def __init__(self, e: Engine):
        self.r = e.routing
        self.shape = e.shape
        self.ptr: dict[tuple[str, str], int] = {}
        self.cands: dict[str, list[tuple[tuple[str, str], float, list]]] = {}

    def _gather(self, wid: str) -> list[tuple[tuple[str, str], float, list]]:
        out = []
        lines = self.r._lines
        ptr = self.ptr
        cands = self.shape.cands(wid)
        nonempty = self.r.nonempty
        # the fewer of (lines it serves, lines with someone waiting) is walked
        walk = [(ln, c) for ln in nonempty if (c := cands.get(ln))] if len(nonempty) < len(cands) \
            else [(ln, c) for ln, c in cands.items() if ln in nonempty]
        for line, classes in walk:
            for klass, bonus in classes:
                key = (line, klass)
                lst = lines.get(key)
                if lst:
                    ptr.setdefault(key, 0)
                    out.append((key, bonus, lst))
        self.cands[wid] = out
        return out

    def reset(self) -> None:
        for k in self.ptr:
            self.ptr[k] = 0

    def pick(self, wid: str, now: float) -> tuple[str, str, str] | None:
        """What ``Routing.pick`` would return for ``wid`` at ``now`` (line, class, ticket):
        the best score, ties to the earlier place, then the earlier queue sequence."""
        best = None
        best_s = bp = bq = 0.0
        ptr = self.ptr
        cands = self.cands.get(wid)
        if cands is None:
            cands = self._gather(wid)
        for key, bonus, lst in cands:
            i = ptr[key]
            if i >= len(lst):
                continue
            place, qseq, _tid = lst[i]
            score = (now - place) / 60.0 + bonus
            if best is None or score > best_s or (score == best_s and (place < bp or (place == bp and qseq < bq))):
                best, best_s, bp, bq = (key, lst[i]), score, place, qseq
        if best is None:
            return None
        key, (_p, _q, tid) = best
        ptr[key] += 1
        return key[0], key[1], tid


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
    n = 0
    while active:
        for wid in list(active):
            got = lists.pick(wid, now)
            if got is None:
                active.remove(wid)
                continue
            if got[2] == t.id:
                return n
            n += 1
            if limit is not None and n > limit:
                return n
            if n > f.FULL_REPLAY:
                return max(n, _same_line_ahead(e, t))
    return n  # not reachable by any window: everyone waiting there is ahead


def _crowded(e: Engine, line: str) -> bool:
    """More than f.FULL_REPLAY wait in the lines the ticket's windows serve (counted
    only until that is known: in a big hall's morning it is after a line or two)."""
    waiting = e.routing.waiting_by_line
    n = 0
    for ln in e.routing.neighbour_lines(line):
        n += waiting.get(ln, 0)
        if n > f.FULL_REPLAY:
            return True
    return False


def _extrapolated(e: Engine, t: Ticket, line: str, ahead_n: int) -> WaitForecast | None:
    """A long queue's wait: its citizens ahead × what a call costs ÷ staffed windows."""
    servers = e.routing.servers.get(line, [])
    staffed = sum(1 for w in servers if e.windows[w].status != "closed")
    if not staffed:
        return None
    mid = (ahead_n + 0.5) * e.estimator.call_s(t.service) / staffed
    sd = MODEL_ERR * mid + 60.0
    return WaitForecast(mid_s=mid, lo_s=max(0.0, mid - Z_RANGE * sd), hi_s=mid + Z_RANGE * sd, base_s=mid)


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
        wc = e.cfg.window(wid)
        return now + LOGIN_GUESS_S if nobody and wc is not None and wc.attended else None
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


def position(e: Engine, t: Ticket, now: float) -> tuple[int, WaitForecast | None]:
    """``ahead`` and ``wait`` of a ticket together, reading the queue once."""
    if t.state != "waiting":
        return 0, None
    line = e.line_of(t)
    windows = None if _crowded(e, line) else _related_windows(e, line)
    if windows is None:
        n = _same_line_ahead(e, t)
        return n, _extrapolated(e, t, line, n)
    lists = _Lists(e)
    n = _ahead(e, t, now, lists)
    lists.reset()
    return n, _wait(e, t, now, line, lists, windows)


def _wait(e: Engine, t: Ticket, now: float, line: str, lists: _Lists,
          windows: list[str]) -> WaitForecast | None:
    start: list[tuple[float, int, str]] = []
    servers = e.routing.servers.get(line, [])
    nobody = all(e.windows[w].status == "closed" for w in servers)
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
