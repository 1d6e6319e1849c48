// The window terminal page: live by server-sent events, actions by POST.
// Every action carries a request id made when the click starts; the buttons stay
// disabled until the answer, and the server refuses a second action meanwhile,
// so a double click never calls two citizens.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const { $, el, toast } = window.ow;  // web/static/ui.js
  const page = { window: null, state: null, visit: null, queue: [], engine: null, busy: false, pending: null };
  window.terminalData = page; // what the page shows, as data (tests and the benchmark read it)

  const STATUS = { open: "服务中", paused: "暂停", closed: "未登录" };
  const TSTATE = { called: "已叫号", serving: "办理中" };

  function rid() {
    const a = new Uint8Array(9);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function setBusy(b) {
    page.busy = b;
    renderButtons();
  }

  function canAct() {
    return page.engine && page.engine.engine === "online" && page.engine.bus && !page.busy;
  }

  function renderButtons() {
    const st = page.state || {};
    const t = st.ticket;
    const ok = canAct();
    const on = {
      next: st.status === "open", recall: !!t && t.state === "called", noshow: !!t && t.state === "called",
      start: !!t && t.state === "called", transfer: !!t, pause: st.status === "open" && !t,
      resume: st.status === "paused", finish: !!t,
    };
    document.querySelectorAll("[data-op],[data-dialog]").forEach((b) => {
      const op = b.dataset.op || b.dataset.dialog;
      b.disabled = !ok || !on[op];
    });
    $("#pause-btn").classList.toggle("hidden", st.status === "paused");
    $("#resume-btn").classList.toggle("hidden", st.status !== "paused");
  }

  function fmtAge(since) {
    if (!since) return "";
    const s = Math.max(0, Math.floor(Date.now() / 1000 - since));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}时${m % 60}分` : `${m}分${String(s % 60).padStart(2, "0")}秒`;
  }

  function renderState() {
    const st = page.state;
    const s = $("#status");
    if (!st) { s.textContent = "…"; s.className = "status"; renderButtons(); return; }
    s.textContent = STATUS[st.status] + (st.status === "paused" && st.pause_reason ? `：${st.pause_reason}` : "");
    $("#closed-banner").classList.toggle("hidden", st.status !== "closed");
    s.className = "status " + st.status;
    const t = st.ticket;
    $("#number").textContent = t ? t.number : "—";
    $("#matter").textContent = t ? t.name : (st.status === "paused" ? "窗口暂停中" : "当前没有叫号");
    $("#ticket-meta").textContent = t ? `${TSTATE[t.state] || t.state}` + (t.recalls ? ` · 已重呼 ${t.recalls} 次` : "") : "";
    $("#waiting-total").textContent = `共 ${st.waiting} 人等候`;
    renderButtons();
  }

  function renderQueue() {
    const tb = $("#queue tbody");
    tb.replaceChildren();
    if (!page.queue.length) {
      tb.append(el("tr", {}, el("td", { colSpan: 3, className: "muted", textContent: "暂无等候" })));
      return;
    }
    for (const q of page.queue) {
      const age = el("td", { textContent: fmtAge(q.oldest_since) });
      age.dataset.since = q.oldest_since || "";
      if (q.oldest_since && Date.now() / 1000 - q.oldest_since > 1800) age.className = "late";
      tb.append(el("tr", {}, el("td", { textContent: (q.bundle ? "【一件事】" : "") + q.name }),
        el("td", { className: "n", textContent: q.waiting }), age));
    }
  }

  function renderVisit() {
    const v = page.visit;
    $("#visit").classList.toggle("hidden", !v);
    if (!v) { page.shownVisit = null; return; }
    if (v.is_bundle) $("#matter").textContent = `${v.name}（${v.bundle_matters.join("、")}）`;
    $("#ticket-meta").textContent = (v.priority ? `【${v.priority}】` : "") + $("#ticket-meta").textContent.replace(/^【.*?】/, "");
    // Every window state (a citizen more in the queue) redraws the head only: the form and the
    // materials the clerk is ticking are drawn once per visit, and a visit sent again (after a
    // reconnect) keeps the ticks, so nothing the clerk did is undone under the mouse.
    if (page.shownVisit === v) return;
    const same = page.shownVisit && page.shownVisit.number === v.number;
    const ticked = new Set(same ? Array.from(document.querySelectorAll("#materials input:checked"), (c) => c.value) : []);
    page.shownVisit = v;
    const ans = $("#answers");
    ans.replaceChildren(...(v.answers.length ? v.answers.map((a) => el("li", {}, `${a.question} `, el("b", { textContent: a.answer })))
      : [el("li", { className: "muted", textContent: "无" })]));
    const mats = $("#materials");
    mats.replaceChildren(...v.materials.map((m) => {
      const cb = el("input", { type: "checkbox", value: m.id, checked: ticked.has(m.id) });
      cb.dataset.material = m.id;
      return el("li", { className: m.needed ? "" : "optional" },
        el("label", {}, cb, ` ${m.name}`, m.note ? el("span", { className: "muted", textContent: `（${m.note}）` }) : "",
          m.needed ? "" : el("span", { className: "muted", textContent: "（本情形不需要）" })));
    }));
    const tb = $("#form tbody");
    tb.replaceChildren(...(v.form.length ? v.form.map((r) => el("tr", {}, el("th", { textContent: r.label }), el("td", { textContent: r.value })))
      : [el("tr", {}, el("td", { className: "muted", textContent: "未在自助机填表" }))]));
    $("#phone").textContent = v.phone ? `短信联系：${v.phone}` : "未留手机号（补正告知只能打印）";
  }

  function renderEngine() {
    const e = page.engine || {};
    const b = $("#engine-banner");
    if (!e.bus) { b.textContent = "与大厅总线的连接已断开：操作不会发送，恢复后自动刷新"; b.classList.remove("hidden"); }
    else if (e.engine !== "online") { b.textContent = `排队引擎离线（${e.engine}）：操作不会发送，恢复后自动刷新`; b.classList.remove("hidden"); }
    else b.classList.add("hidden");
    document.querySelector("section.queue").classList.toggle("stale", !(e.bus && e.engine === "online"));
    renderButtons();
  }

  // the window as the config in force names it (a new revision redraws it without a reload)
  function renderWindow() {
    const w = page.window;
    if (!w) return;
    $("#window-number").textContent = `${w.number}号窗口`;
    $("#hall-name").textContent = w.hall;
    document.title = `${w.number}号窗口 · ${w.hall}`;
    const sel = $("#transfer-window");
    const was = sel.value;
    sel.replaceChildren(el("option", { value: "", textContent: "—" }),
      ...w.transfer.map((t) => el("option", { value: t.id, textContent: `${t.number}号窗口 · ${t.zone}` })));
    if (w.transfer.some((t) => t.id === was)) sel.value = was;
  }

  function renderPending() {
    const p = page.pending;
    $("#pending-banner").classList.toggle("hidden", !p);
    if (p) $("#pending-text").textContent = `操作「${OPNAME[p.op] || p.op}」已发出但未得到确认：${p.message}。`;
  }
  const OPNAME = { next: "叫下一位", recall: "重呼", noshow: "未到", start: "开始办理", transfer: "转移",
    pause: "暂停", resume: "恢复", finish: "办结" };

  // ---------------------------------------------------------------- live
  let es = null;
  function connect() {
    es = new EventSource("/terminal/events");
    const on = (name, fn) => es.addEventListener(name, (ev) => { fn(JSON.parse(ev.data)); });
    on("window", (d) => { page.window = d; renderWindow(); });
    on("state", (d) => { page.state = d; renderState(); if (page.visit) renderVisit(); });
    on("visit", (d) => { page.visit = d; page.visitAt = performance.now(); renderState(); renderVisit(); });
    on("queue", (d) => { page.queue = d; renderQueue(); });
    on("engine", (d) => { page.engine = d; renderEngine(); });
    on("pending", (d) => { page.pending = d; renderPending(); });
    es.addEventListener("expired", () => { es.close(); location.href = "/terminal/login"; });
    es.onerror = () => { page.engine = { engine: page.engine ? page.engine.engine : "unknown", bus: false }; renderEngine(); };
  }
  setInterval(() => document.querySelectorAll("#queue td[data-since]").forEach((td) => {
    if (td.dataset.since) td.textContent = fmtAge(Number(td.dataset.since));
  }), 1000); // only the clock moves the ages: no request

  // ------------------------------------------------------------- actions
  async function post(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}), credentials: "same-origin" });
    let out;
    try { out = await r.json(); } catch (e) { out = { ok: false, error: { code: "http", message: `HTTP ${r.status}` } }; }
    if (r.status === 401) location.href = "/terminal/login";
    return out;
  }

  async function act(op, body) {
    if (!canAct()) { toast("现在不能操作：" + (page.busy ? "上一个操作尚未完成" : "排队引擎离线，操作未发送"), true); return null; }
    setBusy(true);
    try {
      const out = await post(`/terminal/act/${op}`, Object.assign({ rid: rid() }, body || {}));
      if (!out.ok) toast(`${OPNAME[op] || op}未完成：${out.error.message} (${out.error.code})`, true);
      else if (out.state) { page.state = out.state; renderState(); if (page.visit) renderVisit(); }  // as the SSE state handler: the bundle name is the visit's
      return out;
    } catch (e) {
      toast(`${OPNAME[op] || op}未完成：网络错误，操作可能未送达`, true);
      return null;
    } finally { setBusy(false); }
  }
  window.terminalAct = act;
  window.terminalKit = { $, el, rid, toast, post }; // for the page's other scripts (terminal_cases.js)

  document.querySelectorAll("[data-op]").forEach((b) => b.addEventListener("click", () => act(b.dataset.op)));
  document.querySelectorAll("[data-dialog]").forEach((b) => b.addEventListener("click", () => openDialog(b.dataset.dialog)));

  function openDialog(name) {
    if (!canAct()) return;
    const d = $(`#dlg-${name}`);
    if (name === "finish") prepareFinish();
    if (name === "transfer") { $("#transfer-q").value = ""; $("#transfer-results").replaceChildren(); $("#transfer-window").value = ""; }
    d.showModal();
    if (name === "transfer") $("#transfer-q").focus();
  }

  // transfer: matter by name or pinyin initials, or a window
  let chosen = null;
  let searchSeq = 0;
  $("#transfer-q").addEventListener("input", async (ev) => {
    const q = ev.target.value.trim();
    const seq = ++searchSeq;
    const ul = $("#transfer-results");
    // the list shown is an older query's until this one's answer: nothing in it is chosen
    chosen = null;
    ul.dataset.q = "";
    ul.querySelectorAll("li.sel").forEach((n) => n.classList.remove("sel"));
    if (!q) { ul.replaceChildren(); return; }
    const r = await (await fetch(`/terminal/search?q=${encodeURIComponent(q)}`, { credentials: "same-origin" })).json();
    if (seq !== searchSeq) return;
    ul.dataset.q = q;  // the query these results answer
    ul.replaceChildren(...r.results.map((x, i) => {
      const li = el("li", { textContent: (x.bundle ? "【一件事】" : "") + x.name });
      li.dataset.target = x.target;
      li.addEventListener("click", () => { chosen = x.target; ul.querySelectorAll("li").forEach((n) => n.classList.toggle("sel", n === li)); });
      if (i === 0) { chosen = x.target; li.classList.add("sel"); }
      return li;
    }));
  });
  $("#transfer-go").addEventListener("click", (ev) => {
    const win = $("#transfer-window").value;
    if (!win && !chosen) { ev.preventDefault(); toast("请选择事项或窗口", true); return; }
    act("transfer", win ? { window: win } : { matter: chosen });
  });

  $("#pause-go").addEventListener("click", () => {
    const other = $("#pause-other").value.trim();
    const r = document.querySelector('input[name="pause-reason"]:checked');
    act("pause", { reason: other || (r ? r.value : null) });
  });

  function prepareFinish() {
    const v = page.visit;
    const ticked = new Set(Array.from(document.querySelectorAll("#materials input:checked"), (c) => c.value));
    $("#missing").replaceChildren(...(v ? v.materials : []).map((m) => {
      const cb = el("input", { type: "checkbox", value: m.id, checked: m.needed && !ticked.has(m.id) });
      return el("li", {}, el("label", {}, cb, ` ${m.name}`));
    }));
    $("#notify-sms").disabled = !(v && v.phone);
    document.querySelector('input[name="notify"][value="print"]').checked = true;
    $("#missing-note").value = "";
    $("#reject-reason").value = "";
    document.querySelector('input[name="outcome"][value="done"]').checked = true;
    showOutcomeBoxes();
  }
  function showOutcomeBoxes() {
    const k = document.querySelector('input[name="outcome"]:checked').value;
    $("#correction-box").classList.toggle("hidden", k !== "correction");
    $("#rejected-box").classList.toggle("hidden", k !== "rejected");
  }
  document.querySelectorAll('input[name="outcome"]').forEach((r) => r.addEventListener("change", showOutcomeBoxes));

  $("#finish-go").addEventListener("click", async (ev) => {
    const kind = document.querySelector('input[name="outcome"]:checked').value;
    const outcome = { kind };
    if (kind === "correction") {
      outcome.missing = Array.from(document.querySelectorAll("#missing input:checked"), (c) => c.value);
      const note = $("#missing-note").value.trim();
      if (note) outcome.note = note;
      outcome.notify = document.querySelector('input[name="notify"]:checked').value;
      if (!outcome.missing.length && !note) { ev.preventDefault(); toast("请勾选缺少的材料", true); return; }
    } else if (kind === "rejected") {
      outcome.reason = $("#reject-reason").value.trim();
      if (!outcome.reason) { ev.preventDefault(); toast("请填写不予受理理由", true); return; }
    }
    const out = await act("finish", { outcome });
    if (out && out.ok && kind === "correction") {
      if (outcome.notify === "print") window.open("/terminal/print/notice", "_blank");
      toast(outcome.notify === "sms" ? "一次性告知已通过短信发送" : "请打印一次性告知书交给办事人");
    }
  });

  $("#pending-retry").addEventListener("click", async () => {
    const out = await post("/terminal/retry", {});
    if (!out.ok) toast(`重试未完成：${out.error.message} (${out.error.code})`, true);
  });
  $("#pending-discard").addEventListener("click", () => post("/terminal/discard", {}));
  $("#relogin").addEventListener("click", async () => {
    const out = await post("/terminal/logout", {});
    location.href = out.next || "/terminal/login";
  });
  $("#logout").addEventListener("click", async () => {
    const out = await post("/terminal/logout", {});
    if (out.ok) location.href = out.next; else toast(`退出未完成：${out.error.message}`, true);
  });

  // keyboard: letters when no field has the focus, F-keys always
  const KEYS = { n: "next", F2: "next", r: "recall", F3: "recall", x: "noshow", F4: "noshow", s: "start",
    t: "@transfer", F6: "@transfer", p: "@pause", F7: "@pause", u: "resume", f: "@finish", F8: "@finish" };
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.altKey || ev.metaKey || document.querySelector("dialog[open]")) return;
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    const k = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    const what = KEYS[k];
    if (!what || (typing && k.length === 1)) return;
    ev.preventDefault();
    const btn = what[0] === "@" ? document.querySelector(`[data-dialog="${what.slice(1)}"]`)
      : document.querySelector(`[data-op="${what}"]`);
    if (btn && !btn.disabled && !btn.classList.contains("hidden")) btn.click();
  });

  connect();
})();
