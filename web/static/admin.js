// The admin console's dashboard: live by server-sent events (no polling),
// acknowledgements by POST with the session's CSRF token.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const readonly = document.body.classList.contains("readonly");
  const { $, el, toast } = window.ow;  // web/static/ui.js
  const data = { dashboard: null, alerts: [], events: 0 };
  window.consoleData = data; // what the page shows, as data (the browser test reads it)

  const ENGINE = { online: "引擎在线", offline: "引擎离线", stopped: "引擎已停止", unknown: "引擎状态未知" };

  function renderDashboard(d) {
    const e = $("#engine");
    e.textContent = ENGINE[d.engine] || d.engine;
    e.className = "status " + (d.engine === "online" ? "open" : "paused");
    $("#day").textContent = d.hall.day;
    document.querySelectorAll("#kpis [data-k]").forEach((v) => {
      const x = d.hall[v.dataset.k];
      v.textContent = x === null || x === undefined ? "—" : x;
    });
    const zones = $("#zones");
    zones.replaceChildren(...d.zones.map((z) => {
      const rows = z.windows.map((w) => {
        const tr = el("tr", { className: w.unattended ? "unattended" : "" },
          el("td", {}, el("b", { textContent: w.number + "号" })),
          el("td", {}, el("span", { className: "st " + w.status, textContent: w.status_zh + (w.pause_reason ? "：" + w.pause_reason : "") })),
          el("td", { textContent: w.staff_name ? `${w.staff_name} (${w.staff})` : (w.staff || (w.unattended ? "空岗" : "—")) }),
          el("td", { textContent: w.current ? `${w.current} ${w.matter}` : "—" }),
          el("td", { className: "num", textContent: w.waiting }),
          el("td", { className: "num", textContent: w.satisfaction === null ? "—" : `${w.satisfaction}% / ${w.rated}` }),
          ...["served", "avg_handle_min", "idle_min", "paused_min", "utilisation"].map((k) =>
            el("td", { className: "num", textContent: w[k] === null || w[k] === undefined ? "—" : w[k] + (k === "utilisation" ? "%" : "") })));
        tr.dataset.window = w.id;
        return tr;
      });
      const head = el("tr", {}, ...["窗口", "状态", "工作人员", "当前号", "可办等候", "满意率/评价数", "今日已办", "平均办理(分)", "空闲(分)", "暂停(分)", "利用率"].map((h) => el("th", { textContent: h })));
      return el("div", { className: "card zone" },
        el("h3", { textContent: z.name + " " }, el("span", { className: "muted", textContent: `等候 ${z.waiting} · 开放 ${z.open} · 暂停 ${z.paused}` })),
        el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
    }));
  }

  function renderAlerts(list) {
    $("#alerts-count").textContent = list.filter((a) => !a.ack).length + " 未确认 / " + list.length;
    const body = $("#alerts tbody");
    body.replaceChildren(...list.map((a) => {
      let last;
      if (a.ack) {
        last = el("td", { textContent: `已确认：${a.ack.by} ${a.ack.at_hhmm}` });
      } else {
        const b = el("button", { className: "small primary", textContent: "确认", disabled: readonly,
                                 title: readonly ? "只读账号" : "确认已知晓、已安排处理" });
        b.dataset.ack = a.key;
        b.addEventListener("click", () => ack(a.key));
        last = el("td", {}, b);
      }
      const tr = el("tr", { className: `kind-${a.kind}` + (a.ack ? " acked" : "") },
        el("td", { textContent: a.kind_zh }), el("td", { textContent: a.text }),
        el("td", { textContent: a.since_hhmm }), last);
      tr.dataset.key = a.key;
      return tr;
    }));
  }

  async function ack(key) {
    let r, body;
    try {
      r = await fetch("/admin/alerts/ack", {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ key }), credentials: "same-origin" });
      body = await r.json();
    } catch (e) {
      toast("网络错误：未确认", true);
      return { ok: false };
    }
    const LEVEL = { yellow: "黄色预警", red: "红色预警" };
    if (body.ok && body.engine) {  // a case's warning: the engine's own record of it, as it answered
      const e = body.engine;
      toast(`已确认：办件 ${e.case} ${LEVEL[e.level] || e.level}${e.acked ? "，引擎已记录" : "，引擎未记录"}（期限 ${e.deadline}）`, !e.acked);
    } else if (body.ok) toast("已确认");
    else toast(body.error.code === "forbidden" ? "无权限：只读账号不能确认告警" : `未确认：${body.error.message}`, true);
    data.lastAck = { status: r.status, body };
    return body;
  }
  window.consoleAck = ack;

  const es = new EventSource("/admin/events");
  es.addEventListener("dashboard", (e) => { data.dashboard = JSON.parse(e.data); data.events++; renderDashboard(data.dashboard); });
  es.addEventListener("alerts", (e) => { data.alerts = JSON.parse(e.data); data.events++; renderAlerts(data.alerts); });
  es.addEventListener("expired", () => { es.close(); location.href = "/admin/login"; });
})();
