"""The report's charts as PNG, drawn with matplotlib (Agg, no display).

Matplotlib's object API (``Figure``, not ``pyplot``): no global state, so the
web process may draw two reports at once.  Chinese labels are set in Noto
Sans CJK SC, the face the screens use (hall/fonts.py picks it out of Debian's
collection, whose first face is the Japanese one).
"""

from __future__ import annotations

import io
import logging
import math
import threading

from hall.daystats import merge, percentile_min

from .tables import Report

log = logging.getLogger("reports.charts")

CHARTS = {"arrivals": "每小时取号（日均）", "waits": "等候时间分布", "satisfaction": "满意率走势",
          "utilisation": "窗口利用率热力图"}
_font_lock = threading.Lock()
_family: list[str] = []


def _cjk_family() -> str:
    """Register Noto Sans CJK SC with matplotlib once; its family name."""
    with _font_lock:
        if _family:
            return _family[0]
        from matplotlib import font_manager
        name = "DejaVu Sans"
        try:
            from hall.fonts import cjk_font
            path = str(cjk_font("Regular"))
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
        except Exception as e:  # a report without Chinese glyphs beats no report
            log.warning("no CJK font for charts (%s): apt-get install fonts-noto-cjk", e)
        _family.append(name)
        return name


def _figure(w: float = 8, h: float = 3.6, left: float = 0.08, bottom: float = 0.14):
    """Margins set by hand: matplotlib's constrained layout measures every label
    several times and made a heat map of 52 windows take seconds."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), dpi=100)
    fig.subplots_adjust(left=left, right=0.97, top=0.9, bottom=bottom)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def arrivals(report: Report) -> bytes:
    days = [d for d in report.hall_days if d.issued]
    hours: dict[int, int] = {}
    for d in days:
        for h, n in d.arrivals.items():
            hours[h] = hours.get(h, 0) + n
    fig = _figure()
    ax = fig.add_subplot()
    xs = list(range(min(hours, default=8), max(hours, default=17) + 1))
    ax.bar(xs, [hours.get(h, 0) / max(1, len(days)) for h in xs], color="#2f6fb0")
    ax.set_xticks(xs, [f"{h}时" for h in xs])
    ax.set_ylabel("人次/日")
    ax.set_title(f"{CHARTS['arrivals']} · {report.title}（{len(days)} 个工作日）")
    return _png(fig)


def waits(report: Report) -> bytes:
    total = merge(report.hall_days)
    step, top = 5, 120
    buckets = [0] * (top // step + 1)
    for minute, n in total.wait_hist.items():
        buckets[min(minute, top) // step] += n
    fig = _figure()
    ax = fig.add_subplot()
    xs = [i * step for i in range(len(buckets))]
    ax.bar(xs, buckets, width=step * 0.9, align="edge", color="#3c8d5a")
    ax.set_xticks(xs[::2], [f"{x}" if x < top else f"{top}+" for x in xs[::2]])
    ax.set_xlabel("等候（分钟）")
    ax.set_ylabel("人次")
    for q, colour, label in ((0.5, "#333333", "中位数"), (0.9, "#c0392b", "P90")):
        v = percentile_min(total.wait_hist, q)
        if v is not None:
            ax.axvline(min(v, top), color=colour, linestyle="--", linewidth=1)
            ax.text(min(v, top) + 0.5, ax.get_ylim()[1] * 0.9, f"{label} {v} 分", color=colour)
    ax.set_title(f"{CHARTS['waits']} · {report.title}")
    return _png(fig)


def satisfaction(report: Report) -> bytes:
    days, rates = [], []
    for d in report.hall_days:
        rated = sum(d.levels.values())
        if rated:
            days.append(d.day[5:])
            rates.append(100 * sum(n for lv, n in d.levels.items() if lv >= 3) / rated)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(range(len(days)), rates, marker="o", color="#8e44ad")
    ax.set_xticks(range(len(days)), days)
    ax.set_ylim(min([80.0] + rates) - 2, 100.5)
    ax.set_ylabel("满意率 %")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.set_title(f"{CHARTS['satisfaction']} · {report.title}")
    return _png(fig)


def utilisation(report: Report) -> bytes:
    import numpy as np
    days = [d.day for d in report.hall_days]
    wins = [w for w in report.window_days if any(report.window_days[w].get(d) is not None for d in days)]
    grid = np.array([[(report.window_days[w].get(d) if report.window_days[w].get(d) is not None else math.nan)
                      for d in days] for w in wins] or [[math.nan]], dtype=float)
    height = max(3.6, 0.2 * len(wins) + 1.2)
    fig = _figure(8, height, left=0.12, bottom=0.6 / height)
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(grid) * 100, aspect="auto", cmap="YlOrRd", vmin=0, vmax=100,
                   interpolation="nearest")
    ax.set_yticks(range(len(wins)), [report.names.get(("window", w), w) for w in wins],
                  fontsize=8 if len(wins) <= 30 else 6)
    every = 1 if len(days) <= 16 else 2  # a tick costs matplotlib more than the whole image
    ax.set_xticks(range(0, len(days), every), [d[8:] for d in days[::every]], fontsize=7)
    ax.set_xlabel("日")
    fig.colorbar(im, ax=ax, label="利用率 %", fraction=0.03, pad=0.02)
    ax.set_title(f"{CHARTS['utilisation']} · {report.title}")
    return _png(fig)


def warm() -> None:
    """Load matplotlib, its font list and the CJK face now rather than at the first chart
    (a drawing process's initializer); a failure is logged, the chart will say the rest."""
    try:
        from matplotlib.backends import backend_agg  # noqa: F401
        _cjk_family()
    except Exception:
        log.exception("reports: loading the chart library failed")


DRAW = {"arrivals": arrivals, "waits": waits, "satisfaction": satisfaction, "utilisation": utilisation}


def draw(report: Report, name: str) -> bytes:
    from matplotlib import rcParams
    family = _cjk_family()
    with _font_lock:  # rcParams are global; charts are drawn one at a time (each in ~0.1 s)
        rcParams["font.family"] = [family, "DejaVu Sans"]
        rcParams["axes.unicode_minus"] = False
        return DRAW[name](report)
