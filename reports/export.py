"""A report as CSV and as an XLSX workbook (openpyxl).

CSV is UTF-8 with a byte-order mark: Excel and WPS, which halls use, read a
CSV without one as GBK and garble every Chinese name.  Shares (satisfaction,
utilisation) are written as fractions in the CSV and as percentages
(number format ``0.0%``) in the workbook, so a spreadsheet can add them up.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hall.daystats import SCOPES

from .efficiency import TERM_ZH, TERMS
from .tables import COLUMNS, HEAD, SCOPE_ZH, Report, efficiency_rows

SHARES = {"satisfaction", "utilisation"}
EFF_COLUMNS = [("rank", "名次"), ("key", "编号"), ("name", "名称"), ("score", "效能指数")] + \
    [(t, f"{TERM_ZH[t]}(%)") for t in TERMS] + [("bad", "投诉(差评)")]


def table_rows(report: Report, by_period: bool) -> list[dict]:
    return [r for sc in SCOPES for r in (report.series(sc) if by_period else report.totals[sc])]


def write_csv(report: Report, out, by_period: bool = False) -> None:
    """Every dimension's rows (the whole range, or each period) to a text stream."""
    cols = HEAD + COLUMNS
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([title for _f, title in cols])
    for r in table_rows(report, by_period):
        w.writerow(["" if r[f] is None else (SCOPE_ZH[r[f]] if f == "scope" else r[f]) for f, _t in cols])


def csv_bytes(report: Report, by_period: bool = False) -> bytes:
    buf = io.StringIO()
    write_csv(report, buf, by_period)
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def efficiency_csv_bytes(report: Report) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["维度"] + [t for _f, t in EFF_COLUMNS])
    for scope in ("department", "staff"):
        for r in efficiency_rows(report, scope):
            w.writerow([SCOPE_ZH[scope]] + ["" if r[f] is None else r[f] for f, _t in EFF_COLUMNS])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def _sheet(wb, title: str, cols: list[tuple[str, str]], rows: list[dict], shares: set[str] = frozenset()):
    """A sheet streamed row by row (openpyxl's write-only mode: a month by day is
    thousands of rows, and the normal mode keeps a cell object for each)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for _f, t in cols:
        c = WriteOnlyCell(ws, value=t)
        c.font = bold
        head.append(c)
    ws.append(head)
    share_cols = {j for j, (f, _t) in enumerate(cols) if f in shares}
    for r in rows:
        line: list = [SCOPE_ZH.get(r[f], r[f]) if f == "scope" else r[f] for f, _t in cols]
        for j in share_cols:
            if line[j] is not None:
                c = WriteOnlyCell(ws, value=line[j])
                c.number_format = "0.0%"
                line[j] = c
        ws.append(line)
    return ws


def xlsx_bytes(report: Report) -> bytes:
    """汇总 (the range), 按期间 (per day/week/month), 效能指数 部门 / 人员."""
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    cols = HEAD + COLUMNS
    _sheet(wb, "汇总", cols, table_rows(report, False), SHARES)
    _sheet(wb, "按期间", cols, table_rows(report, True), SHARES)
    for scope, title in (("department", "效能指数-部门"), ("staff", "效能指数-人员")):
        _sheet(wb, title, EFF_COLUMNS, efficiency_rows(report, scope))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_all(report: Report, out: Path, stem: str) -> list[Path]:
    """CSV (range, periods, efficiency) and the workbook into ``out``; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = {f"{stem}.csv": csv_bytes(report), f"{stem}-by-{report.by}.csv": csv_bytes(report, True),
             f"{stem}-efficiency.csv": efficiency_csv_bytes(report), f"{stem}.xlsx": xlsx_bytes(report)}
    paths = []
    for name, data in files.items():
        p = out / name
        p.write_bytes(data)
        paths.append(p)
    return paths
