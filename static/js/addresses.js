// Address suggestions in compose's To, Cc and Bcc (inputs with data-addresses): the
// people of the user's mail whose name or address starts with what is being typed
// after the last comma, from POST /mail/compose/people/ (POST: what is typed never
// lands in a URL or a log). An ARIA combobox: ↓/↑ move, Enter or Tab take, Esc closes.
// Leaving the field checks what is in it, so a mistyped address is said at once (the
// server checks again on Send, and is the one that decides).
(function () {
  "use strict";
  const WAIT_MS = 120;

  function setUp(input) {
    const list = document.getElementById(input.getAttribute("aria-controls"));
    const form = input.form;
    let timer = null;
    let active = -1;
    let asked = 0;

    function token() {
      const before = input.value.slice(0, input.selectionStart);
      const start = Math.max(before.lastIndexOf(","), before.lastIndexOf(";")) + 1;
      return { start, text: before.slice(start).trim() };
    }

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
      else input.removeAttribute("aria-activedescendant");
    }

    function take(option) {
      const { start } = token();
      const after = input.value.slice(input.selectionStart);
      const rest = after.includes(",") ? after.slice(after.indexOf(",")) : "";
      const head = input.value.slice(0, start).replace(/\s*$/, start ? " " : "");
      input.value = head + option.dataset.value + ", " + rest.replace(/^,\s*/, "");
      const caret = (head + option.dataset.value + ", ").length;
      input.setSelectionRange(caret, caret);
      close();
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }

    async function suggest() {
      const { text } = token();
      if (!text) { close(); return; }
      const ask = ++asked;
      const data = new FormData();
      data.set("q", text);
      data.set("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      let people = [];
      try {
        const response = await fetch(input.dataset.addresses, { method: "POST", body: data, credentials: "same-origin" });
        if (response.ok) people = (await response.json()).people;
      } catch (error) { people = []; }
      if (ask !== asked) return;  // an older answer, after a newer question
      if (document.activeElement !== input) { close(); return; }  // the writer moved on
      list.replaceChildren();
      people.forEach((person, i) => {
        const option = document.createElement("li");
        option.id = `${list.id}-${i}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.value = person.value;
        const name = document.createElement("span");
        name.className = "person-name";
        name.textContent = person.name || person.address;
        const address = document.createElement("span");
        address.className = "person-address";
        address.textContent = person.name ? person.address : "";
        option.append(name, address);
        option.addEventListener("mousedown", (event) => { event.preventDefault(); take(option); });
        list.append(option);
      });
      list.hidden = !people.length;
      input.setAttribute("aria-expanded", String(Boolean(people.length)));
      active = -1;
    }

    input.addEventListener("input", (event) => {
      if (!event.isTrusted) return;
      clearTimeout(timer);
      timer = setTimeout(suggest, WAIT_MS);
    });
    input.addEventListener("keydown", (event) => {
      const options = list.querySelectorAll("[role=option]");
      if (list.hidden || !options.length) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        mark((active + step + options.length) % options.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        take(options[active]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });
    input.addEventListener("blur", () => setTimeout(() => { close(); check(); }, 100));
    input.addEventListener("input", () => { if (input.getAttribute("aria-invalid")) check(); });

    const problem = document.getElementById(`${input.id}-problem`);
    function check() {
      if (!problem) return;
      const bad = pieces(input.value).filter((piece) => !ADDRESS.test(addressOf(piece)));
      problem.hidden = !bad.length;
      problem.textContent = bad.length
        ? bad.map((piece) => `“${piece}” is not an email address.`).join(" ")
        : "";
      if (bad.length) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  const ADDRESS = /^[^@\s<>",;]+@[^@\s<>",;]+\.[^@\s<>",;.]+$/;

  // The field split at commas and semicolons outside quotes and <…>, as the server does.
  function pieces(text) {
    const found = [];
    let current = "";
    let quoted = false;
    let angled = false;
    for (const char of text) {
      if ((char === "," || char === ";") && !quoted && !angled) {
        found.push(current);
        current = "";
        continue;
      }
      if (char === '"' && !angled) quoted = !quoted;
      else if (char === "<" && !quoted) angled = true;
      else if (char === ">" && !quoted) angled = false;
      current += char;
    }
    found.push(current);
    return found.map((piece) => piece.trim()).filter(Boolean);
  }

  function addressOf(piece) {
    const angled = piece.match(/<([^<>]*)>\s*$/);
    return (angled ? angled[1] : piece).trim();
  }

  function setUpAll() {
    document.querySelectorAll("input[data-addresses]:not([data-ready])").forEach((input) => {
      input.dataset.ready = "";
      setUp(input);
    });
  }
  document.addEventListener("DOMContentLoaded", setUpAll);
  document.addEventListener("htmx:afterSettle", setUpAll);  // a reply opened in place
})();
