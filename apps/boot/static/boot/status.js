// Keep the startup status page live: poll each unfinished run's JSON once a second and
// redraw its progress, stages and timeline; stop once every stage has ended.
"use strict";
(function () {
  const INTERVAL_MS = 1000;

  function setText(root, field, text) {
    const node = root.querySelector('[data-field="' + field + '"]');
    if (node && node.textContent !== text) node.textContent = text;
    return node;
  }

  function setState(node, state, label) {
    if (!node) return;
    node.className = node.className.replace(/\bstate-\S+/g, "").trim() + " state-" + state;
    node.textContent = (label || "") + state;
  }

  function draw(section, payload) {
    const run = payload.run, progress = payload.progress;
    const mark = run.interrupted ? "\u26a0 " : "";
    setState(section.querySelector('[data-field="run-state"]'), run.state, mark);
    const bar = section.querySelector(".boot-progress");
    bar.setAttribute("aria-valuenow", String(progress.percent));
    bar.querySelector(".boot-progress-bar").style.width = progress.percent + "%";
    setText(section, "progress",
      progress.done + "/" + progress.total + " stages done (" + progress.percent + "%)");
    setText(section, "time_to_ready", run.time_to_ready || "-");
    setText(section, "total", run.total || "-");
    for (const stage of payload.stages) {
      const row = section.querySelector('tr[data-stage="' + CSS.escape(stage.name) + '"]');
      if (!row) continue;
      setState(row.querySelector('[data-field="state"]'), stage.state);
      setText(row, "attempts", String(stage.attempts));
      setText(row, "duration", stage.duration);
      const detail = setText(row, "detail", stage.error || stage.detail);
      if (detail) detail.classList.toggle("boot-error", Boolean(stage.error));
      const rerun = row.querySelector('[data-field="rerun"]');
      if (rerun) rerun.hidden = !stage.rerunnable;
    }
    const past = document.querySelector('tr[data-history-run="' + run.id + '"]');
    if (past) {
      setState(past.querySelector('[data-field="run-state"]'), run.state, mark);
      setText(past, "time_to_ready", run.time_to_ready || "-");
      setText(past, "total", run.total || "-");
    }
    // The server draws the SVG (escaped there); the page only swaps it in.
    section.querySelector('[data-field="timeline"]').innerHTML = payload.timeline;
    section.dataset.terminal = payload.terminal ? "true" : "false";
    const live = section.querySelector(".boot-live");
    if (live) live.hidden = payload.terminal;
  }

  function poll(section) {
    fetch(section.dataset.jsonUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (body) {
        const payload = body.runs[0];
        draw(section, payload);
        if (!payload.terminal) setTimeout(poll, INTERVAL_MS, section);
      })
      .catch(function () {
        // Signed out, or the server went away: say so rather than poll forever.
        const live = section.querySelector(".boot-live");
        if (live) live.textContent = "\u00b7 updates stopped: reload the page";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    for (const section of document.querySelectorAll(".boot-run[data-terminal='false']")) {
      setTimeout(poll, INTERVAL_MS, section);
    }
  });
})();
