"""The console's report pages under ``/admin/reports``: tables, charts, CSV and XLSX.

Read-only, so every role (the auditor too) may open them.  They read the daily
aggregates from the engine's database, opened read-only (reports/history.py),
never a ticket; a report is built once per (range, grouping) and kept
``CACHE_S`` seconds, since past days change only when a day closes.

Charts and workbooks are drawn in two worker PROCESSES, not in this one: a
month's charts are seconds of pure-Python work (matplotlib) that, in a thread,
would share this process's one interpreter lock with the clerks' pages and
their pushes (and use one core of two), and matplotlib with numpy would more
than triple this process's memory.  The
workers load matplotlib and the CJK face when the process starts.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.daystats import SCOPES
from reports import charts, export
from reports.efficiency import TERM_ZH, TERMS
from reports.history import GROUPS, History, HistoryError, month_span
from reports.tables import COLUMNS, SCOPE_ZH, Report, build, efficiency_rows

from ..app import context, templates
from .accounts import may
from .routes import ROLE_ZH, _err, _session

log = logging.getLogger("web.console.reports")

CACHE_S = 60.0
CACHE_MAX = 3
WORKERS = 2  # the two charts of a page pair are drawn side by side
_cache: dict[tuple, tuple[float, Report]] = {}
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def start_pool() -> ProcessPoolExecutor:
    """The drawing processes (spawned: a fresh interpreter, no copy of this one's threads)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=charts.warm, max_tasks_per_child=200)
            for _ in range(WORKERS):  # the pool starts a process per waiting task: both, now
                _pool.submit(time.sleep, 0.5)
        return _pool


def stop_pool() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def in_worker(fn, *args):
    """Run ``fn`` in a drawing process.  A drawing process that died (killed, out of
    memory) breaks its pool for good: a new pool is started and the work tried once more."""
    for attempt in (1, 2):
        pool = start_pool()
        try:
            return await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            log.warning("reports: a drawing process died; starting new ones (attempt %d)", attempt)
            _drop_pool(pool)
    raise RuntimeError("the drawing processes keep dying")


def _drop_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _params(request: Request) -> tuple[str, str, str]:
    ctx = context(request)
    month = request.query_params.get("month") or local_day(ctx.clock.now(), ctx.cfg.hall.timezone)[:7]
    by = request.query_params.get("by", "day")
    scope = request.query_params.get("scope", "department")
    if by not in GROUPS:
        raise HistoryError(f"by {by!r}: one of {', '.join(GROUPS)}")
    if scope not in SCOPES:
        raise HistoryError(f"scope {scope!r}: one of {', '.join(SCOPES)}")
    month_span(month)  # checks the form
    return month, by, scope


def report_for(ctx, month: str, by: str) -> Report:
    """The month's report, built at most once a minute."""
    key = (id(ctx), ctx.history_db, month, by)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_S and hit[1] is not None:
            return hit[1]
    if not ctx.history_db:
        raise HistoryError("this web process has no --engine-db: no reports")
    first, last = month_span(month)
    h = History(ctx.history_db).open()
    try:
        rep = build(ctx.cfg, h.rows(first, last), first, last, by)
    finally:
        h.close()
    with _lock:
        _cache[key] = (now, rep)
        for k in [k for k, (t, _r) in _cache.items() if now - t >= CACHE_S]:
            _cache.pop(k, None)
        while len(_cache) > CACHE_MAX:  # a month's report holds a few MB: keep the latest few
            _cache.pop(min(_cache, key=lambda k: _cache[k][0]))
    return rep


def _months(ctx, month: str) -> list[str]:
    """The month shown and the eleven before it (the picker)."""
    y, m = (int(x) for x in month.split("-"))
    out = []
    for _ in range(12):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


async def page(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return RedirectResponse("/admin/login", status_code=303)
    ctx = context(request)
    if not may(s, "view"):
        return _err("forbidden", "no permission to view", 403)
    try:
        month, by, scope = _params(request)
        rep = await run_in_threadpool(report_for, ctx, month, by)
        error = None
    except HistoryError as e:
        log.warning("report refused: %s", e)
        month, by, scope = request.query_params.get("month", ""), "day", "department"
        rep, error = None, str(e)
    q = f"month={month}&by={by}"
    return templates.TemplateResponse(request, "admin/reports.html", {
        "s": s, "hall": ctx.cfg.hall.name.zh, "role": ROLE_ZH.get(s.roles[0], s.roles[0]), "r": rep,
        "error": error, "month": month, "by": by, "scope": scope, "q": q, "months": _months(ctx, month) if month
        else [], "groups": {"day": "按日", "week": "按周", "month": "按月"}, "scopes": SCOPE_ZH,
        "columns": COLUMNS, "charts": charts.CHARTS, "terms": [(t, TERM_ZH[t]) for t in TERMS],
        "eff": {sc: efficiency_rows(rep, sc) for sc in ("department", "staff")} if rep else {},
        "hall_total": (rep.totals["hall"] or [None])[0] if rep else None},
        status_code=200 if error is None else 400)


async def chart(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return _err("no_session", "please log in", 401)
    name = request.path_params["name"]
    if name not in charts.CHARTS:
        return _err("no_chart", f"no chart {name!r}", 404)
    ctx = context(request)
    try:
        month, by, _scope = _params(request)
        rep = await run_in_threadpool(report_for, ctx, month, by)
    except HistoryError as e:
        return _err("bad_request", str(e), 400)
    png = rep.pngs.get(name)
    if png is None:
        png = rep.pngs[name] = await in_worker(charts.draw, rep.for_charts(), name)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


async def download(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return _err("no_session", "please log in", 401)
    ctx = context(request)
    kind = request.path_params["kind"]
    if kind not in ("csv", "xlsx", "efficiency"):
        return _err("no_export", f"no export {kind!r}: csv, xlsx or efficiency", 404)
    try:
        month, by, _scope = _params(request)
        rep = await run_in_threadpool(report_for, ctx, month, by)
    except HistoryError as e:
        return _err("bad_request", str(e), 400)
    log.info("console: %s exported the %s report as %s", s.staff, month, kind)
    if kind == "xlsx":
        data = await in_worker(export.xlsx_bytes, rep)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif kind == "csv":
        data, media = export.csv_bytes(rep, by_period=request.query_params.get("table") == "period"), \
            "text/csv; charset=utf-8"
    else:
        data, media = export.efficiency_csv_bytes(rep), "text/csv; charset=utf-8"
    name = f"report-{month}" + ({"csv": "", "xlsx": "", "efficiency": "-efficiency"}[kind]) + \
        (".xlsx" if kind == "xlsx" else ".csv")
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                     "Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [Route("/reports", page), Route("/reports/chart/{name}.png", chart),
            Route("/reports/export.{kind:str}", download)]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
