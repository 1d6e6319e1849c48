"""The console's config pages under ``/admin/config``: operations with a diff, history,
rollback, export and import (web/console/config_desk.py does the work).

Everyone with a console session sees the page, the forms and the history; only a
role with the ``config`` permission previews, applies, rolls back, exports (the
export holds PIN hashes and green-channel codes) or imports.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..app import context, templates
from ..auth import Session
from . import config_ops
from .accounts import may
from .config_desk import ConfigRefused
from .routes import ROLE_ZH, _err, _session, mutating

# how each refusal reads to the person who clicked, and its HTTP status
REFUSED_ZH = {
    "stale_config": ("配置已被他人修改：您预览的是旧修订，本次修改未生效。请重新打开此操作，在当前配置上再改一次。", 409),
    "bad_config": ("修改后的配置未通过校验，未生效：", 422),
    "bad_input": ("填写有误，未生效：", 422),
    "no_change": ("这次修改与当前配置相同，无需应用。", 422),
    "no_preview": ("预览已过期或已应用，请重新打开此操作。", 409),
    "config_conflict": ("引擎拒绝：该修改与正在办理的号冲突，未生效。", 409),
    "local_only": ("短信发送设置只能在大厅服务器本机配置文件中修改，未生效。", 409),
    "unknown_revision": ("没有这个修订。", 404),
    "no_admin_identity": ("本控制台未配置管理员总线身份（--admin-id），不能修改配置。", 503),
}


def _refused(e: ConfigRefused) -> JSONResponse:
    zh, status = REFUSED_ZH.get(e.code, ("未生效：", 502 if e.code in ("timeout", "offline") else 409))
    return JSONResponse({"ok": False, "error": {"code": e.code, "message": e.message, "zh": zh,
                                                "problems": [list(p) for p in e.problems]}}, status)


async def page(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return RedirectResponse("/admin/login", status_code=303)
    ctx = context(request)
    desk = ctx.config_desk
    try:
        cur = await desk.current()
        cat, revision, error = config_ops.catalogue(desk.ops, cur["config"]), cur["revision"], None
    except ConfigRefused as e:
        cat, revision, error = [], None, f"{REFUSED_ZH.get(e.code, ('',))[0]} {e.code}: {e.message}"
    return templates.TemplateResponse(request, "admin/config.html", {
        "s": s, "hall": ctx.cfg.hall.name.zh, "role": ROLE_ZH.get(s.roles[0], s.roles[0]),
        "can_config": may(s, "config"), "catalogue": cat, "revision": revision, "error": error})


async def form(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return _err("no_session", "please log in", 401)
    desk = context(request).config_desk
    op = desk.ops.get(request.query_params.get("op", ""))
    if op is None:
        return _err("unknown_operation", "no such operation", 404)
    try:
        cur = await desk.current()
        inputs = config_ops.form(op, cur["config"], request.query_params.get("subject", ""),
                                 secrets=may(s, "config"))
    except ConfigRefused as e:
        return _refused(e)
    except config_ops.OpError as e:
        return _err("bad_input", str(e), 404)
    return JSONResponse({"ok": True, "revision": cur["revision"], "inputs": inputs})


async def history(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return _err("no_session", "please log in", 401)
    try:
        revs = await context(request).config_desk.history()
    except ConfigRefused as e:
        return _refused(e)
    return JSONResponse({"ok": True, "revisions": revs})


async def export(request: Request) -> Response:
    s = _session(request)
    if s is None:
        return RedirectResponse("/admin/login", status_code=303)
    if not may(s, "config"):  # PIN hashes and green-channel codes
        return _err("forbidden", f"role {','.join(s.roles)} may not export the config", 403)
    ctx = context(request)
    try:
        text = await ctx.config_desk.export()
    except ConfigRefused as e:
        return _refused(e)
    name = f"{ctx.cfg.hall.id}-config.yaml"
    return PlainTextResponse(text, media_type="application/x-yaml; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _change(request: Request, s: Session, need: dict[str, type], run) -> Response:
    """Read the JSON body (``need``: field → type), run the desk's step, answer."""
    try:
        body = await request.json()
        args = {k: t(body[k]) if t is int else body[k] for k, t in need.items()}
        if not all(isinstance(v, t) for (k, t), v in zip(need.items(), args.values())):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return _err("bad_json", "body must be JSON with " + ", ".join(f"`{k}`" for k in need), 400)
    ctx = context(request)
    try:
        out = await run(ctx.config_desk, body, args, ctx.clock.now())
    except ConfigRefused as e:
        return _refused(e)
    if hasattr(out, "token"):  # a preview: its diff, kept under its token until applied
        return JSONResponse({"ok": True, "token": out.token, "base": out.base, "diff": out.diff,
                             "summary": out.summary})
    return JSONResponse({"ok": True, **out})


@mutating("/config/preview", "config")
async def preview(request: Request, s: Session) -> Response:
    return await _change(request, s, {"op": str}, lambda desk, body, a, now: desk.preview(
        s.staff, a["op"], str(body.get("subject") or ""), body.get("params") or {}, now))


@mutating("/config/import", "config")
async def import_(request: Request, s: Session) -> Response:
    return await _change(request, s, {"text": str},
                         lambda desk, body, a, now: desk.preview_import(s.staff, a["text"], now))


@mutating("/config/apply", "config")
async def apply(request: Request, s: Session) -> Response:
    return await _change(request, s, {"token": str}, lambda desk, body, a, now: desk.apply(s.staff, a["token"], now))


@mutating("/config/rollback", "config")
async def rollback(request: Request, s: Session) -> Response:
    return await _change(request, s, {"revision": int, "base": int},
                         lambda desk, body, a, now: desk.rollback(s.staff, a["revision"], a["base"]))


def routes() -> list[Route]:
    return [Route("/config", page), Route("/config/form", form), Route("/config/history", history),
            Route("/config/export", export), preview, import_, apply, rollback]
