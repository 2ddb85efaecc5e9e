// Compose's rich mode (templates/mail/compose.html): "Formatting" swaps the plain text
// box for an editor with bold, italic, lists, links and quotes. What it holds goes in
// the hidden body_html (cleaned by the server's allowlist when kept), and its text in
// body, the plain part every message also carries. Off again: the text stays, plain.
(function () {
  "use strict";

  function start() {
    const form = document.querySelector("form[data-compose]:not([data-rich-ready])");
    if (!form) return;
    form.dataset.richReady = "";
    const toggle = form.querySelector("[data-rich-toggle]");
    const tools = form.querySelector(".rich-tools");
    const editor = form.querySelector("[data-rich-editor]");
    const plain = form.querySelector("[data-plain]");
    const textarea = plain.querySelector("textarea");
    const flag = form.querySelector("[data-rich-flag]");
    const html = form.querySelector("[data-rich-html]");
    toggle.hidden = false;

    function sync() {
      html.value = editor.innerHTML;
      textarea.value = editor.innerText;
    }

    function setRich(on) {
      if (on) {
        const paragraphs = textarea.value.split(/\n/);
        editor.replaceChildren();
        paragraphs.forEach((line, i) => {
          if (i) editor.append(document.createElement("br"));
          editor.append(document.createTextNode(line));
        });
        sync();
      } else {
        textarea.value = editor.innerText;
        html.value = "";
      }
      flag.value = on ? "1" : "0";
      toggle.setAttribute("aria-pressed", String(on));
      tools.hidden = editor.hidden = !on;
      plain.hidden = on;
      (on ? editor : textarea).focus();
      form.dispatchEvent(new Event("input", { bubbles: true }));
    }

    toggle.addEventListener("click", () => setRich(toggle.getAttribute("aria-pressed") !== "true"));
    editor.addEventListener("input", sync);
    tools.addEventListener("mousedown", (event) => {
      if (event.target.closest("button")) event.preventDefault();  // keep the selection
    });
    tools.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-command]");
      if (!button) return;
      const command = button.dataset.command;
      let value = button.dataset.value || null;
      if (command === "createLink") {
        value = window.prompt("Link to (https://…)", "https://");
        if (!value || !/^(https?:|mailto:)/i.test(value)) return;
      }
      editor.focus();
      document.execCommand(command, false, value);
      sync();
      form.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);  // a reply opened in place
})();
