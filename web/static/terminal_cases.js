// The clerk's cases (办件) on the window terminal: this window's open cases (or its
// departments'), a step of the timeline with an opinion, an extension with its reason.
// The engine decides what is allowed; a refused step comes back with its reason.
"use strict";
(function () {
  const { $, el, rid, toast, post } = window.terminalKit; // terminal.js, loaded first
  const cases = { rows: [], total: 0, chosen: null, scope: "window", last: null };
  window.terminalCases = cases; // what the list shows, as data (tests read it)

  async function load() {
    const r = await fetch(`/terminal/cases?scope=${cases.scope}`, { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/terminal/login"; return; }
    const out = await r.json();
    if (!out.ok) { toast(`办件列表未取到：${out.error.message} (${out.error.code})`, true); return; }
    cases.rows = out.cases;
    cases.total = out.total;
    render();
  }

  function left(c) {
    if (c.overdue) return `逾期 ${Math.max(0, -(c.days_left || 0))} 日`;
    return c.days_left === null || c.days_left === undefined ? "" : String(c.days_left);
  }

  function render() {
    const body = $("#cases tbody");
    body.replaceChildren(...cases.rows.map((c) => {
      const tr = el("tr", { className: c.case === cases.chosen ? "chosen" : "" },
        el("td", { textContent: c.case }), el("td", { textContent: c.name }),
        el("td", { textContent: c.matter_name }), el("td", { textContent: c.stage_name }),
        el("td", { textContent: c.deadline || "" }),
        el("td", { textContent: left(c), className: c.overdue ? "overdue" : "" }));
      tr.dataset.case = c.case;
      tr.addEventListener("click", () => choose(c.case));
      return tr;
    }));
    if (!cases.rows.length) body.append(el("tr", {}, el("td", { colSpan: 6, className: "muted", textContent: "暂无在办件" })));
    $("#cases-total").textContent = cases.total > cases.rows.length ? `（共 ${cases.total} 件，显示期限最近的 ${cases.rows.length} 件）`
      : `（${cases.total} 件）`;
    const c = cases.rows.find((x) => x.case === cases.chosen);
    $("#case-forms").classList.toggle("hidden", !c);
    if (c) {
      $("#case-chosen").textContent = c.case;
      $("#case-chosen-stage").textContent = `${c.stage_name} · ${c.matter_name} · 承诺 ${c.deadline}`;
      offer(c);
    }
  }

  // only the stages the engine's timeline allows from this case's stage (the list's `next`)
  function offer(c) {
    const sel = $("#case-stage");
    const was = sel.value;
    const next = c.next || [];
    sel.replaceChildren(...next.map((n) => el("option", { value: n.stage, textContent: n.name })));
    if (next.some((n) => n.stage === was)) sel.value = was;
    sel.disabled = !next.length;
    $("#case-step-go").disabled = !next.length;
    sel.title = next.length ? "" : "此环节不能再转入其他环节";
  }

  function choose(number) {
    cases.chosen = number;
    render();
  }

  // a refusal said in the clerk's words (the engine's message is for logs and scripts)
  function refusal(code, body) {
    const to = $("#case-stage").querySelector(`[value="${body.stage}"]`);
    switch (code) {
      case "bad_transition":
        // the page's row may be stale (another terminal moved it): the engine's message names the stage now
        return `办件 ${body.case} 不能转到「${to ? to.textContent : body.stage}」`;
      case "bad_request":
        return body.days !== undefined ? "延期须填写工作日天数和理由" : "补正中、不予许可须填写办理意见（缺什么、为什么）";
      case "bad_state": return `办件 ${body.case} 已办结或已撤回，不能延期`;
      case "unknown_case": return `没有办件 ${body.case}`;
      case "not_logged_in": return "本窗口无人登录";
      default: return null;
    }
  }

  async function send(op, body, what) {
    const out = await post(`/terminal/case/${op}`, { rid: rid(), ...body });
    cases.last = out;
    if (!out.ok) {
      // the clerk's words, and the engine's own message beside them (it names what is allowed)
      const said = refusal(out.error.code, body);
      const engine = out.error.message || "";
      toast(`${what}未完成：${said ? `${said}（${engine}）` : engine} (${out.error.code})`, true);
      await load(); // the case may have moved elsewhere meanwhile: offer what is allowed now
      return;
    }
    const stage = $("#case-stage").querySelector(`[value="${out.case.stage}"]`);
    toast(`${what}：办件 ${out.case.case} 现为「${stage ? stage.textContent : out.case.stage}」，承诺办结 ${out.case.deadline}`);
    await load();
  }

  $("#case-step-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!cases.chosen) return;
    send("case_step", { case: cases.chosen, stage: $("#case-stage").value, opinion: $("#case-opinion").value.trim() }, "办理环节");
    $("#case-opinion").value = "";
  });
  $("#case-extend-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!cases.chosen) return;
    send("case_extend", { case: cases.chosen, days: Number($("#case-days").value), reason: $("#case-reason").value.trim() }, "延期");
  });
  document.querySelectorAll('input[name="case-scope"]').forEach((r) => r.addEventListener("change", () => {
    cases.scope = r.value;
    cases.chosen = null;
    load();
  }));
  $("#cases-refresh").addEventListener("click", load);
  load();
})();
