"""Moving comprehensive windows' capacity to where the waits are (窗口忙闲不均).

Every ``every_s`` the balancer looks at each line's *clearing time*: the
minutes its waiting citizens would take to serve with the windows staffed for
it (waiting × learned handling minutes ÷ staffed windows).  A staffed
comprehensive window whose own lines clear in under ``idle_minutes`` lends
itself to the longest line it is *authorised* for (``windows[].authorised``)
when that line clears in over ``busy_minutes``: the line joins the window's
skills at weight 1 for at least ``hold_minutes``.  It goes back when the line
clears in under ``idle_minutes`` or the window's own lines reach
``busy_minutes`` — two thresholds and a hold time, so windows do not flap.

What stays true (docs/queue-policy.md):

* a window keeps the ticket it is serving; only its next calls change;
* a lent line has weight 1, the smallest bonus, so the ageing bound of the
  policy holds: nobody waits longer than (largest boost + largest skill
  bonus) behind a later ticket;
* a window is lent only within what its staff are authorised for.

``mode`` ``suggest`` computes the same moves but only publishes them (the
admin console's 忙闲不均 alert shows them); ``auto`` applies them.  Pure: the
engine calls :meth:`Balancer.tick` with the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hall import messages as m
from hall.clock import local_dt

if TYPE_CHECKING:
    from .engine import Engine


@dataclass
class Loan:
    window: str
    line: str
    since: float
    clearing_min: float  # of the line when lent


class Balancer:
    def __init__(self, e: Engine):
        self.e = e
        self.loans: dict[tuple[str, str], Loan] = {}
        self.suggested: list[Loan] = []
        self._last = -1e18
        self.moves_today = 0
        self._auth: dict[str, list[str]] = {}

    @property
    def cfg(self):
        return self.e.cfg.queue.balance

    def clear(self) -> None:
        self._auth = {}
        for (wid, line) in list(self.loans):
            self.e.routing.unlend(wid, line)
        self.loans.clear()
        self.suggested = []

    def authorised(self, wid: str) -> list[str]:
        """The lines a window may be lent to: its authorised matters, zones expanded."""
        hit = self._auth.get(wid)
        if hit is None:
            wc = self.e.cfg.window(wid)
            zones = {z.id for z in self.e.cfg.zones}
            hit = []
            for a in (wc.authorised if wc else []):
                if a in zones:
                    hit.extend(mt.id for mt in self.e.cfg.matters if mt.zone == a)
                else:
                    hit.append(a)
            self._auth[wid] = hit = list(dict.fromkeys(hit))
        return hit

    # ------------------------------------------------------------ measures --
    def clearing_min(self, line: str, opened: set[str] | None = None) -> float:
        """``opened``: the open windows, when the caller measures many lines at once."""
        e = self.e
        n = e.routing.waiting_by_line.get(line, 0)
        if not n:
            return 0.0
        servers = e.routing.servers.get(line, ())
        if opened is None:
            staffed = sum(1 for w in servers if e.windows[w].status == "open")
        else:
            staffed = len(opened.intersection(servers))
        return n * e.estimator.handle_min(line) / max(1, staffed)

    def opened(self) -> set[str]:
        return {wid for wid, w in self.e.windows.items() if w.status == "open"}

    def own_clearing_min(self, wid: str) -> float:
        """How long the window's own (configured) lines would keep it busy."""
        wc = self.e.cfg.window(wid)
        return max((self.clearing_min(line) for line in wc.serves), default=0.0) if wc else 0.0

    def own_load(self, wid: str, now: float, without: int = 0, planned: set[str] = frozenset()) -> float:
        """Share of the time of the windows at home that arrivals to a window's own
        lines need: minutes of work arriving per minute ÷ staffed windows serving those
        lines that are not lent elsewhere (the window itself counts: a lent window
        still serves its own citizens first), less ``without``."""
        e = self.e
        wc = e.cfg.window(wid)
        if wc is None:
            return 0.0
        work = sum(e.arrivals.rate_per_min(line, now) * e.estimator.handle_min(line) for line in wc.serves)
        lent = ({w for w, _ in self.loans} | planned) - {wid}
        home = {w for line in wc.serves for w in e.routing.servers.get(line, ())
                if e.windows[w].status == "open" and w not in lent}
        left = len(home) - without
        return work / left if left > 0 else (0.0 if work == 0 else float("inf"))

    def imbalance(self) -> float:
        """max ÷ mean clearing time over lines with someone waiting (1.0 = even)."""
        opened = self.opened()
        vals = [self.clearing_min(line, opened) for line, n in self.e.routing.waiting_by_line.items() if n]
        if not vals:
            return 1.0
        mean = sum(vals) / len(vals)
        return round(max(vals) / mean, 2) if mean > 0 else 1.0

    # ---------------------------------------------------------------- tick --
    def tick(self, now: float) -> bool:
        """Re-judge the loans; True when what is published changed."""
        bc = self.cfg
        if bc.mode == "off":
            if self.loans:
                self.clear()
                return True
            return False
        if now - self._last < bc.every_s:
            return False
        self._last = now
        before = (sorted(self.loans), [(s.window, s.line) for s in self.suggested])
        closing = self._minutes_to_break(now) < bc.quiet_before_break_minutes
        self._release(now, all_=closing)
        # before a break every window serves its own: a visit lent then would keep
        # its own citizens waiting through the break
        moves = [] if closing else self._plan(now)
        if bc.mode == "auto":
            for loan in moves:
                self.loans[(loan.window, loan.line)] = loan
                self.e.routing.lend(loan.window, loan.line, bc.penalty_minutes)
                self.moves_today += 1
            self.suggested = []
        else:
            self.suggested = moves
        return before != (sorted(self.loans), [(s.window, s.line) for s in self.suggested])

    def _minutes_to_break(self, now: float) -> float:
        """Minutes until the current opening period ends (lunch, evening)."""
        local = local_dt(now, self.e.tz)
        t = local.hour * 60 + local.minute + local.second / 60
        for p in self.e.cfg.service_hours.periods:
            start, end = p.start.hour * 60 + p.start.minute, p.end.hour * 60 + p.end.minute
            if start <= t < end:
                return end - t
        return 0.0

    def _release(self, now: float, all_: bool = False) -> None:
        bc = self.cfg
        for key, loan in list(self.loans.items()):
            wid, line = key
            held = (now - loan.since) / 60.0 >= bc.hold_minutes
            gone = self.e.windows[wid].status == "closed"
            needed_home = (self.own_clearing_min(wid) >= 2 * bc.idle_minutes
                           or self.own_load(wid, now) > bc.spare_load + 0.1)
            if all_ or gone or needed_home or (held and self.clearing_min(line) < bc.idle_minutes):
                del self.loans[key]
                self.e.routing.unlend(wid, line)

    def _plan(self, now: float) -> list[Loan]:
        bc = self.cfg
        e = self.e
        out: list[Loan] = []
        lent_to: dict[str, int] = {}
        for wid, _ in self.loans:
            lent_to[wid] = lent_to.get(wid, 0) + 1
        opened = self.opened()
        clearing = {line: self.clearing_min(line, opened) for line, n in e.routing.waiting_by_line.items() if n}
        for wc in e.cfg.windows:
            if wc.kind != "comprehensive" or not wc.authorised or e.windows[wc.id].status != "open":
                continue
            if lent_to.get(wc.id, 0) >= bc.max_lines_per_window:
                continue
            own = self.own_clearing_min(wc.id)
            # the windows left at home must carry the arrivals to its own matters: a lent
            # window serves its own citizens first, but only once its lent visit is over
            if own >= bc.idle_minutes or self.own_load(wc.id, now, 1, {x.window for x in out}) > bc.spare_load:
                continue
            skills = e.routing.skills.get(wc.id, {})
            cands = [(clearing.get(line, 0.0), line) for line in self.authorised(wc.id) if line not in skills]
            cands = [(c, line) for c, line in cands if c > bc.busy_minutes]
            if not cands:
                continue
            c, line = max(cands)
            out.append(Loan(window=wc.id, line=line, since=now, clearing_min=round(c, 1)))
            lent_to[wc.id] = lent_to.get(wc.id, 0) + 1
            # the line gains a window: count it so the next idle window looks elsewhere
            staffed = sum(1 for w in e.routing.servers.get(line, ()) if e.windows[w].status == "open")
            clearing[line] = c * staffed / (staffed + 1) if staffed else c / 2
        return out

    # --------------------------------------------------------------- view --
    def view(self, now: float) -> m.BalanceView:
        def entry(loan: Loan) -> m.BalanceMove:
            wc = self.e.cfg.window(loan.window)
            return m.BalanceMove(window=loan.window, window_number=wc.number if wc else loan.window,
                                 line=loan.line, since=loan.since, clearing_min=loan.clearing_min)
        return m.BalanceView(mode=self.cfg.mode, active=[entry(x) for x in self.loans.values()],
                             suggested=[entry(x) for x in self.suggested],
                             imbalance=self.imbalance(), moves_today=self.moves_today, at=now)
