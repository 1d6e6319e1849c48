"""The console's routes under ``/admin``: login, the live dashboard with alerts, acknowledgement.

Every POST but the login form needs the session's CSRF token (header
``X-CSRF-Token`` or form field ``csrf``) and goes through :func:`mutating`,
which names the permission it needs: an auditor's session is refused with 403
before the handler runs (``MUTATING`` lists them; a test walks it).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import sse
from ..app import context, templates
from ..auth import LoginError, Session
from ..terminal.desk import Page
from ..terminal.routes import _foreign
from .accounts import may
from .config_desk import ConfigRefused

log = logging.getLogger("web.console")

COOKIE = "ow_admin"
ROLE_ZH = {"admin": "管理员", "supervisor": "值班主任", "auditor": "审计（只读）"}
Handler = Callable[[Request, Session], Awaitable[Response]]
MUTATING: dict[str, str] = {}  # path → permission, for every POST route but the login


def _session(request: Request, touch: bool = True) -> Session | None:
    ctx = context(request)
    return ctx.accounts.session(request.cookies.get(COOKIE), ctx.clock.now(), touch=touch)


def _err(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"ok": False, "error": {"code": code, "message": message}}, status)


def mutating(path: str, permission: str):
    """A POST route that changes something: session, CSRF token, then the role's permission."""
    def wrap(fn: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            if _foreign(request):
                return _err("origin", "request from another site", 403)
            s = _session(request)
            if s is None:
                return _err("no_session", "please log in", 401)
            token = request.headers.get("x-csrf-token")
            if token is None and request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                token = str((await request.form()).get("csrf", ""))
            if token != s.csrf:
                return _err("csrf", "bad CSRF token", 403)
            if not may(s, permission):
                log.warning("console: %s (%s) refused %s", s.staff, ",".join(s.roles), path)
                return _err("forbidden", f"role {','.join(s.roles)} may not {permission}", 403)
            return await fn(request, s)
        MUTATING[path] = permission
        return Route(path, endpoint, methods=["POST"])
    return wrap


def _login_page(request: Request, error: str | None = None, status: int = 200, user: str = "") -> Response:
    ctx = context(request)
    return templates.TemplateResponse(request, "admin/login.html", {
        "hall": ctx.cfg.hall.name.zh, "error": error, "user": user}, status_code=status)


async def login_form(request: Request) -> Response:
    return _login_page(request)


async def login(request: Request) -> Response:
    ctx = context(request)
    if _foreign(request):
        return _login_page(request, "请求来自其他网站", 403)
    form = await request.form()
    user, password = str(form.get("user", "")), str(form.get("password", ""))
    try:
        s = ctx.accounts.login_account(user, password, ctx.clock.now())
    except LoginError as e:
        log.warning("console login refused: %s", e.code)  # no password, no account id in the log
        text = "密码错误次数过多，已锁定" if e.code == "locked" else "账号或密码错误"
        return _login_page(request, text, 423 if e.code == "locked" else 401, user=user)
    log.info("console: %s logged in as %s", s.staff, s.roles[0])
    resp = RedirectResponse("/admin/", status_code=303)
    resp.set_cookie(COOKIE, s.token, httponly=True, secure=ctx.cookie_secure, samesite="strict",
                    path="/admin", max_age=int(ctx.accounts.max_age_s))
    return resp


async def page(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return RedirectResponse("/admin/login", status_code=303)
    ctx = context(request)
    return templates.TemplateResponse(request, "admin/dashboard.html", {
        "s": s, "hall": ctx.cfg.hall.name.zh, "role": ROLE_ZH.get(s.roles[0], s.roles[0]),
        "can_ack": may(s, "ack"), "d": ctx.console.dashboard(), "alerts": ctx.console.alerts()})


async def events(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return _err("no_session", "please log in", 401)
    ctx = context(request)
    pg = Page()
    ctx.console.pages.add(pg)
    token = s.token

    def alive() -> bool:
        return ctx.accounts.session(token, ctx.clock.now()) is not None

    async def body():
        try:
            async for chunk in sse.stream(ctx.console.snapshot(), pg, alive):
                yield chunk
        finally:
            ctx.console.pages.discard(pg)
    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@mutating("/alerts/ack", "ack")
async def ack(request: Request, s: Session) -> Response:
    ctx = context(request)
    try:
        body: Any = await request.json()
        key = str(body["key"])
        note = str(body.get("note", ""))[:200]
    except (ValueError, KeyError, TypeError):
        return _err("bad_json", "body must be JSON with `key`", 400)
    alert = next((a for a in ctx.console.alerts() if a["key"] == key), None)
    if alert is None:
        return _err("no_alert", "no such alert now (it may have cleared)", 404)
    engine = None
    if alert["kind"] == "case":  # 电子监察 is the engine's record: it is told first, and its word counts
        try:
            engine = await ctx.config_desk.ack_case(alert["subject"])
        except ConfigRefused as e:
            log.warning("console: the engine did not take %s's acknowledgement of %s: %s", s.staff, key, e.code)
            return _err(e.code, e.message, 409 if e.code not in ("timeout", "offline", "no_admin_identity") else 503)
    a = ctx.acks.ack(key, alert["kind"], s.staff, s.roles[0], ctx.clock.now(), note)
    log.info("console: %s acknowledged %s", s.staff, key)
    ctx.console.changed()
    return JSONResponse({"ok": True, "ack": {"key": a.key, "by": a.by, "role": a.role, "at": a.at},
                         "engine": engine})


@mutating("/logout", "view")
async def logout(request: Request, s: Session) -> Response:
    context(request).accounts.logout(s.token)
    resp = RedirectResponse("/admin/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/admin")
    return resp


def routes() -> list[Route]:
    from . import config_routes  # it declares its POSTs through `mutating` above
    from . import reports
    return [Route("/", page), Route("/login", login_form), Route("/login", login, methods=["POST"]),
            Route("/events", events), ack, logout, *config_routes.routes(), *reports.routes()]
