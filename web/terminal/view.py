"""What the clerk's page shows, derived from engine replies and the hall config (pure).

The page gets plain JSON: names instead of ids, the situation answers as
question and answer texts, the materials checklist (which the answers make
needed), and the filled form as labelled rows in the form's order — the one
place in the hall where the values appear unmasked.
"""

from __future__ import annotations

from typing import Any

from hall.config import HallConfig
from hall.forms import render_filled
from hall.guide import checklist, resolve

LANG = "zh-CN"


def target_name(cfg: HallConfig, target: str | None, lang: str = LANG) -> str:
    if not target:
        return ""
    if target.startswith("@"):
        w = cfg.window(target[1:])
        return f"转至本窗口 ({w.number}号)" if w else target
    t = cfg.matter(target) or cfg.bundle(target)
    return t.name.get(lang) if t else target


def queue_lines(cfg: HallConfig, qv: dict | None, lang: str = LANG) -> list[dict]:
    """Per line the window may serve: name, waiting count, oldest place (epoch s)."""
    if not qv:
        return []
    rows = [{"line": ln["line"], "name": target_name(cfg, ln["line"], lang), "waiting": ln["waiting"],
             "oldest_since": ln["oldest_since"], "bundle": bool(cfg.bundle(ln["line"]))}
            for ln in qv.get("lines", [])]
    return sorted(rows, key=lambda r: (r["oldest_since"] or 0))


def form_rows(cfg: HallConfig, target: str, values: dict[str, str] | None, lang: str = LANG) -> list[dict]:
    """The filled form as ``{id, label, value}`` rows in the form's field order
    (every field of the form; a blank one empty), then any value the form does not name."""
    if not values:
        return []
    rows = [{"id": f, "label": label, "value": v} for f, label, v in render_filled(cfg, target, values, lang)]
    named = {r["id"] for r in rows}
    return rows + [{"id": f, "label": f, "value": v} for f, v in values.items() if f not in named]


def visit_view(cfg: HallConfig, v: dict | None, lang: str = LANG) -> dict | None:
    if not v:
        return None
    target = v.get("bundle") or v.get("matter") or ""
    res = resolve(cfg, target)
    answers = v.get("answers") or {}
    needed = {mat.id for mat in checklist(res, answers)} if answers else {mat.id for mat in res.materials
                                                                         if not mat.when}
    qa = []
    for q in res.questions:
        if q.id in answers:
            opt = next((o for o in q.options if o.id == answers[q.id]), None)
            qa.append({"question": q.text.get(lang), "answer": opt.text.get(lang) if opt else answers[q.id]})
    bundle = cfg.bundle(v["bundle"]) if v.get("bundle") else None
    prio = next((c for c in cfg.priority.classes if c.id == v.get("priority")), None)
    return {
        "ticket": v["ticket"], "number": v["number"], "state": v["state"],
        "target": target, "name": target_name(cfg, target, lang), "is_bundle": bundle is not None,
        "bundle_matters": [target_name(cfg, x, lang) for x in bundle.matters] if bundle else [],
        "priority": prio.name.get(lang) if prio and prio.id != "normal" else "",
        "issued_at": v.get("issued_at"), "called_at": v.get("called_at"),
        "answers": qa,
        "materials": [{"id": mat.id, "name": mat.name.get(lang),
                       "note": mat.note.get(lang) if mat.note else "", "needed": mat.id in needed}
                      for mat in res.materials],
        "form": form_rows(cfg, target, v.get("form"), lang),
        "phone": v.get("phone"), "outcome": v.get("outcome"),
    }


def state_view(cfg: HallConfig, st: dict | None, waiting: int = 0) -> dict | None:
    """``waiting``: the window's count, from its zone's waiting counts."""
    if not st:
        return None
    t = st.get("ticket")
    return {"status": st["status"], "staff": st.get("staff"), "number": st.get("number"),
            "waiting": waiting, "pause_reason": st.get("pause_reason"),
            "ticket": None if not t else {
                "ticket": t["ticket"], "number": t["number"], "state": t["state"], "recalls": t["recalls"],
                "name": target_name(cfg, t.get("bundle") or t.get("matter")), "called_at": t.get("called_at")}}


def window_view(cfg: HallConfig, wid: str) -> dict | None:
    """The window as the config in force names it (its page's header and transfer list)."""
    wc = cfg.window(wid)
    if wc is None:
        return None
    zone = cfg.zone(wc.zone)
    return {"id": wid, "number": wc.number, "zone": zone.name.zh if zone else wc.zone, "hall": cfg.hall.name.zh,
            "transfer": transfer_windows(cfg, wid)}


def transfer_windows(cfg: HallConfig, own: str) -> list[dict[str, Any]]:
    return [{"id": w.id, "number": w.number, "zone": cfg.zone(w.zone).name.zh if cfg.zone(w.zone) else w.zone}
            for w in cfg.windows if w.id != own]



def case_list(cfg: HallConfig, data: dict | None) -> dict:
    """The engine's CaseList with the matter and the stage named for the clerk, and each
    case's next stages as the engine's own table allows them (``next``, named)."""
    from caller.cases import STAGE_NAMES  # the timeline's own names (pure module)
    data = data or {}
    allowed = data.get("next") or {}
    rows = []
    for c in data.get("cases", ()):
        mt = cfg.matter(c.get("matter") or "")
        rows.append({**c, "matter_name": mt.name.zh if mt else (c.get("matter") or ""),
                     "stage_name": STAGE_NAMES.get(c.get("stage") or "", c.get("stage") or ""),
                     "next": [{"stage": st, "name": STAGE_NAMES.get(st, st)} for st in allowed.get(c["case"], ())]})
    return {"cases": rows, "total": data.get("total", len(rows)), "limit": data.get("limit", len(rows))}
