// The list's selection (templates/mail/_selection_toolbar.html): "select all on this
// page", shift-click for a range, the count, and focus after an action (the row that
// takes the place of the first acted-on row). Without this file the form still works.
(function () {
  "use strict";
  let lastClicked = null;
  let focusIndex = null;

  function boxes() {
    return Array.from(document.querySelectorAll('.threads input[name="thread"]'));
  }

  function refresh() {
    const all = document.querySelector("[data-select-all]");
    const count = document.querySelector("[data-selected-count]");
    if (!all) return;
    all.closest(".select-all").hidden = false;
    const list = boxes();
    const checked = list.filter((box) => box.checked).length;
    all.checked = checked > 0 && checked === list.length;
    all.indeterminate = checked > 0 && checked < list.length;
    list.forEach((box) => box.closest(".thread").classList.toggle("selected", box.checked));
    if (count) count.textContent = checked ? `${checked} selected` : "";
    all.form.classList.toggle("none-selected", checked === 0);
  }

  document.addEventListener("click", (event) => {
    const box = event.target.closest && event.target.closest('.threads input[name="thread"]');
    if (!box) return;
    const list = boxes();
    if (event.shiftKey && lastClicked && list.includes(lastClicked)) {
      const [a, b] = [list.indexOf(lastClicked), list.indexOf(box)].sort((x, y) => x - y);
      list.slice(a, b + 1).forEach((each) => { each.checked = box.checked; });
    }
    lastClicked = box;
    refresh();
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("[data-select-all]")) {
      boxes().forEach((box) => { box.checked = event.target.checked; });
    }
    refresh();
  });

  // Before the selection is sent: remember where the first acted-on row is.
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.target.id !== "selection") return;
    const list = boxes();
    const first = list.findIndex((box) => box.checked);
    focusIndex = first >= 0 ? first : null;
  });

  document.addEventListener("htmx:afterSettle", () => {
    refresh();
    if (focusIndex === null) return;
    const rows = document.querySelectorAll(".threads .thread .row");
    const target = rows[Math.min(focusIndex, rows.length - 1)];
    focusIndex = null;
    if (target) target.focus();
    else document.getElementById("main")?.focus();
  });

  document.addEventListener("DOMContentLoaded", refresh);
})();
