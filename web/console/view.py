"""What the console shows, derived from the retained topics and the hall config (pure).

Only aggregates and ids leave here: window states (staff, current number,
waiting), zone waiting counts, the hall summary, satisfaction counts, the
balancer's view and the alerts. A follow-up's masked phone and the citizen's
free-text comment are left out on purpose: a comment can hold a phone or an ID
number, and `onewindow followup` is where the supervision office reads it.
"""

from __future__ import annotations

from typing import Any, Callable

from caller.supervision import alert_text
from hall.config import HallConfig

from ..terminal.view import target_name

STATUS_ZH = {"open": "服务中", "paused": "暂停", "closed": "未登录"}
KIND_ZH = {"unattended": "空岗", "followup": "差评回访", "long_wait": "等候超时", "long_queue": "排队过长",
           "paused": "暂停超时", "idle": "有人无服务", "imbalance": "忙闲不均", "case": "办件预警"}


def _min(seconds: float | None) -> float:
    return round((seconds or 0.0) / 60.0, 1)


def _hhmm(epoch: float | None, tz: str) -> str:
    if not epoch:
        return ""
    import datetime as dt
    from zoneinfo import ZoneInfo
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(tz)).strftime("%H:%M")


def _window_day(d: dict | None) -> dict:
    """A window's figures of today (stats/hall/windows), as the page shows them."""
    if not d:
        return {"served": None, "avg_handle_min": None, "idle_min": None, "paused_min": None,
                "utilisation": None}
    return {"served": d.get("served", 0), "avg_handle_min": _min(d.get("avg_handle_s")) if d.get("served") else None,
            "idle_min": d.get("idle_min", 0.0), "paused_min": d.get("paused_min", 0.0),
            "utilisation": round(100 * d.get("utilisation", 0.0)) if d.get("open_min") or d.get("paused_min") or d.get("served") else None}


def dashboard(cfg: HallConfig, states: dict[str, dict], waits: dict[str, dict],
              retained: dict[str, dict[str, Any]], engine: str) -> dict:
    """Per zone and window, and the hall's figures for today (``waits``: each
    zone's retained waiting counts)."""
    names = {s.id: s.name for s in cfg.staff}
    sat_w = retained.get("stats.satisfaction.window", {})
    today = (retained.get("stats.windows", {}).get("hall") or {}).get("windows") or {}
    unattended = {w for w, a in retained.get("alert.unattended", {}).items() if a and a.get("active")}
    zones = []
    for z in cfg.zones:
        rows = []
        counts = waits.get(z.id) or {}
        for w in (w for w in cfg.windows if w.zone == z.id):
            st = states.get(w.id) or {}
            sat = sat_w.get(w.id) or {}
            t = st.get("ticket") or {}
            rows.append({
                "id": w.id, "number": w.number, "status": st.get("status", "closed"),
                "status_zh": STATUS_ZH.get(st.get("status", "closed"), "?"),
                "pause_reason": st.get("pause_reason") or "",
                "staff": st.get("staff") or "", "staff_name": names.get(st.get("staff") or "", ""),
                "current": t.get("number") or "", "matter": target_name(cfg, t.get("bundle") or t.get("matter")),
                "waiting": counts.get("windows", {}).get(w.id, 0), "rated": sat.get("rated", 0),
                "satisfaction": round(100 * sat.get("rate", 0.0)) if sat.get("rated") else None,
                "unattended": w.id in unattended, **_window_day(today.get(w.id))})
        zones.append({"id": z.id, "name": z.name.zh, "waiting": counts.get("total", 0),
                      "open": sum(r["status"] == "open" for r in rows),
                      "paused": sum(r["status"] == "paused" for r in rows), "windows": rows})
    s = retained.get("stats.summary", {}).get("hall") or {}
    day = retained.get("stats.satisfaction.day", {}).get("hall") or {}
    bal = retained.get("stats.balance", {}).get("hall") or {}
    hall = {
        "day": s.get("day", ""), "issued": s.get("issued", 0), "served": s.get("served", 0),
        "waiting": s.get("waiting", 0), "noshow": s.get("noshow", 0),
        "avg_wait_min": _min(s.get("avg_wait_s")), "avg_handle_min": _min(s.get("avg_handle_s")),
        "open_windows": s.get("open_windows", 0), "repeat_trips": s.get("repeat_trips", 0),
        "rated": day.get("rated", 0),
        "satisfaction": round(100 * day.get("rate", 0.0)) if day.get("rated") else None,
        "estimate_n": s.get("estimate_n", 0),
        "estimate_median_err_min": s.get("estimate_median_abs_err_min", 0.0),
        "estimate_p90_err_min": s.get("estimate_p90_abs_err_min", 0.0),
        "estimate_bias_min": s.get("estimate_bias_min", 0.0),
        "estimate_coverage": round(100 * s.get("estimate_coverage", 0.0)),
        "imbalance": bal.get("imbalance"), "balance_mode": bal.get("mode", "off"),
        "moves_today": bal.get("moves_today", 0),
    }
    return {"engine": engine, "hall": hall, "zones": zones}


def alerts(cfg: HallConfig, retained: dict[str, dict[str, Any]],
           acked: Callable[[list[str]], dict[str, Any]]) -> list[dict]:
    """The engine's live alerts, oldest first, each with its key and acknowledgement (if any)."""
    tz = cfg.hall.timezone
    out: list[dict] = []
    for wid, a in sorted(retained.get("alert.unattended", {}).items()):
        if not a or not a.get("active"):
            continue
        w = cfg.window(wid)
        out.append({"key": f"unattended:{wid}:{int(a.get('since') or 0)}", "kind": "unattended",
                    "subject": wid, "since": a.get("since"),
                    "text": f"{w.number if w else wid}号窗口 服务时间内无人登录 (自 {_hhmm(a.get('since'), tz)})"})
    for fid, f in sorted(retained.get("alert.followup", {}).items()):
        if not f or f.get("status") != "open":
            continue
        reasons = "、".join(f.get("reasons") or [])
        where = f"{f['window_number']}号窗口" if f.get("window_number") else "窗口未知"
        out.append({"key": f"followup:{fid}", "kind": "followup", "subject": fid, "since": f.get("opened_at"),
                    "overdue": bool(f.get("overdue")),
                    "text": f"{f.get('number', '')} · {where} · {f.get('level')}星"
                            + (f" · {reasons}" if reasons else "") + f" · 回访期限 {f.get('callback_due', '')}"
                            + (" · 已逾期" if f.get("overdue") else "")})
    for aid, a in sorted(retained.get("alert.supervision", {}).items()):
        if a:
            out.append({"key": f"{aid}:{int(a.get('since') or 0)}", "kind": a["kind"], "subject": a["subject"],
                        "since": a.get("since"), "text": alert_text(cfg, a)})
    for cid, c in sorted(retained.get("alert.case", {}).items()):
        if c:  # the level is in the key: a case that turns red is a new alert to acknowledge
            out.append({"key": f"case:{cid}:{c.get('level')}", "kind": "case", "subject": cid, "since": c.get("at"),
                        "overdue": c.get("level") == "red", "engine_acked": bool(c.get("acked")),
                        "text": f"办件 {cid} · {c.get('department', '')}「{c.get('matter', '')}」"
                                + ("已超过承诺时限" if c.get("level") == "red" else "临近承诺时限")
                                + f"（期限 {c.get('deadline', '')}，剩 {c.get('days_left', 0)} 个工作日）"})
    acks = acked([a["key"] for a in out])
    for a in out:
        a["kind_zh"] = KIND_ZH[a["kind"]]
        a["since_hhmm"] = _hhmm(a["since"], tz)
        k = acks.get(a["key"])
        a["ack"] = None if k is None else {"by": k.by, "role": k.role, "at": k.at, "at_hhmm": _hhmm(k.at, tz)}
        if a["ack"] is None and a.get("engine_acked"):  # acknowledged at another console (the engine's record)
            a["ack"] = {"by": "已在引擎记录", "role": "", "at": a["since"], "at_hhmm": ""}
    out.sort(key=lambda a: (a["ack"] is not None, a["since"] or 0))
    return out

