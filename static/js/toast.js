// The toast (templates/mail/_toast.html) goes after 8 s, unless the pointer or the
// focus is on it (someone about to press Undo).
(function () {
  "use strict";
  const SHOWN_MS = 8000;
  let timer = null;

  function schedule() {
    clearTimeout(timer);
    const region = document.getElementById("toast");
    if (!region || !region.querySelector(".toast")) return;
    timer = setTimeout(function hide() {
      if (region.matches(":hover") || region.contains(document.activeElement)) {
        timer = setTimeout(hide, 1000);
        return;
      }
      region.replaceChildren();
    }, SHOWN_MS);
  }

  document.addEventListener("DOMContentLoaded", schedule);
  document.addEventListener("htmx:afterSettle", schedule);
})();
