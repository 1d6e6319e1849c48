"""The clerk's window terminal: login at a window, the live page, actions, print views.

Every request but the login page needs the session cookie; every POST but the
login form needs the session's CSRF token in ``X-CSRF-Token`` (and the cookie
is SameSite=Strict besides).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from hall.bus import RequestError
from hall.topics import ID_RE
from hall.matter_search import SearchIndex

from .. import sse
from ..app import context, templates
from ..auth import LoginError, Session
from . import view
from .desk import ACTIONS, Page

log = logging.getLogger("web.terminal")

COOKIE = "ow_session"
HTTP_OF = {"busy": 409, "offline": 503, "engine_offline": 503, "timeout": 504, "bad_request": 400}


def _session(request: Request, touch: bool = True) -> Session | None:
    ctx = context(request)
    return ctx.auth.session(request.cookies.get(COOKIE), ctx.clock.now(), touch=touch)


def _login_page(request: Request, window: str, error: str | None = None, status: int = 200,
                staff: str = "") -> Response:
    ctx = context(request)
    wc = ctx.cfg.window(window) if window else None
    return templates.TemplateResponse(request, "terminal/login.html", {
        "hall": ctx.cfg.hall.name.zh, "window": wc, "windows": ctx.cfg.windows, "error": error,
        "staff": staff, "engine": ctx.hub.engine}, status_code=status)


async def login_form(request: Request) -> Response:
    window = request.query_params.get("window", "")
    return _login_page(request, window if ID_RE.match(window) else "")


async def login(request: Request) -> Response:
    ctx = context(request)
    if _foreign(request):  # no logging a clerk in from another site's page
        return _login_page(request, "", "请求来自其他网站 / request from another site", 403)
    form = await request.form()
    window, staff, pin = (str(form.get(k, "")) for k in ("window", "staff", "pin"))
    wc = ctx.cfg.window(window) if ID_RE.match(window) else None
    if wc is None:
        return _login_page(request, "", "请选择窗口 / choose a window", 400)
    try:
        s = ctx.auth.login(staff, pin, window, ctx.clock.now())
    except LoginError as e:
        log.warning("login refused at window %s: %s", window, e.code)  # no PIN, no name in the log
        return _login_page(request, window, _LOGIN_TEXT.get(e.code, e.message) + f" ({e.message})",
                           423 if e.code == "locked" else 401, staff=staff)
    try:
        await ctx.hub.request(window, "login", {"staff": s.staff})
    except RequestError as e:
        ctx.auth.logout(s.token)
        return _login_page(request, window, f"窗口登录失败：{e.message} ({e.code})", HTTP_OF.get(e.code, 409),
                           staff=staff)
    log.info("staff %s logged in at window %s", s.staff, window)
    resp = RedirectResponse("/terminal/", status_code=303)
    resp.set_cookie(COOKIE, s.token, httponly=True, secure=ctx.cookie_secure, samesite="strict",
                    path="/", max_age=int(ctx.auth.max_age_s))
    return resp


_LOGIN_TEXT = {"bad_pin": "工号或密码错误", "locked": "密码错误次数过多，已锁定",
               "wrong_window": "您不能在此窗口登录", "wrong_role": "没有窗口受理权限"}


def _foreign(request: Request) -> bool:
    """A POST sent by a page of another site (browsers name it in ``Origin``)."""
    origin = request.headers.get("origin")
    return bool(origin) and origin.split("://", 1)[-1] != request.headers.get("host")


def _guard(request: Request) -> Session | Response:
    if request.method == "POST" and _foreign(request):
        return JSONResponse({"ok": False, "error": {"code": "origin", "message": "request from another site"}}, 403)
    s = _session(request)
    if s is None:
        return JSONResponse({"ok": False, "error": {"code": "no_session", "message": "please log in"}}, 401)
    if request.method == "POST":
        if request.headers.get("x-csrf-token") != s.csrf:
            return JSONResponse({"ok": False, "error": {"code": "csrf", "message": "bad CSRF token"}}, 403)
    return s


async def page(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return RedirectResponse("/terminal/login", status_code=303)
    ctx = context(request)
    wc = ctx.cfg.window(s.window)
    desk = ctx.desks.get(s.window)
    if desk.state is None:
        desk.state = ctx.hub.states.get(s.window)
    return templates.TemplateResponse(request, "terminal/page.html", {
        "s": s, "window": wc, "hall": ctx.cfg.hall.name.zh,
        "windows": view.transfer_windows(ctx.cfg, s.window)})


async def events(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return JSONResponse({"ok": False, "error": {"code": "no_session", "message": "please log in"}}, 401)
    ctx = context(request)
    desk = ctx.desks.get(s.window)
    if desk.state is None:
        desk.state = ctx.hub.states.get(s.window)
    first = desk.snapshot()
    if desk.state and desk.state.get("ticket") and desk.visit is None:
        desk.refresh_visit()
    if desk.queue is None:
        desk.refresh_queue()
    pg = Page()
    desk.pages.add(pg)
    token = s.token

    def alive() -> bool:  # an open page is a session in use (its heartbeat touches it)
        return ctx.auth.session(token, ctx.clock.now()) is not None

    async def body():
        try:
            async for chunk in sse.stream(first, pg, alive):
                yield chunk
        finally:
            desk.pages.discard(pg)
    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def act(request: Request) -> Response:
    s = _guard(request)
    if isinstance(s, Response):
        return s
    op = request.path_params["op"]
    if op not in ACTIONS:
        return JSONResponse({"ok": False, "error": {"code": "bad_request", "message": f"no action {op}"}}, 404)
    got = await _body_and_rid(request, s)
    if isinstance(got, Response):
        return got
    body, rid = got
    out = await context(request).desks.get(s.window).act(op, body, rid)
    status = 200 if out["ok"] else HTTP_OF.get(out["error"]["code"], 422)
    return JSONResponse(out, status)


async def _body_and_rid(request: Request, s: Session) -> tuple[dict[str, Any], str] | Response:
    """A POST's JSON object and its request id, scoped to the session: the engine's
    idempotency record is per window, and two clerks' pages make their ids alone."""
    try:
        body: dict[str, Any] = await request.json()
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except ValueError:
        return JSONResponse({"ok": False, "error": {"code": "bad_json", "message": "body must be JSON"}}, 400)
    rid = str(body.pop("rid", "") or "")
    if not (8 <= len(rid) <= 40 and ID_RE.match(rid)):
        return JSONResponse({"ok": False, "error": {"code": "bad_request",
                                                    "message": "`rid` (8–40 id characters) is required"}}, 400)
    return body, f"{s.staff}.{rid}"[:64]


async def retry(request: Request) -> Response:
    s = _guard(request)
    if isinstance(s, Response):
        return s
    desk = context(request).desks.get(s.window)
    u = desk.unconfirmed
    if u is None:
        return JSONResponse({"ok": True, "state": None})
    out = await desk.act(u["op"], u["body"], u["rid"])
    return JSONResponse(out, 200 if out["ok"] else HTTP_OF.get(out["error"]["code"], 422))


async def discard(request: Request) -> Response:
    s = _guard(request)
    if isinstance(s, Response):
        return s
    context(request).desks.get(s.window).discard_unconfirmed()
    return JSONResponse({"ok": True})


_index: dict[int, SearchIndex] = {}


async def search(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return JSONResponse({"ok": False, "error": {"code": "no_session", "message": "please log in"}}, 401)
    cfg = context(request).cfg
    idx = _index.get(id(cfg))
    if idx is None:
        idx = _index[id(cfg)] = SearchIndex(cfg)
    q = request.query_params.get("q", "")[:40]
    return JSONResponse({"ok": True, "results": [
        {"target": e.target, "name": e.zh, "bundle": e.is_bundle, "initials": e.initials}
        for e in idx.search(q, limit=12)]})


async def logout(request: Request) -> Response:
    s = _guard(request)
    if isinstance(s, Response):
        return s
    ctx = context(request)
    others = [o for o in ctx.auth.at_window(s.window) if o.staff == s.staff and o.token != s.token]
    if not others:
        try:
            await ctx.hub.request(s.window, "logout", {})
        except RequestError as e:
            return JSONResponse({"ok": False, "error": {"code": e.code, "message": e.message}},
                                HTTP_OF.get(e.code, 409))
    ctx.auth.logout(s.token)
    if not ctx.auth.at_window(s.window):
        ctx.desks.drop(s.window)
    resp = JSONResponse({"ok": True, "next": f"/terminal/login?window={s.window}"})
    resp.delete_cookie(COOKIE, path="/")
    return resp


def _print(request: Request, template: str, visit: dict | None) -> Response:
    s = _session(request)
    if s is None:
        return RedirectResponse("/terminal/login", status_code=303)
    ctx = context(request)
    if visit is None:
        return Response("没有可打印的内容 / nothing to print", status_code=404, media_type="text/plain")
    v = view.visit_view(ctx.cfg, visit)
    missing = {}
    if visit.get("outcome"):
        o = visit["outcome"]
        names = {m["id"]: m["name"] for m in v["materials"]}
        missing = {"items": [names.get(x, x) for x in o.get("missing", [])], "note": o.get("note")}
    return templates.TemplateResponse(request, template, {
        "v": v, "hall": ctx.cfg.hall.name.zh, "window": ctx.cfg.window(s.window), "s": s,
        "missing": missing, "printed_at": time.strftime("%Y-%m-%d %H:%M", time.localtime(ctx.clock.now()))})


async def print_form(request: Request) -> Response:
    s = _session(request)
    desk = context(request).desks.get(s.window) if s else None
    return _print(request, "terminal/print_form.html", desk.visit if desk else None)


async def print_notice(request: Request) -> Response:
    s = _session(request)
    desk = context(request).desks.get(s.window) if s else None
    settled = desk.settled if desk else None
    if settled is not None and (settled.get("outcome") or {}).get("kind") != "correction":
        settled = None
    return _print(request, "terminal/print_notice.html", settled)


# --- cases (办件): the clerk's list and the steps of a case (docs/cases.md) ---

CASE_OPS = {"case_step": ("case", "stage", "opinion"), "case_extend": ("case", "days", "reason")}


async def case_list(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return JSONResponse({"ok": False, "error": {"code": "no_session", "message": "please log in"}}, 401)
    ctx = context(request)
    scope = request.query_params.get("scope", "window")
    if scope not in ("window", "department"):
        return JSONResponse({"ok": False, "error": {"code": "bad_request", "message": "scope: window|department"}},
                            400)
    try:
        data = await ctx.hub.request(s.window, "cases", {"scope": scope})
    except RequestError as e:
        return JSONResponse({"ok": False, "error": {"code": e.code, "message": e.message}}, HTTP_OF.get(e.code, 409))
    return JSONResponse({"ok": True, **view.case_list(ctx.cfg, data)})


async def case_act(request: Request) -> Response:
    s = _guard(request)
    if isinstance(s, Response):
        return s
    op = request.path_params["op"]
    fields = CASE_OPS.get(op)
    if fields is None:
        return JSONResponse({"ok": False, "error": {"code": "bad_request", "message": f"no case action {op}"}}, 404)
    got = await _body_and_rid(request, s)
    if isinstance(got, Response):
        return got
    raw, rid = got
    # the handler is the clerk logged in here (the engine takes the window's staff): never from the page
    body = {k: raw[k] for k in fields if k in raw}
    try:
        data = await context(request).hub.request(s.window, op, body, rid=rid)
    except RequestError as e:
        return JSONResponse({"ok": False, "error": {"code": e.code, "message": e.message}}, HTTP_OF.get(e.code, 422))
    log.info("window %s: %s %s by %s", s.window, op, data.get("case") if isinstance(data, dict) else "", s.staff)
    return JSONResponse({"ok": True, "case": data})


def routes() -> list[Route]:
    return [
        Route("/", page), Route("/login", login_form), Route("/login", login, methods=["POST"]),
        Route("/events", events), Route("/act/{op}", act, methods=["POST"]),
        Route("/retry", retry, methods=["POST"]), Route("/discard", discard, methods=["POST"]),
        Route("/search", search), Route("/logout", logout, methods=["POST"]),
        Route("/print/form", print_form), Route("/print/notice", print_notice),
        Route("/cases", case_list), Route("/case/{op}", case_act, methods=["POST"]),
    ]
