// Gmail's keyboard shortcuts. Action keys press the button of the page that carries
// the same data-key (the thread page's toolbar, or the list's selection toolbar acting
// on the checked rows, or on the row under the cursor when none is checked), so a key
// does exactly what its button does. "?" opens the sheet (#keys-sheet in base.html).
(function () {
  "use strict";
  const GO = { i: "/mail/", s: "/mail/label/STARRED/", t: "/mail/label/SENT/",
    d: "/mail/label/DRAFT/", a: "/mail/label/ALL/" };
  const ACTION_KEYS = new Set(["e", "#", "!", "s", "I", "U", "l", "v", "b", "m", "u", "r", "a", "f"]);
  let pendingG = 0;

  function rows() { return Array.from(document.querySelectorAll(".threads .thread")); }

  function cursorRow() {
    const list = rows();
    return list.find((row) => row.contains(document.activeElement))
      || list.find((row) => row.classList.contains("cursor")) || null;
  }

  function moveCursor(step) {
    const list = rows();
    if (!list.length) return;
    const current = cursorRow();
    let index = current ? list.indexOf(current) + step : 0;
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach((row) => row.classList.remove("cursor"));
    list[index].classList.add("cursor");
    list[index].querySelector(".row").focus();
  }

  function press(key) {
    const selector = `[data-key="${CSS.escape(key)}"]`;
    const scope = document.getElementById("thread-actions") || document.getElementById("selection");
    const target = (scope && scope.querySelector(selector)) || document.querySelector(selector);
    if (!target) return false;
    if (scope && scope.id === "selection" && !document.querySelector('.threads input[name="thread"]:checked')) {
      const row = cursorRow();
      if (!row) return false;
      row.querySelector('input[name="thread"]').checked = true;
    }
    if (target.tagName === "DETAILS") {
      target.open = true;
      target.querySelector("button, input:not([type=hidden])")?.focus();
    } else {
      target.click();
    }
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = event.key;
    if (pendingG && Date.now() - pendingG < 1500 && GO[key]) {
      pendingG = 0;
      window.location.assign(GO[key]);
      event.preventDefault();
      return;
    }
    pendingG = 0;
    let done = true;
    if (key === "g") pendingG = Date.now();
    else if (key === "j") moveCursor(1);
    else if (key === "k") moveCursor(-1);
    else if (key === "o") { const row = cursorRow(); if (row) row.querySelector(".row").click(); else done = false; }
    else if (key === "x") {
      const row = cursorRow();
      if (row) { row.querySelector('input[name="thread"]').click(); } else done = false;
    }
    else if (key === "z") { const undo = document.querySelector("#toast button"); if (undo) undo.click(); else done = false; }
    else if (key === "/") { const search = document.querySelector("[data-search]"); if (search) search.focus(); else done = false; }
    else if (key === "c") { window.location.assign("/mail/compose/"); }
    else if (key === "?") { document.getElementById("keys-sheet")?.showModal(); }
    else if (ACTION_KEYS.has(key)) done = press(key);
    else done = false;
    if (done) event.preventDefault();
  });
})();
