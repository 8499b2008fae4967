// "Copy" next to a feed's public URL: select the field on click, copy it with the button.
(function () {
  "use strict";
  function start() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      field.addEventListener("click", function () { field.select(); });
      button.addEventListener("click", function () {
        field.select();
        navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
