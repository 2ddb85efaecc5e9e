// Compose (templates/mail/compose.html): what is typed is kept a second after typing
// stops, and when the tab is hidden or closed (a beacon), so nothing typed is lost;
// files chosen or dropped are uploaded at once (htmx), with a progress bar;
// Ctrl/⌘+Enter sends. Without JavaScript the form still works: its buttons post it.
(function () {
  "use strict";
  const SAVE_AFTER_MS = 1000;

  function start() {
    const form = document.querySelector("form[data-compose]:not([data-ready])");
    if (!form || form.inert) return;
    form.dataset.ready = "";
    // In place on a thread page (a reply opened there), the page's address stays.
    const inPlace = !document.getElementById("compose-title");
    document.documentElement.classList.add("js");
    const status = document.getElementById("save-status");
    let timer = null;
    let dirty = false;
    let saving = null;

    function fields() {
      const data = new FormData(form);
      data.delete("files");
      data.set("intent", "autosave");
      return data;
    }

    async function save() {
      if (saving) { await saving; }
      if (!dirty) return;
      dirty = false;
      status.textContent = "Saving…";
      saving = fetch(form.action, {
        method: "POST", body: fields(), credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      }).then(async (response) => {
        if (response.status === 204) { status.textContent = ""; return; }
        if (!response.ok) throw new Error(String(response.status));
        const saved = await response.json();
        document.getElementById("draft-id").value = saved.draft;
        if (!inPlace && location.pathname !== saved.url) history.replaceState(null, "", saved.url);
        status.textContent = "Draft saved";
      }).catch(() => {
        dirty = true;  // kept in the page; tried again on the next change or on leaving
        status.textContent = "Not saved yet: Tern will try again";
      }).finally(() => { saving = null; });
      await saving;
    }

    function changed(event) {
      if (event.target && event.target.type === "file") return;
      dirty = true;
      clearTimeout(timer);
      timer = setTimeout(save, SAVE_AFTER_MS);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", () => { clearTimeout(timer); dirty = false; });

    function leave() {
      if (!dirty || !navigator.sendBeacon) return;
      if (navigator.sendBeacon(form.action, fields())) dirty = false;
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") leave();
    });
    window.addEventListener("pagehide", leave);

    form.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      if (event.ctrlKey || event.metaKey) {
        event.preventDefault();
        form.querySelector("[data-key-send]").click();
      } else if (event.target.matches("input:not([type=file]):not([type=datetime-local])")) {
        event.preventDefault();  // Enter in To or Subject does not send the message
      }
    });

    // Dropped files go through the file input, as if chosen.
    form.addEventListener("dragover", (event) => {
      if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) {
        event.preventDefault();
        form.classList.add("dropping");
      }
    });
    form.addEventListener("dragleave", () => form.classList.remove("dropping"));
    form.addEventListener("drop", (event) => {
      const input = form.querySelector("input[data-attach]");
      if (!input || !event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      form.classList.remove("dropping");
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    document.body.addEventListener("htmx:xhr:progress", (event) => {
      const bar = document.querySelector("#compose-files progress[data-progress]");
      if (!bar || !event.detail.lengthComputable) return;
      bar.hidden = false;
      bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
    });

    const first = form.querySelector("[data-autofocus]");
    if (first && !first.value) first.focus();
    else if (first) {
      const rich = form.querySelector("[data-rich-editor]");
      const body = rich && !rich.hidden ? rich : form.querySelector("textarea");
      body.focus();
      if (body.setSelectionRange) body.setSelectionRange(0, 0);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);  // a reply opened in place
  // One reply open in place at a time (each form has the same field ids).
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("reply-in-place")) return;
    document.querySelectorAll(".reply-in-place").forEach((other) => {
      if (other !== target) other.replaceChildren();
    });
  });
})();
