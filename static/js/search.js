// The search box's suggestions (templates/base.html): as one types, the newest
// conversations matching the query so far, its last word as a prefix, from
// POST /mail/search/suggest/ (a half-typed search stays out of URLs). An ARIA combobox:
// ↓/↑ move, Enter opens the one chosen (or searches, when none is), Esc closes.
(function () {
  "use strict";
  const WAIT_MS = 200;

  function setUp(input) {
    const list = document.getElementById(input.getAttribute("aria-controls"));
    let timer = null;
    let active = -1;
    let asked = 0;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function mark(index) {
      const options = list.querySelectorAll("[role=option]");
      options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
      active = index;
      if (index >= 0) input.setAttribute("aria-activedescendant", options[index].id);
    }

    async function suggest() {
      const ask = ++asked;
      if (input.value.trim().length < 3) { close(); return; }
      const data = new FormData();
      data.set("q", input.value);
      data.set("csrfmiddlewaretoken", input.dataset.csrf);
      let threads = [];
      try {
        const response = await fetch(input.dataset.suggest, { method: "POST", body: data, credentials: "same-origin" });
        if (response.ok) threads = (await response.json()).threads;
      } catch (error) { threads = []; }
      if (ask !== asked || document.activeElement !== input) return;
      list.replaceChildren();
      threads.forEach((thread, i) => {
        const option = document.createElement("li");
        option.id = `search-suggestion-${i}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.url = thread.url;
        const subject = document.createElement("span");
        subject.className = "suggestion-subject";
        subject.textContent = thread.subject;
        const people = document.createElement("span");
        people.className = "suggestion-people";
        people.textContent = thread.people;
        option.append(subject, people);
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          window.location.assign(thread.url);
        });
        list.append(option);
      });
      list.hidden = !threads.length;
      input.setAttribute("aria-expanded", String(Boolean(threads.length)));
      active = -1;
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(suggest, WAIT_MS);
    });
    input.addEventListener("keydown", (event) => {
      const options = list.querySelectorAll("[role=option]");
      if (event.key === "Escape") { close(); return; }
      if (list.hidden || !options.length) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        mark((active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.assign(options[active].dataset.url);
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("input[data-suggest]").forEach(setUp);
  });
})();
