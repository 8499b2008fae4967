// A run's live state on the run page and the job page. While the run is active, poll its
// snapshot (the one the page was rendered from) and update every element marked data-run or
// data-count, the buttons that apply and the log. When the run ends the run page reloads once, so
// the final report (items not applied, repairs) shows; the job page, a form, stays as it is.
(function () {
  "use strict";
  function text(name, value) {
    document.querySelectorAll('[data-run="' + name + '"]').forEach(function (element) {
      element.textContent = value;
    });
  }
  function cell(row, value, className) {
    const td = row.insertCell();
    td.textContent = value === null || value === undefined ? "" : String(value);
    if (className) td.className = className;
  }
  function time(iso) { return iso ? iso.slice(0, 19).replace("T", " ") : "—"; }
  const COUNTERS = ["created", "updated", "deleted", "unchanged", "conflicts", "errors"];

  function show(run) {
    document.querySelectorAll('[data-run="label"]').forEach(function (badge) {
      badge.textContent = run.label;
      badge.className = "run-badge " + run.state;
      badge.dataset.state = run.state;
    });
    text("progress", run.progress_done + " of " + run.progress_total + " items");
    document.querySelectorAll('[data-run="bar"]').forEach(function (bar) {
      bar.style.width = run.percent + "%";
      bar.parentElement.setAttribute("aria-valuenow", run.percent);
    });
    COUNTERS.forEach(function (name) {
      document.querySelectorAll('[data-count="' + name + '"]').forEach(function (element) {
        element.textContent = run[name];
      });
    });
    text("error", run.error);
    text("started_at", time(run.started_at));
    text("finished_at", time(run.finished_at));
    document.querySelectorAll('[data-run="failure"]').forEach(function (box) { box.hidden = !run.error; });
    document.querySelectorAll('[data-run="live"]').forEach(function (note) { note.hidden = !run.active; });
    document.querySelectorAll("form[data-action]").forEach(function (form) {
      const verb = form.dataset.action;
      form.hidden = verb === "start" ? run.active : run.actions.indexOf(verb) < 0;
    });
    const collections = document.querySelector('[data-run="collections"]');
    if (collections && run.collections.length) {
      collections.replaceChildren();
      run.collections.forEach(function (c) {
        const row = collections.insertRow();
        cell(row, c.name);
        cell(row, c.destination);
        COUNTERS.forEach(function (name) { cell(row, c[name], "n"); });
      });
    }
    const log = document.querySelector('[data-run="log"]');
    if (log) {
      if (run.logs.length) log.querySelectorAll("tr.empty").forEach(function (row) { row.remove(); });
      run.logs.forEach(function (line) {  // oldest first: each new line goes on top
        if (log.querySelector('[data-line="' + line.id + '"]')) return;
        const row = log.insertRow(0);
        row.dataset.line = line.id;
        row.className = "level-" + line.level;
        cell(row, line.at.slice(11, 19), "t");
        cell(row, line.level);
        cell(row, line.message);
        cell(row, line.item);
      });
    }
  }

  function start() {
    const box = document.querySelector("[data-run-box][data-url]");
    if (!box || box.dataset.active !== "1") return;
    const delay = (Number(box.dataset.poll) || 2) * 1000;
    let after = 0;
    document.querySelectorAll("[data-line]").forEach(function (row) {
      after = Math.max(after, Number(row.dataset.line));
    });
    async function poll() {
      try {
        const response = await fetch(box.dataset.url + "?after=" + after, {
          credentials: "same-origin", headers: { Accept: "application/json" },
        });
        if (response.ok) {
          const run = await response.json();
          run.logs.forEach(function (line) { after = Math.max(after, line.id); });
          show(run);
          if (!run.active) {
            if ("reloadWhenDone" in box.dataset) window.location.reload();
            return;
          }
        }
      } catch (error) { /* the server restarts: try again */ }
      window.setTimeout(poll, delay);
    }
    window.setTimeout(poll, delay);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
