"""The monthly 效能指数 (efficiency index) of departments and staff, and their ranking.

For each unit of one ranking (all departments, or all staff) over the month:

* 受理量 ``served``: visits served ÷ the most any unit of the ranking served;
* 提前办结 ``early``: cases decided before their deadline ÷ cases decided;
* 逾时办结 ``on_time``: 1 − overdue cases ÷ cases decided;
* 满意率 ``satisfaction``: ratings 基本满意 or better ÷ ratings;
* 纪律 ``discipline``: logged-in time not paused ÷ logged-in time (staff only);

score = 100 × Σ wᵢ·xᵢ ÷ Σ wᵢ over the terms that apply (a unit with no
decided case has no case terms; no rating, no satisfaction term), minus
``complaint_points`` per bad review (投诉) in every 100 visits served (a
count would punish the busiest unit), never below 0; two decimals.
The ranking is by score, ties share a rank (1, 1, 3).  Weights are the hall
config's ``reports.efficiency``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hall.config.reports import EfficiencyWeights
from hall.daystats import DayStat

TERMS = ("served", "early", "on_time", "satisfaction", "discipline")
TERM_ZH = {"served": "受理量", "early": "提前办结", "on_time": "按时办结", "satisfaction": "满意率",
           "discipline": "纪律"}


@dataclass(frozen=True)
class Score:
    scope: str
    key: str
    terms: dict[str, float | None]  # each term's share (0–1), None where it does not apply
    bad: int  # complaints: bad reviews
    score: float
    rank: int = 0


def _terms(s: DayStat, most_served: int) -> dict[str, float | None]:
    rated = sum(s.levels.values())
    good = sum(n for lv, n in s.levels.items() if lv >= 3)
    decided = sum(s.cases.get(k, 0) for k in ("early", "on_time", "overdue"))
    staffed = s.open_s + s.paused_s
    return {
        "served": s.served / most_served if most_served else None,
        "early": s.cases.get("early", 0) / decided if decided else None,
        "on_time": 1 - s.cases.get("overdue", 0) / decided if decided else None,
        "satisfaction": good / rated if rated else None,
        "discipline": s.open_s / staffed if s.scope == "staff" and staffed else None,
    }


def score_of(terms: dict[str, float | None], bad: int, served: int, w: EfficiencyWeights) -> float:
    used = [(getattr(w, t), x) for t, x in terms.items() if x is not None and getattr(w, t) > 0]
    wsum = sum(wt for wt, _ in used)
    base = 100 * sum(wt * x for wt, x in used) / wsum if wsum else 0.0
    penalty = w.complaint_points * 100 * bad / served if served else w.complaint_points * bad
    return round(max(0.0, base - penalty), 2)


def ranking(month: list[DayStat], w: EfficiencyWeights) -> list[Score]:
    """One ranking: the month's merged record of each unit of ONE scope."""
    most = max((s.served for s in month), default=0)
    scores = []
    for s in month:
        terms = _terms(s, most)
        bad = sum(n for lv, n in s.levels.items() if lv <= 2)
        scores.append(Score(s.scope, s.key, terms, bad, score_of(terms, bad, s.served, w)))
    scores.sort(key=lambda x: (-x.score, x.key))
    out: list[Score] = []
    for i, sc in enumerate(scores):
        rank = out[-1].rank if out and out[-1].score == sc.score else i + 1
        out.append(Score(sc.scope, sc.key, sc.terms, sc.bad, sc.score, rank))
    return out
