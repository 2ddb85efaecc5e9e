// Snoozing counts "tomorrow 08:00" in the reader's own time zone: tell the form which.
(function () {
  "use strict";
  function fill() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    document.querySelectorAll("input[data-timezone]").forEach((input) => { input.value = zone; });
  }
  document.addEventListener("DOMContentLoaded", fill);
  document.addEventListener("htmx:afterSettle", fill);
})();
