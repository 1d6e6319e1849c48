// What every page of `onewindow web` shares: $, el (build an element) and the toast.
// Loaded before the page's own script (both `defer`, so in order).
"use strict";
window.ow = (function () {
  const $ = (s) => document.querySelector(s);
  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const k of kids) e.append(k);
    return e;
  };
  // one line at the bottom of the page (#toast); an error stays longer
  let timer = null;
  function toast(text, err) {
    const t = $("#toast");
    t.textContent = text;
    t.className = "toast" + (err ? " err" : "");
    clearTimeout(timer);
    timer = setTimeout(() => t.classList.add("hidden"), err ? 8000 : 3000);
  }
  return { $, el, toast };
})();
