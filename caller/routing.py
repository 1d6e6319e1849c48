"""Waiting lines and the policy that picks the next ticket for a window.

The policy (docs/queue-policy.md says the same in prose):

    score(ticket, window, now) = minutes waited
                               + boost_minutes of the ticket's priority class
                               + skill_step_minutes × (weight of the service at the window − 1)

``next`` calls the ticket with the highest score among those the window may
serve; ties go to the earlier place in line, then the earlier queue sequence
(tickets issued in one batch share a place in time but never a sequence).  A ticket transferred to one
window waits in that window's own line with weight 9.

Ageing: boosts and skill bonuses are bounded, minutes waited are not, so a
ticket that has waited longer than (largest boost + largest skill bonus) more
than any other is always called first.  Nobody starves.

Data layout: one list per (line, class) sorted by place in line, where a line
is a service (matter or bundle id) or ``@<window>``.  Within one list the
oldest entry always has the best score, so ``pick`` looks only at list heads:
cost is (services of the window × classes), independent of queue length.
Each window's count of waiting tickets (every line it may serve) is kept as
tickets come and go — a ticket costs one addition per group of windows that
serve the same lines — so the zones' published counts never re-sum lines.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter

from hall.config import HallConfig

TARGET_WEIGHT = 9


def window_line(window_id: str) -> str:
    return f"@{window_id}"


class Routing:
    def __init__(self, cfg: HallConfig):
        self._lines: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
        self.waiting_by_line: Counter[str] = Counter()
        self.nonempty: set[str] = set()  # lines with someone waiting
        # bumped whenever a (line, class) list is made or the lists are dropped: a list,
        # once made, stays the same object until then, so readers may keep it
        self.lists_made = 0
        self.configure(cfg)

    def configure(self, cfg: HallConfig) -> None:
        self._neighbours: dict[str, tuple[str, ...]] = {}
        # bumped whenever skills change (config, loans): caches of the skills key on it
        self.version = getattr(self, "version", 0) + 1
        self.boost = {c.id: c.boost_minutes for c in cfg.priority.classes}
        self.step = cfg.priority.skill_step_minutes
        # window -> {line: weight}; bundles are served implicitly by a window that
        # serves all their matters (at the weakest of those weights).
        self.skills: dict[str, dict[str, int]] = {}
        self.servers: dict[str, list[str]] = {}  # line -> windows
        for w in cfg.windows:
            sk = dict(w.serves)
            for b in cfg.bundles:
                if b.id not in sk and all(m in w.serves for m in b.matters):
                    sk[b.id] = min(w.serves[m] for m in b.matters)
            sk[window_line(w.id)] = TARGET_WEIGHT
            self.skills[w.id] = sk
            for line in sk:
                self.servers.setdefault(line, []).append(w.id)
        # what a ticket of a line is told: "windows 3, 4, 7" (static per config)
        numbers = {w.id: w.number for w in cfg.windows}
        self.window_numbers = {line: [numbers[wid] for wid in wids] for line, wids in self.servers.items()}
        self.number_of = numbers
        self.zone_of: dict[str, str] = {w.id: w.zone for w in cfg.windows}
        self.attended = frozenset(w.id for w in cfg.windows if w.attended)  # 空岗 when nobody staffs them
        self.zone_windows: dict[str, list[str]] = {z.id: [] for z in cfg.zones}  # in config order
        for w in cfg.windows:
            self.zone_windows.setdefault(w.zone, []).append(w.id)
        self._line_zones: dict[str, frozenset[str]] = {}
        self._regroup()

    # ------------------------------------------------ waiting per window --
    # A window's count is its group's (the tickets of every line it serves but
    # its own ``@window`` line) plus its own line's.  Windows that serve the same
    # lines share a group — in a zone of 100 windows serving the zone's matters,
    # one — so a ticket that comes or goes costs one addition per group of its
    # line, not one per window, and reading a window's count costs two look-ups.
    def _regroup(self) -> None:
        """Groups and their counts again from the skills and the lines (a new config)."""
        self._group_of: dict[str, _Group] = {}
        self._line_groups: dict[str, list[_Group]] = {}
        self._groups: dict[frozenset[str], _Group] = {}
        self._own = {wid: window_line(wid) for wid in self.skills}  # while it is among its skills
        for wid, sk in self.skills.items():
            self._join(wid, frozenset(sk).difference((self._own[wid],)))

    def _join(self, wid: str, key: frozenset[str]) -> None:
        g = self._groups.get(key)
        if g is None:
            g = self._groups[key] = _Group(key, sum(self.waiting_by_line.get(ln, 0) for ln in key))
            for ln in key:
                self._line_groups.setdefault(ln, []).append(g)
        g.members += 1
        self._group_of[wid] = g

    def _leave(self, wid: str) -> frozenset[str]:
        g = self._group_of.pop(wid)
        g.members -= 1
        if not g.members:  # nobody serves exactly these lines any more
            del self._groups[g.key]
            for ln in g.key:
                self._line_groups[ln].remove(g)
        return g.key

    def neighbour_lines(self, line: str) -> tuple[str, ...]:
        """Every line a window that serves ``line`` also serves (cached until skills change)."""
        hit = self._neighbours.get(line)
        if hit is None:
            hit = tuple({ln for w in self.servers.get(line, ()) for ln in self.skills.get(w, ())})
            self._neighbours[line] = hit
        return hit

    def lend(self, window_id: str, line: str, penalty_minutes: float) -> None:
        """The balancer lends a window to a line (caller/balance.py): it joins the
        window's skills until unlend(), ``penalty_minutes`` below a weight-1 matter,
        so the window takes it only when its own citizens have been served (or
        waited that much less); bounded, so the policy's ageing bound still holds,
        larger by the penalty, for the lent line at this window."""
        if line in self.skills.get(window_id, {}):
            return
        self._neighbours = {}
        self._line_zones.pop(line, None)
        self.version += 1
        self.skills[window_id][line] = 1 - penalty_minutes / self.step if self.step else 1
        self.servers.setdefault(line, []).append(window_id)
        if line == window_line(window_id):
            self._own[window_id] = line
        else:
            self._join(window_id, self._leave(window_id) | {line})

    def unlend(self, window_id: str, line: str) -> None:
        if self.skills.get(window_id, {}).pop(line, None) is not None:
            self.servers[line].remove(window_id)
            if line == self._own.get(window_id):
                self._own[window_id] = ""  # no line of that name: counts 0
            else:
                self._join(window_id, self._leave(window_id) - {line})
            self._neighbours = {}
            self._line_zones.pop(line, None)
            self.version += 1

    def zones_of(self, line: str) -> frozenset[str]:
        """The zones of the windows that serve ``line`` (cached until skills change)."""
        hit = self._line_zones.get(line)
        if hit is None:
            hit = self._line_zones[line] = frozenset(self.zone_of[w] for w in self.servers.get(line, ()))
        return hit

    # ------------------------------------------------------------- lines --
    def add(self, line: str, klass: str, place: float, qseq: int, tid: str) -> None:
        lst = self._lines.get((line, klass))
        if lst is None:
            lst = self._lines[(line, klass)] = []
            self.lists_made += 1
        insort(lst, (place, qseq, tid))
        self.waiting_by_line[line] += 1
        self.nonempty.add(line)
        for g in self._line_groups.get(line, ()):
            g.n += 1

    def remove(self, line: str, klass: str, place: float, qseq: int, tid: str) -> bool:
        lst = self._lines.get((line, klass))
        if not lst:
            return False
        i = bisect_left(lst, (place, qseq, tid))
        if i < len(lst) and lst[i][2] == tid:
            del lst[i]
            self.waiting_by_line[line] -= 1
            if not self.waiting_by_line[line]:
                self.nonempty.discard(line)
            for g in self._line_groups.get(line, ()):
                g.n -= 1
            return True
        return False

    def clear(self) -> None:
        self._lines.clear()
        self.lists_made += 1
        self.waiting_by_line.clear()
        self.nonempty.clear()
        for g in self._groups.values():
            g.n = 0

    # -------------------------------------------------------------- policy --
    def score(self, place: float, klass: str, weight: int, now: float) -> float:
        return (now - place) / 60.0 + self.boost.get(klass, 0.0) + self.step * (weight - 1)

    def pick(self, window_id: str, now: float) -> tuple[str, str, tuple[float, int, str]] | None:
        """The best (line, class, entry) for the window, or None if nothing waits."""
        best = None
        best_key: tuple[float, float, int] | None = None
        for line, weight in self.skills.get(window_id, {}).items():
            if not self.waiting_by_line.get(line):
                continue
            for klass in self.boost:
                lst = self._lines.get((line, klass))
                if not lst:
                    continue
                place, qseq, tid = lst[0]
                key = (self.score(place, klass, weight, now), -place, -qseq)
                if best_key is None or key > best_key:
                    best_key = key
                    best = (line, klass, lst[0])
        return best

    def ahead_same_line(self, line: str, klass: str, place: float) -> int:
        """Tickets of the same line that score above this one now, ignoring skills and
        ties (the formula before caller/forecast.py; kept for the benchmark's baseline)."""
        n = 0
        for other in self.boost:
            lst = self._lines.get((line, other))
            if not lst:
                continue
            # their score > mine  <=>  their place < place - (boost_mine - boost_other)·60
            limit = place - (self.boost.get(klass, 0.0) - self.boost[other]) * 60.0
            if other == klass:
                n += bisect_left(lst, (place,))
            else:
                n += bisect_left(lst, (limit,))
        return n

    def oldest(self, line: str) -> float | None:
        """The place in line (enqueue time) of the line's oldest waiting ticket."""
        heads = [lst[0][0] for k in self.boost if (lst := self._lines.get((line, k)))]
        return min(heads) if heads else None

    def waiting_for_window(self, window_id: str) -> int:
        """Tickets waiting in every line the window may serve (kept as they come and go)."""
        g = self._group_of.get(window_id)
        return g.n + self.waiting_by_line.get(self._own[window_id], 0) if g is not None else 0

    def waiting_in_zone(self, zone: str) -> dict[str, int]:
        """``waiting_for_window`` of each window of the zone, in config order."""
        group_of, own, by_line = self._group_of, self._own, self.waiting_by_line
        return {wid: group_of[wid].n + by_line.get(own[wid], 0) for wid in self.zone_windows.get(zone, ())}


class _Group:
    """Windows that serve the same lines (their own ``@window`` lines aside) and
    how many tickets wait in those lines."""

    __slots__ = ("key", "n", "members")

    def __init__(self, key: frozenset[str], n: int):
        self.key, self.n, self.members = key, n, 0
