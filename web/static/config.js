// The console's config page: choose an operation and its subject, fill the form
// (drawn from the inputs the server sends, with the current values), preview the
// diff, apply it. A push made from an older revision is refused by the engine
// (stale): the page says so and shows the revision in force now.
"use strict";
(function () {
  const { $, el, toast } = window.ow;  // web/static/ui.js
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const readonly = document.body.classList.contains("readonly");
  const page = { op: "", subject: "", inputs: [], preview: null, last: null, history: [] };
  window.configPage = page; // what the page holds, as data (the browser test reads it)
  const ACTION = { start: "服务器文件", push: "修改", rollback: "回滚" };

  async function call(method, url, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    let r, out;
    try {
      r = await fetch(url, opts);
      out = await r.json();
    } catch (e) {
      out = { ok: false, error: { code: "network", message: String(e), zh: "网络错误：" } };
    }
    page.last = { status: r ? r.status : 0, body: out };
    return out;
  }

  function refused(err) {
    if (err.code === "forbidden") return "无权限：只读账号不能修改配置";
    // a sentence of its own says it all; one ending in "：" is followed by the details
    // (the engine's message is for logs and scripts: English)
    const zh = err.zh || "未生效：";
    return (/[：:]$/.test(zh) ? `${zh} ${err.message}` : zh) + ` (${err.code})`;
  }

  function setRevision(n) {
    const r = $("#revision");
    r.dataset.revision = n;
    r.textContent = "当前修订 " + n;
  }

  // ------------------------------------------------------------ the form --
  $("#op").addEventListener("change", async () => {
    page.op = $("#op").value;
    clearPreview();
    $("#op-form").replaceChildren();
    if (!page.op) return;
    const o = CATALOGUE.find((x) => x.id === page.op);
    const lbl = $("#subject-label");
    lbl.classList.toggle("hidden", !o.subject_label);
    $("#subject-name").textContent = o.subject_label;
    $("#subject").replaceChildren(...o.subjects.map(([v, t]) => el("option", { value: v, textContent: t })));
    await loadForm();
  });
  $("#subject").addEventListener("change", () => { clearPreview(); loadForm(); });

  let CATALOGUE = [];
  function loadCatalogue() {
    // the operations and their subjects, as the server listed them in the page's <select>
    const opts = Array.from($("#op").options).filter((o) => o.value);
    CATALOGUE = opts.map((o) => ({ id: o.value, title: o.textContent,
                                   subject_label: o.dataset.subjectLabel || "", subjects: JSON.parse(o.dataset.subjects || "[]") }));
  }

  let formSeq = 0;
  async function loadForm() {
    page.subject = $("#subject-label").classList.contains("hidden") ? "" : $("#subject").value;
    const q = new URLSearchParams({ op: page.op, subject: page.subject });
    const mine = ++formSeq;
    const out = await call("GET", "/admin/config/form?" + q);
    if (mine !== formSeq) return;  // another subject was chosen meanwhile
    if (!out.ok) { toast(refused(out.error), true); return; }
    page.inputs = out.inputs;
    page.form = `${page.op}:${page.subject}`;
    setRevision(out.revision);
    $("#op-form").replaceChildren(...out.inputs.map(drawInput));
  }

  function drawInput(i) {
    const label = el("label", {}, i.label + " ");
    label.dataset.name = i.name;
    let field;
    if (i.kind === "check") {
      field = el("input", { type: "checkbox", checked: !!i.value });
      label.prepend(field);
    } else if (i.kind === "select") {
      field = el("select", {}, ...i.options.map(([v, t]) => el("option", { value: v, textContent: t, selected: v === i.value })));
      label.append(field);
    } else if (i.kind === "lines") {
      field = el("textarea", { rows: 4, value: i.value || "" });
      label.append(field);
    } else if (i.kind === "multi" || i.kind === "weights") {
      const box = el("div", { className: "choices" });
      for (const [v, t] of i.options) {
        const inp = i.kind === "multi"
          ? el("input", { type: "checkbox", value: v, checked: (i.value || []).includes(v) })
          : el("input", { type: "number", min: 0, max: 9, value: (i.value || {})[v] || 0 });
        inp.dataset.key = v;
        box.append(el("label", {}, inp, " " + t));
      }
      field = box;
      label.append(box);
    } else {
      field = el("input", { type: i.kind === "secret" ? "password" : (i.kind === "number" ? "number" : "text"),
                            value: i.value === null || i.value === undefined ? "" : i.value, step: "any",
                            autocomplete: "off" });
      label.append(field);
    }
    field.dataset.input = i.name;
    if (readonly) [field, ...field.querySelectorAll("input")].forEach((x) => { x.disabled = true; });
    if (i.hint) label.append(el("span", { className: "hint", textContent: i.hint }));
    return label;
  }

  function readForm() {
    const params = {};
    for (const i of page.inputs) {
      const f = document.querySelector(`[data-input="${i.name}"]`);
      if (i.kind === "check") params[i.name] = f.checked;
      else if (i.kind === "multi") params[i.name] = Array.from(f.querySelectorAll("input:checked")).map((x) => x.dataset.key);
      else if (i.kind === "weights") {
        params[i.name] = {};
        f.querySelectorAll("input").forEach((x) => { if (Number(x.value)) params[i.name][x.dataset.key] = Number(x.value); });
      } else params[i.name] = f.value;
    }
    return params;
  }

  // ---------------------------------------------------------- the preview --
  function clearPreview() {
    page.preview = null;
    $("#diff").replaceChildren();
    $("#problems").replaceChildren();
    $("#preview-summary").textContent = "";
    $("#apply").disabled = $("#discard").disabled = true;
    document.querySelectorAll(".fields label.bad").forEach((l) => l.classList.remove("bad"));
  }

  function drawDiff(pre, text) {
    pre.replaceChildren(...text.split("\n").map((ln) => el("span", {
      className: ln.startsWith("@@") ? "hunk" : ln.startsWith("+") ? "add" : ln.startsWith("-") ? "del" : "",
      textContent: ln + "\n" })));
  }

  function showPreview(out) {
    clearPreview();
    if (!out.ok) {
      const e = out.error;
      $("#problems").replaceChildren(el("p", { textContent: refused(e) }),
        el("ul", {}, ...(e.problems || []).map(([p, r]) => el("li", { textContent: `${p}: ${r}` }))));
      for (const [p] of e.problems || []) {
        const l = document.querySelector(`.fields label[data-name="${p}"]`);
        if (l) l.classList.add("bad");
      }
      toast(refused(e), true);
      return;
    }
    page.preview = out;
    $("#preview-summary").textContent = `${out.summary}（基于修订 ${out.base}）`;
    drawDiff($("#diff"), out.diff);
    $("#apply").disabled = $("#discard").disabled = readonly;
  }

  $("#preview").addEventListener("click", async () => {
    if (!page.op) { toast("请先选择操作", true); return; }
    showPreview(await call("POST", "/admin/config/preview", { op: page.op, subject: page.subject, params: readForm() }));
  });
  $("#discard").addEventListener("click", clearPreview);

  $("#apply").addEventListener("click", async () => {
    if (!page.preview) return;
    $("#apply").disabled = true;
    const out = await call("POST", "/admin/config/apply", { token: page.preview.token });
    page.applied = page.last;
    if (out.ok) {
      toast(`已应用：修订 ${out.revision} 生效（${out.summary}）`);
      setRevision(out.revision);
      clearPreview();
      if (page.op) loadForm();
    } else {
      showPreview(out);
      if (out.error.code === "stale_config") $("#preview-card").classList.add("stale-refused");
    }
    loadHistory();
  });

  // ------------------------------------------------- history and rollback --
  async function loadHistory() {
    const out = await call("GET", "/admin/config/history");
    if (!out.ok) { toast(refused(out.error), true); return; }
    page.history = out.revisions;
    if (out.revisions.length) setRevision(out.revisions[0].revision);
    const current = out.revisions.length ? out.revisions[0].revision : null;
    $("#history tbody").replaceChildren(...out.revisions.map((r) => {
      const when = new Date(r.at * 1000).toLocaleString("zh-CN", { hour12: false });
      const show = el("button", { className: "small", textContent: "差异" });
      show.addEventListener("click", () => drawDiff($("#history-diff"), `修订 ${r.revision}\n` + (r.diff || "（无）")));
      const cells = [el("td", { textContent: r.revision }), el("td", { textContent: when }),
        el("td", { textContent: (ACTION[r.action] || r.action) + (r.rollback_of !== null && r.rollback_of !== undefined ? ` 至 ${r.rollback_of}` : "") }),
        el("td", { textContent: r.by ? `${r.by}（经 ${r.who}）` : r.who }),
        el("td", { textContent: r.base === null ? "—" : r.base })];
      const last = el("td", {}, show);
      if (r.revision !== current) {
        const rb = el("button", { className: "small", textContent: "回滚到此", disabled: readonly });
        rb.dataset.rollback = r.revision;
        rb.addEventListener("click", () => rollback(r.revision, current));
        last.append(" ", rb);
      }
      cells.push(last);
      const tr = el("tr", {}, ...cells);
      tr.dataset.revision = r.revision;
      return tr;
    }));
  }

  async function rollback(revision, base) {
    if (!confirm(`把配置回滚到修订 ${revision}？（当前修订 ${base}；回滚本身也是一个新修订，可再回滚）`)) return;
    const out = await call("POST", "/admin/config/rollback", { revision, base });
    if (out.ok) { toast(`已回滚：修订 ${out.revision} 生效（与修订 ${revision} 相同）`); setRevision(out.revision); }
    else toast(refused(out.error), true);
    loadHistory();
  }
  window.configRollback = rollback;

  // ------------------------------------------------------- import --
  const imp = $("#import");
  if (imp) imp.addEventListener("change", async () => {
    const f = imp.files[0];
    if (!f) return;
    const text = await f.text();
    imp.value = "";
    $("#op").value = "";
    $("#op-form").replaceChildren();
    showPreview(await call("POST", "/admin/config/import", { text }));
  });

  loadCatalogue();
  loadHistory();
})();
