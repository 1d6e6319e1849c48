"""A report's summary in Markdown: what `onewindow report` mails with the files."""

from __future__ import annotations

from .charts import CHARTS
from .efficiency import TERM_ZH, TERMS
from .tables import Report, efficiency_rows


def _v(x, pct: bool = False) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.1f}%" if pct else f"{x}"


def markdown(report: Report, hall_name: str, charts: dict[str, str]) -> str:
    h = report.totals["hall"][0] if report.totals["hall"] else None
    out = [f"# {hall_name} 运行报表 · {report.title}", ""]
    if h is None:
        return "\n".join(out + ["本期没有数据。", ""])
    out += ["| 取号 | 办结 | 过号 | 平均等候 | 等候中位数 | 等候P90 | 平均办理 | 补正 | 满意率 | 差评 | 利用率 |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {h['issued']} | {h['served']} | {h['noshow']} | {_v(h['avg_wait_min'])} 分 | "
            f"{_v(h['median_wait_min'])} 分 | {_v(h['p90_wait_min'])} 分 | {_v(h['avg_handle_min'])} 分 | "
            f"{h['correction']} | {_v(h['satisfaction'], True)} | {h['bad']} | {_v(h['utilisation'], True)} |", ""]
    for scope, title in (("department", "部门效能指数排名"), ("staff", "工作人员效能指数排名")):
        rows = efficiency_rows(report, scope)
        out += [f"## {title}", "", "| 名次 | 名称 | 效能指数 | " + " | ".join(TERM_ZH[t] for t in TERMS) + " | 投诉 |",
                "|---|---|---|" + "---|" * len(TERMS) + "---|"]
        for r in rows:
            out.append(f"| {r['rank']} | {r['name']} | {r['score']:.2f} | "
                       + " | ".join(_v(r[t]) for t in TERMS) + f" | {r['bad']} |")
        out.append("")
    out += ["## 图表", ""] + [f"![{CHARTS[k]}]({f})" for k, f in charts.items()] + [""]
    out += ["等候中位数与 P90 按全期每一位群众的等候计算（精确到分钟），不是每日数值的平均。", ""]
    return "\n".join(out)
