"""A report: the daily aggregates of a range of days, by period and dimension, named.

Pure: :func:`build` takes the hall config and the stored :class:`DayStat`
rows and returns what every output (console page, CSV, XLSX, charts,
``onewindow report``) shows, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hall.config import HallConfig
from hall.daystats import SCOPES, DayStat, figures, merge

from .efficiency import Score, ranking
from .history import group

SCOPE_ZH = {"hall": "全厅", "zone": "区域", "department": "部门", "matter": "事项", "window": "窗口",
            "staff": "工作人员"}
# (field, column title) in the order every table and export shows them
COLUMNS = [
    ("issued", "取号"), ("called", "叫号"), ("served", "办结"), ("noshow", "过号"), ("cancelled", "未办"),
    ("avg_wait_min", "平均等候(分)"), ("median_wait_min", "等候中位数(分)"), ("p90_wait_min", "等候P90(分)"),
    ("avg_handle_min", "平均办理(分)"), ("accepted", "受理"), ("correction", "补正"), ("rejected", "不予受理"),
    ("rated", "评价数"), ("satisfaction", "满意率"), ("bad", "差评"), ("not_rated", "未评价"),
    ("open_min", "在岗(分)"), ("paused_min", "暂停(分)"), ("idle_min", "空闲(分)"), ("utilisation", "利用率"),
    ("early", "提前办结"), ("on_time", "按时办结"), ("overdue", "逾时办结"),
]
HEAD = [("period", "期间"), ("scope", "维度"), ("key", "编号"), ("name", "名称")]


def name_of(cfg: HallConfig, scope: str, key: str) -> str:
    if scope == "hall":
        return cfg.hall.name.zh
    if scope == "zone":
        z = next((z for z in cfg.zones if z.id == key), None)
        return z.name.zh if z else key
    if scope == "matter":
        x = cfg.matter(key) or cfg.bundle(key)
        return x.name.zh if x else key
    if scope == "window":
        w = cfg.window(key)
        return f"{w.number}号窗口" if w else key
    if scope == "staff":
        return next((s.name for s in cfg.staff if s.id == key), key)
    return key  # a department is kept by its name


@dataclass
class Report:
    first: dt.date
    last: dt.date
    by: str  # day | week | month
    periods: list[str]
    totals: dict[str, list[dict]]  # scope → one row per key over the whole range
    grouped: dict[tuple[str, str, str], DayStat]  # (period, scope, key) → that period's record
    efficiency: dict[str, list[Score]]  # "department" / "staff" → the ranking over the range
    hall_days: list[DayStat]  # the hall's record of each day (trends)
    window_days: dict[str, dict[str, float | None]] = field(default_factory=dict)  # window → day → utilisation
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    _series: dict[str, list[dict]] = field(default_factory=dict)
    pngs: dict[str, bytes] = field(default_factory=dict)  # charts drawn for it (the console keeps them)

    def for_charts(self) -> "Report":
        """What the charts read, without the tables (sent to a drawing process)."""
        return Report(self.first, self.last, self.by, self.periods, {}, {}, {}, self.hall_days,
                      self.window_days, {k: v for k, v in self.names.items() if k[0] == "window"})

    def series(self, scope: str) -> list[dict]:
        """One row per (period, key) of a scope, made when first asked (a page shows one scope)."""
        if scope not in self._series:
            self._series[scope] = [_row(p, s, self.names.get((scope, k), k))
                                   for (p, sc, k), s in sorted(self.grouped.items()) if sc == scope]
        return self._series[scope]

    @property
    def title(self) -> str:
        if self.first.day == 1 and (self.last + dt.timedelta(days=1)).day == 1 and \
                self.first.month == self.last.month:
            return f"{self.first:%Y年%m月}"
        return f"{self.first} — {self.last}"


def _row(period: str, s: DayStat, name: str) -> dict:
    return {"period": period, "scope": s.scope, "key": s.key, "name": name, **figures(s)}


def build(cfg: HallConfig, rows: list[DayStat], first: dt.date, last: dt.date, by: str = "day") -> Report:
    names: dict[tuple[str, str], str] = {}

    def nm(scope: str, key: str) -> str:
        k = (scope, key)
        if k not in names:
            names[k] = name_of(cfg, scope, key)
        return names[k]

    label = f"{first}~{last}"
    per_key: dict[tuple[str, str], list[DayStat]] = {}
    for r in rows:
        per_key.setdefault((r.scope, r.key), []).append(r)
    whole = {k: merge(v, day=label, scope=k[0], key=k[1]) for k, v in per_key.items()}
    totals = {sc: [_row(label, s, nm(sc, s.key)) for (scope, _k), s in sorted(whole.items()) if scope == sc]
              for sc in SCOPES}
    grouped = group(rows, by)
    periods = sorted({p for p, _s, _k in grouped})
    w = cfg.reports.efficiency
    eff = {sc: ranking([s for (scope, _k), s in sorted(whole.items()) if scope == sc], w)
           for sc in ("department", "staff")}
    hall_days = sorted((r for r in rows if r.scope == "hall"), key=lambda r: r.day)
    window_days: dict[str, dict[str, float | None]] = {wc.id: {} for wc in cfg.windows}
    for r in rows:
        if r.scope == "window":
            window_days.setdefault(r.key, {})[r.day] = figures(r)["utilisation"]
    for sc, key in list(whole):
        nm(sc, key)
    return Report(first, last, by, periods, totals, grouped, eff, hall_days, window_days, names)


def efficiency_rows(report: Report, scope: str) -> list[dict]:
    """The ranking as table rows: rank, unit, score, each term in %, complaints."""
    out = []
    for sc in report.efficiency[scope]:
        row = {"rank": sc.rank, "key": sc.key, "name": report.names.get((scope, sc.key), sc.key),
               "score": sc.score, "bad": sc.bad}
        for t, x in sc.terms.items():
            row[t] = None if x is None else round(100 * x, 2)
        out.append(row)
    return out
