// Collection pickers: rows, options and checkboxes marked data-follows="<select id>" and
// data-account="<id>" show only while that select has their account chosen. Hidden inputs are
// disabled, so they are not submitted (the server checks what is, whatever the page did).
(function () {
  "use strict";
  function box(element) {
    // A checkbox shows and hides with its label's row; anything else by itself.
    return element.tagName === "INPUT" ? element.closest("label").parentElement : element;
  }
  function follow(select) {
    const followers = document.querySelectorAll('[data-follows="' + select.id + '"]');
    let anyShown = false;
    followers.forEach(function (element) {
      const shown = element.dataset.account === select.value;
      box(element).hidden = !shown;
      if (element.tagName === "OPTION") {
        element.disabled = !shown;
        if (!shown && element.selected) element.parentElement.value = "skip";
      } else {
        anyShown = anyShown || shown;
        if (element.tagName === "INPUT") element.disabled = !shown;
        element.querySelectorAll("select").forEach(function (input) { input.disabled = !shown; });
      }
    });
    document.querySelectorAll('[data-empty-for="' + select.id + '"]').forEach(function (note) {
      note.hidden = anyShown;
    });
  }
  function mapMode(widget) {
    const picked = widget.querySelector("[data-map-mode]:checked");
    widget.querySelector("[data-map-pairs]").hidden = !picked || picked.value !== "pick";
  }
  function start() {
    const ids = new Set();
    document.querySelectorAll("[data-follows]").forEach(function (element) { ids.add(element.dataset.follows); });
    ids.forEach(function (id) {
      const select = document.getElementById(id);
      if (!select) return;
      select.addEventListener("change", function () { follow(select); });
      follow(select);
    });
    document.querySelectorAll("[data-map]").forEach(function (widget) {
      widget.querySelectorAll("[data-map-mode]").forEach(function (radio) {
        radio.addEventListener("change", function () { mapMode(widget); });
      });
      mapMode(widget);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
