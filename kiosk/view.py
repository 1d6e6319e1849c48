"""What each screen shows, as plain data (pure): the Kivy layer only draws it.

Keeping the wording and the choice of buttons here lets the flow tests read
screens without a window, and keeps Kivy out of everything but drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hall.clock import local_dt
from hall.pii import mask

from . import texts
from .flow import S, KioskFlow
from .texts import t


@dataclass(frozen=True)
class Btn:
    label: str
    action: str
    style: str = "normal"   # normal | primary | selected | quiet | danger | tile
    sub: str | None = None  # second, smaller line
    colour: str | None = None  # tile: its fill (#rrggbb, from the config)
    icon: str | None = None    # tile: a badge of one or two characters


@dataclass(frozen=True)
class Block:
    kind: str                 # title | text | big | banner | buttons | keypad | checklist | field | spacer
    text: str = ""
    buttons: tuple[Btn, ...] = ()
    cols: int = 1
    style: str = ""           # banner: info | warn | error; text: muted | strong
    items: tuple[str, ...] = ()
    weight: float = 0         # share of spare height (0 = natural height)


@dataclass(frozen=True)
class ScreenView:
    name: str
    title: str
    blocks: tuple[Block, ...]
    nav: tuple[Btn, ...] = ()
    elderly: bool = False
    header: str = ""


def _names(obj: Any, lang: str) -> str:
    return obj.get(lang) if obj is not None else ""


def target_name(flow: KioskFlow, tid: str | None) -> str:
    if not tid:
        return ""
    obj = flow.cfg.matter(tid) or flow.cfg.bundle(tid)
    return obj.name.get(flow.lang) if obj else tid


def where_text(flow: KioskFlow, ticket: dict[str, Any]) -> str:
    zone = flow.cfg.zone(ticket.get("zone", ""))
    if zone is None:
        return ticket.get("zone", "")
    name = zone.name.get(flow.lang)
    return f"{zone.floor} {name}" if zone.floor else name


def _paged(flow: KioskFlow, btns: list[Btn]) -> tuple[list[Btn], list[Btn]]:
    size = flow.page_size()
    pages = max(1, (len(btns) + size - 1) // size)
    page = min(flow.s.page, pages - 1)
    shown = btns[page * size:(page + 1) * size]
    lang = flow.lang
    nav = []
    if page > 0:
        nav.append(Btn(t("nav.prev", lang), "page:-1", "quiet"))
    if page < pages - 1:
        nav.append(Btn(t("nav.more", lang) + f" ({page + 1}/{pages})", "page:1", "quiet"))
    return shown, nav


def _banners(flow: KioskFlow) -> list[Block]:
    lang = flow.lang
    out = []
    if flow.engine_online is False:
        out.append(Block("banner", t("banner.engine_down", lang), style="error"))
    if flow.has_printer and flow.printer_state == "paper_out":
        out.append(Block("banner", t("banner.printer_out", lang), style="warn"))
    elif flow.has_printer and flow.printer_state in ("offline",):
        out.append(Block("banner", t("banner.printer_down", lang), style="warn"))
    return out


LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = tuple("123456789") + ("clear", "0", "del")


def _keys(flow: KioskFlow, keys: tuple[str, ...], cols: int) -> Block:
    lang = flow.lang
    btns = tuple(Btn(t("key." + k, lang) if k in ("del", "clear") else k, f"key:{k}") for k in keys)
    return Block("keypad", buttons=btns, cols=cols)


def _alnum_keys(flow: KioskFlow) -> tuple[Block, Block]:
    """Digits in their own row(s) above the letters: codes mix both, and a
    single grid that wraps "9 0 A B" reads as one more thing to decode."""
    return (_keys(flow, tuple("1234567890"), 5 if flow.s.elderly else 10),
            _keys(flow, LETTERS + ("clear", "del"), 7))


def build(flow: KioskFlow, now_epoch: float) -> ScreenView:
    v: ScreenView = SCREENS[flow.screen](flow, now_epoch)
    hall = flow.cfg.hall.name.get(flow.lang)
    return ScreenView(v.name, v.title, v.blocks, v.nav, flow.s.elderly, hall)


def _std_nav(flow: KioskFlow, *extra: Btn, back: bool = True) -> tuple[Btn, ...]:
    lang = flow.lang
    out = []
    if back:
        out.append(Btn(t("nav.back", lang), "back", "quiet"))
    out.append(Btn(t("nav.home", lang), "home", "quiet"))
    return tuple(out) + extra


# ------------------------------------------------------------------ screens --

def _v_home(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    cfg = flow.cfg
    langs = tuple(Btn(texts.LANG_NAMES[x], f"lang:{x}", "selected" if x == lang else "quiet")
                  for x in cfg.hall.languages)
    zones = tuple(Btn(z.name.get(lang), f"zone:{z.id}", "tile", sub=_zone_sub(flow, z), colour=z.colour,
                      icon=z.icon or z.name.zh[0]) for z in cfg.zones)
    bundles = tuple(Btn(b.name.get(lang), f"target:{b.id}", "primary", sub=_wait_text(flow, b.id))
                    for b in cfg.bundles)
    blocks = [Block("buttons", buttons=langs, cols=len(langs)), *_banners(flow),
              Block("title", t("home.title", lang))]
    if bundles:
        shown = bundles[: (2 if flow.s.elderly else 4)]
        more = (Btn(t("nav.more", lang) + " …", "bundles", "quiet"),) if len(bundles) > len(shown) else ()
        blocks += [Block("text", t("home.bundles", lang), style="strong"),
                   Block("buttons", buttons=shown + more, cols=min(2, len(shown + more)))]
    blocks += [Block("text", t("home.zones", lang), style="strong"),
               Block("buttons", buttons=zones, cols=2, weight=1),
               Block("buttons", buttons=(Btn(t("home.search", lang), "search"),), cols=1),
               Block("buttons", buttons=(Btn(t("home.checkin", lang), "checkin"),
                                         Btn(t("home.progress", lang), "progress")), cols=2),
               Block("text", t("home.scan_hint", lang), style="muted")]
    # one label in both states: the tick and the colour say whether large text is on
    elderly = Btn(t("home.elderly_on", lang), "elderly", "selected" if flow.s.elderly else "normal")
    return ScreenView("home", "", tuple(blocks), (elderly, Btn(t("home.staff", lang), "staff", "danger")))


def _wait_text(flow: KioskFlow, target: str) -> str | None:
    from .waits import waiting_for
    w = waiting_for(flow.cfg, flow.waiting, target)
    if w is None:
        return None
    return t("wait.range", flow.lang, n=w.people, lo=w.low_min, hi=w.high_min) if w.people else \
        t("wait.none", flow.lang)


def _zone_sub(flow: KioskFlow, zone) -> str | None:
    counts = flow.waiting.get(zone.id)
    parts = [zone.floor] if zone.floor else []
    if counts is not None:
        parts.append(t("wait.zone", flow.lang, n=sum(counts.values())))
    return " · ".join(parts) or None


def _v_staff(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    return ScreenView("staff", t("staff.title", lang),
                      (Block("spacer", weight=1), Block("big", t("staff.coming", lang), style="lead"),
                       Block("text", t("staff.wait_here", lang)), Block("spacer", weight=1)),
                      (Btn(t("nav.home", lang), "home", "primary"),))


def _v_zone(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    zone = flow.cfg.zone(flow.s.zone or "")
    items = [Btn(b.name.get(lang), f"target:{b.id}", "primary", sub=_wait_text(flow, b.id))
             for b in flow.cfg.bundles if b.zone == zone.id]
    items += [Btn(m.name.get(lang), f"target:{m.id}",
                  sub=" · ".join(x for x in (m.department.get(lang), _wait_text(flow, m.id)) if x))
              for m in flow.cfg.matters if m.zone == zone.id]
    shown, pager = _paged(flow, items)
    title = t("zone.title", lang, zone=zone.name.get(lang))
    return ScreenView("zone", title, (*_banners(flow), Block("buttons", buttons=tuple(shown), cols=1, weight=1)),
                      _std_nav(flow, *pager))


def _v_bundles(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    items = [Btn(b.name.get(lang), f"target:{b.id}", "primary",
                 sub="、".join(target_name(flow, m) for m in b.matters) if lang != "en" else
                 ", ".join(target_name(flow, m) for m in b.matters))
             for b in flow.cfg.bundles]
    shown, pager = _paged(flow, items)
    return ScreenView("bundles", t("bundles.title", lang),
                      (Block("buttons", buttons=tuple(shown), cols=1, weight=1),), _std_nav(flow, *pager))


def _v_search(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    typed = flow.s.typed
    blocks = [Block("field", typed or t("search.hint", lang), style="" if typed else "muted")]
    if typed:
        hits = flow.search_index().search(typed)
        btns = [Btn(e.zh if lang != "en" else target_name(flow, e.target), f"target:{e.target}",
                    "primary" if e.is_bundle else "normal",
                    sub=e.initials.upper()) for e in hits]
        if not btns:
            blocks.append(Block("text", t("search.none", lang), style="muted", weight=1))
            pager = []
        else:
            size = 3 if flow.s.elderly else 5
            page = flow.s.page
            pages = (len(btns) + size - 1) // size
            page = min(page, pages - 1)
            blocks.append(Block("buttons", buttons=tuple(btns[page * size:(page + 1) * size]), cols=1, weight=1))
            pager = [Btn(t("nav.more", lang) + f" ({page + 1}/{pages})", "page:1", "quiet")] if page < pages - 1 else []
            if page > 0:
                pager.insert(0, Btn(t("nav.prev", lang), "page:-1", "quiet"))
    else:
        blocks.append(Block("spacer", weight=1))
        pager = []
    blocks.append(_keys(flow, LETTERS + ("clear", "del"), 7 if flow.s.elderly else 7))
    return ScreenView("search", t("search.title", lang), tuple(blocks), _std_nav(flow, *pager))


def _v_matter(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    cfg = flow.cfg
    tid = flow.s.target or ""
    res = flow.resolved()
    blocks: list[Block] = []
    m = cfg.matter(tid)
    b = cfg.bundle(tid)
    if res and res.intro is not None:
        blocks.append(Block("text", res.intro.get(lang)))
    if m is not None:
        blocks.append(Block("text", t("matter.department", lang, dept=m.department.get(lang)), style="muted"))
    wait = _wait_text(flow, tid)
    if wait:
        blocks.append(Block("banner", wait, style="info"))
    if b is not None:
        sep = ", " if lang == "en" else "、"
        blocks.append(Block("text", t("matter.bundle_has", lang, items=sep.join(target_name(flow, x) for x in b.matters)),
                            style="muted"))
    zone = cfg.zone((m or b).zone) if (m or b) else None
    if zone is not None:
        blocks.append(Block("text", t("matter.where", lang, zone=(f"{zone.floor} " if zone.floor else "")
                                       + zone.name.get(lang)), style="muted"))
    for q in (res.questions if res else ()):
        chosen = flow.s.answers.get(q.id)
        blocks.append(Block("text", q.text.get(lang), style="strong"))
        blocks.append(Block("buttons", cols=min(3, len(q.options)), buttons=tuple(
            Btn(o.text.get(lang), f"answer:{q.id}={o.id}", "selected" if o.id == chosen else "normal")
            for o in q.options)))
    items = tuple(_material_line(x, lang) for x in flow.checklist())
    blocks.append(Block("text", t("matter.checklist", lang), style="strong"))
    blocks.append(Block("checklist", items=items or (t("matter.nothing", lang),), weight=1))
    return ScreenView("matter", target_name(flow, tid), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.next", lang), "next", "primary")))


def _material_line(m, lang: str) -> str:
    if m.note is None:
        return m.name.get(lang)
    return f"{m.name.get(lang)}（{m.note.get(lang)}）" if lang != "en" else f"{m.name.get(lang)} ({m.note.get(lang)})"


def _v_identity(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    blocks = [Block("text", t("identity.scan", lang), style="strong")]
    if flow.s.identity:
        blocks.append(Block("banner", t("identity.read", lang, who=mask(flow.s.identity, "id_number")), style="info"))
    blocks.append(Block("spacer", weight=1))
    if flow.cfg.kiosks.phone:
        label = t("identity.phone", lang)
        blocks.append(Block("buttons", buttons=(Btn(label, "phone", sub=mask(flow.s.phone, "phone") or None),), cols=1))
    return ScreenView("identity", t("identity.title", lang), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.next", lang), "next", "primary")))


def _v_phone(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    typed = flow.s.typed
    shown = " ".join([typed[:3], typed[3:7], typed[7:]]).strip()
    invalid = flow.s.bad_input or len(typed) > 11
    blocks = [Block("field", shown or "1__ ____ ____", style="" if typed else "muted"),
              Block("text", t("phone.invalid", lang), style="error" if invalid else "muted"),
              Block("spacer", weight=1),
              _keys(flow, DIGITS, 3)]
    return ScreenView("phone", t("phone.title", lang), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.skip", lang), "skip", "quiet"),
                               Btn(t("nav.ok", lang), "submit", "primary")))


def _v_confirm(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    cfg = flow.cfg
    blocks = [*_banners(flow), Block("big", target_name(flow, flow.s.target))]
    if flow.s.phone:
        blocks.append(Block("text", t("confirm.phone", lang, phone=mask(flow.s.phone, "phone")), style="muted"))
    classes = {c.id: c for c in cfg.priority.classes}
    offered = [c for c in flow.offered_classes() if c in classes]
    if offered:
        blocks.append(Block("text", t("confirm.priority", lang), style="strong"))
        btns = [Btn(classes["normal"].name.get(lang), "prio:normal",
                    "selected" if flow.s.priority == "normal" else "normal")]
        for cid in offered:
            c = classes[cid]
            sel = flow.s.priority == cid and (not c.requires_code or flow.s.priority_code)
            btns.append(Btn(c.name.get(lang), f"prio:{cid}", "selected" if sel else "normal"))
        blocks.append(Block("buttons", buttons=tuple(btns), cols=1))
    blocks.append(Block("spacer", weight=1))
    blocks.append(Block("buttons", buttons=(Btn(t("confirm.take", lang), "take", "primary"),), cols=1,
                        style="huge"))
    return ScreenView("confirm", t("confirm.title", lang), tuple(blocks), _std_nav(flow))


def _v_code(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    blocks = [Block("field", flow.s.typed or "", style=""), Block("spacer", weight=1), *_alnum_keys(flow)]
    return ScreenView("code", t("code.title", lang), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.ok", lang), "submit", "primary")))


def _v_busy(flow: KioskFlow, now: float) -> ScreenView:
    return ScreenView("busy", "", (Block("spacer", weight=1), Block("big", t("busy.title", flow.lang)),
                                   Block("spacer", weight=1)))


def _v_ticket(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    tk = flow.s.ticket or {}
    number = tk.get("number", "")
    blocks = [Block("text", target_name(flow, tk.get("bundle") or tk.get("matter")), style="strong"),
              Block("number", number)]
    prio = tk.get("priority", "normal")
    if prio != "normal":
        cls = next((c for c in flow.cfg.priority.classes if c.id == prio), None)
        blocks.append(Block("text", t("ticket.priority", lang, cls=cls.name.get(lang) if cls else prio), style="strong"))
    blocks.append(Block("big", t("ticket.wait_at", lang, where=where_text(flow, tk)), style="lead"))
    form_note = forms_view.ticket_note(flow)
    if form_note is not None:
        blocks.append(form_note)
    if tk.get("windows"):
        numbers = [(flow.cfg.window(w).number if flow.cfg.window(w) else w) for w in tk["windows"]]
        blocks.append(Block("text", t("ticket.windows", lang, windows="、".join(numbers) if lang != "en"
                                      else ", ".join(numbers))))
    blocks.append(Block("text", t("ticket.ahead", lang, n=tk.get("ahead", 0)) + "    " +
                        t("ticket.estimate", lang, m=tk.get("estimate_min", 0)), style="strong"))
    ps = flow.s.print_state
    if ps == "printing":
        blocks.append(Block("banner", t("ticket.printing", lang), style="info"))
    elif ps == "ok":
        blocks.append(Block("banner", t("ticket.printed", lang), style="info"))
    elif ps == "failed":
        blocks.append(Block("banner", t("ticket.print_failed", lang, number=number), style="error"))
    elif ps == "no_printer":
        blocks.append(Block("banner", t("ticket.no_printer", lang, number=number), style="warn"))
    items = tuple(_material_line(x, lang) for x in flow.checklist())
    if items:
        blocks.append(Block("text", t("matter.checklist", lang), style="strong"))
        blocks.append(Block("checklist", items=items, weight=1))
    else:
        blocks.append(Block("spacer", weight=1))
    return ScreenView("ticket", t("ticket.title", lang), tuple(blocks),
                      (Btn(t("nav.done", lang), "done", "primary"),))


def _v_error(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    code = flow.s.error or "error"
    key = f"err.{code}"
    msg = t(key, lang) if texts.has(key) else t("err.generic", lang, code=code)
    nav: list[Btn] = [Btn(t("nav.home", lang), "home", "quiet")]
    if code == "timeout":
        nav.append(Btn(t("err.retry", lang), "retry", "primary"))
    elif flow.s.error_back != S.HOME:
        nav.append(Btn(t("err.again", lang), "back", "primary"))
    return ScreenView("error", t("err.title", lang),
                      (Block("spacer", weight=1), Block("banner", msg, style="error"), Block("spacer", weight=1)),
                      tuple(nav))


def _v_checkin(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    blocks = [Block("banner", t("checkin.hint", lang), style="info"), Block("spacer", weight=1),
              Block("text", t("checkin.type", lang), style="muted"),
              Block("field", flow.s.typed), *_alnum_keys(flow)]
    return ScreenView("checkin", t("checkin.title", lang), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.ok", lang), "submit", "primary")))


def _v_progress(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    blocks = [Block("field", flow.s.typed), Block("spacer", weight=1), _keys(flow, DIGITS, 3)]
    return ScreenView("progress", t("progress.title", lang), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.ok", lang), "submit", "primary")))


CODE_KEYS = tuple("123456789") + ("X", "0", "del")


def _v_progress_code(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    blocks = [Block("text", t("progress.case", lang, case=flow.s.case_no), style="strong"),
              Block("text", t("progress.code_hint", lang)),
              # what is typed shows as dots: someone behind the citizen reads no digits
              Block("field", "●" * len(flow.s.typed))]
    if flow.s.bad_input:
        blocks.append(Block("text", t("progress.code_bad", lang), style="error"))
    blocks += [Block("spacer", weight=1), _keys(flow, CODE_KEYS, 3)]
    return ScreenView("progress_code", t("progress.code_title", lang), tuple(blocks),
                      _std_nav(flow, Btn(t("nav.ok", lang), "submit", "primary")))


def _fmt_time(flow: KioskFlow, epoch: float | None) -> str:
    if not epoch:
        return ""
    return local_dt(float(epoch), flow.cfg.hall.timezone).strftime("%Y-%m-%d %H:%M")


def stage_name(stage: str, lang: str) -> str:
    key = f"case.stage.{stage}"
    return t(key, lang) if texts.has(key) else stage


def case_lines(flow: KioskFlow, c: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """A case's timeline as (style, text) lines: the screen and the printed slip say the same.
    The matter and its department by the kiosk's own names in ``lang`` where it knows the
    matter (the engine's reply names them in Simplified Chinese)."""
    mt = flow.cfg.matter(c.get("matter_id") or "")
    matter = mt.name.get(lang) if mt else c.get("matter", "")
    department = mt.department.get(lang) if mt else c.get("department", "")
    out = [("strong", t("progress.case", lang, case=c.get("case", "")))]
    if c.get("name"):
        out.append(("", t("progress.name", lang, name=c["name"])))  # masked by the engine
    out.append(("", t("progress.matter", lang, matter=matter)))
    out.append(("", t("progress.department", lang, department=department)))
    open_ = c.get("stage") in ("accepted", "review", "decided", "issuing", "correction")
    if open_:
        out.append(("", t("progress.deadline", lang, deadline=c.get("deadline", ""), n=max(0, c.get("days_left", 0)))))
    else:
        out.append(("", t("progress.deadline_done", lang, deadline=c.get("deadline", ""))))
    if c.get("overdue"):
        out.append(("error", t("progress.overdue", lang)))
    out.append(("strong", t("progress.steps", lang)))
    for s in c.get("steps", ()):
        line = f"{_fmt_time(flow, s.get('at'))}  {stage_name(s.get('stage', ''), lang)}  {s.get('handler', '')}"
        if s.get("opinion"):
            line += ("：" if lang != "en" else ": ") + s["opinion"]
        out.append(("muted", line))
    return out


def _v_progress_result(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    p = flow.s.progress or {}
    if "steps" not in p:  # the public board's line of a case (no timeline)
        status = p.get("status", "")
        key = f"progress.status.{status}"
        blocks = [Block("text", t("progress.case", lang, case=p.get("case", "")), style="strong")]
        if p.get("name"):
            blocks.append(Block("text", t("progress.name", lang, name=p["name"])))
        if p.get("matter"):
            blocks.append(Block("text", target_name(flow, p["matter"])))
        blocks.append(Block("big", t(key, lang) if texts.has(key) else status))
        if p.get("updated_at"):
            blocks.append(Block("text", t("progress.updated", lang, time=_fmt_time(flow, p["updated_at"])),
                                style="muted"))
        blocks.append(Block("spacer", weight=1))
        return ScreenView("progress_result", t("home.progress", lang), tuple(blocks), _std_nav(flow))
    blocks = [Block("big", stage_name(p.get("stage", ""), lang), style="lead")]
    blocks += [Block("text", text, style=style) for style, text in case_lines(flow, p, lang)]
    state = flow.s.case_print
    if state != "none":
        key = {"printing": "progress.printing", "ok": "progress.printed", "failed": "progress.print_failed"}[state]
        blocks.append(Block("banner", t(key, lang), style="warn" if state == "failed" else "info"))
    blocks.append(Block("spacer", weight=1))
    nav = _std_nav(flow, back=False)
    if flow.has_printer:
        nav += (Btn(t("progress.print", lang), "print_case", "primary"),)
    return ScreenView("progress_result", t("home.progress", lang), tuple(blocks), nav)


def _v_lookup(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    tk = flow.s.lookup or {}
    state = tk.get("state", "")
    window = tk.get("window_number") or tk.get("window") or ""
    key = f"lookup.state.{state}"
    blocks = [Block("number", tk.get("number", "")),
              Block("big", t(key, lang, window=window) if texts.has(key) else state)]
    nav = list(_std_nav(flow))
    if flow.s.lookup_note:
        blocks.append(Block("banner", t(flow.s.lookup_note, lang), style="info"))
    elif state in ("issued", "waiting"):
        blocks.append(Block("text", t("ticket.wait_at", lang, where=where_text(flow, tk)), style="strong"))
        blocks.append(Block("text", t("ticket.ahead", lang, n=tk.get("ahead", 0)) + "    " +
                            t("ticket.estimate", lang, m=tk.get("estimate_min", 0)), style="strong"))
        nav.append(Btn(t("lookup.cancel", lang), "cancel", "danger"))
    elif state == "noshow":
        until = tk.get("requeue_until")
        if until is None or until > now:
            nav.append(Btn(t("lookup.requeue", lang), "requeue", "primary"))
        else:
            blocks.append(Block("banner", t("err.requeue_expired", lang), style="warn"))
    elif state == "done":
        blocks.append(Block("text", t("lookup.rate", lang), style="strong"))
        blocks.append(Block("buttons", cols=1, buttons=tuple(
            Btn(t(f"rate.{lv}", lang), f"rate:{lv}") for lv in (5, 4, 3, 2, 1))))
    blocks.append(Block("spacer", weight=1))
    return ScreenView("lookup", t("lookup.title", lang, number=tk.get("number", "")), tuple(blocks), tuple(nav))


# One builder per screen of the flow (a test checks every screen has one).
SCREENS: dict[S, Callable[[KioskFlow, float], ScreenView]] = {
    S.HOME: _v_home, S.ZONE: _v_zone, S.BUNDLES: _v_bundles, S.SEARCH: _v_search, S.MATTER: _v_matter,
    S.IDENTITY: _v_identity, S.PHONE: _v_phone, S.CONFIRM: _v_confirm, S.CODE: _v_code, S.BUSY: _v_busy,
    S.TICKET: _v_ticket, S.ERROR: _v_error, S.CHECKIN: _v_checkin, S.PROGRESS: _v_progress,
    S.PROGRESS_CODE: _v_progress_code,
    S.PROGRESS_RESULT: _v_progress_result, S.LOOKUP: _v_lookup, S.STAFF: _v_staff,
}

# the application form's screens: kiosk/forms_view.py adds its rows to SCREENS
from . import forms_view  # noqa: E402
